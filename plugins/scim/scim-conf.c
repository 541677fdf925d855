/* SPDX-License-Identifier: MIT */
/* The SCIM target's configuration, its endpoints and their credentials.
 * Secrets are read from files or systemd credentials when an endpoint is
 * made, kept in memory only, and never put in a message. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "scim.h"
#include "util.h"

#define SECRET_MAX 65536
#define DEFAULT_CONCURRENCY 8
#define DEFAULT_TIMEOUT (30 * SS_USEC_PER_SEC)
#define DEFAULT_RETRIES 5
#define DEFAULT_STOP_AFTER 20
#define DEFAULT_PAGE_SIZE 200

static const char *const schema_choices[] = { "extension", "standard", NULL };
static const char *const bulk_choices[] = { "auto", "off", NULL };

static const struct ss_conf_key conf_keys[] = {
	{ "type", SS_CONF_SKIP, 0, false, NULL },
	{ "adopt", SS_CONF_SKIP, 0, false, NULL },   /* the engine's */
	{ "base_url", SS_CONF_STRING, offsetof(struct scim_conf, base_url), true, NULL },
	{ "token_file", SS_CONF_STRING, offsetof(struct scim_conf, token_file), false, NULL },
	{ "token_credential", SS_CONF_STRING, offsetof(struct scim_conf, token_credential), false, NULL },
	{ "basic", SS_CONF_NODE, offsetof(struct scim_conf, basic_node), false, NULL },
	{ "oauth2", SS_CONF_NODE, offsetof(struct scim_conf, oauth2_node), false, NULL },
	{ "ca_file", SS_CONF_STRING, offsetof(struct scim_conf, ca_file), false, NULL },
	{ "schema", SS_CONF_ENUM, offsetof(struct scim_conf, schema), false, schema_choices },
	{ "bulk", SS_CONF_ENUM, offsetof(struct scim_conf, bulk), false, bulk_choices },
	{ "concurrency", SS_CONF_UINT, offsetof(struct scim_conf, concurrency), false, NULL },
	{ "rate_limit", SS_CONF_UINT, offsetof(struct scim_conf, rate_limit), false, NULL },
	{ "timeout", SS_CONF_DURATION, offsetof(struct scim_conf, timeout), false, NULL },
	{ "retries", SS_CONF_UINT, offsetof(struct scim_conf, retries), false, NULL },
	{ "stop_after_failures", SS_CONF_UINT, offsetof(struct scim_conf, stop_after), false, NULL },
	{ "page_size", SS_CONF_UINT, offsetof(struct scim_conf, page_size), false, NULL },
	{ "invite_request", SS_CONF_NODE, offsetof(struct scim_conf, invite_request_node), false, NULL },
	{ "user_name", SS_CONF_STRING, offsetof(struct scim_conf, user_name), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

const char *const scim_invite_methods[] = { "POST", "PUT", "PATCH", NULL };

static const struct ss_conf_key invite_request_keys[] = {
	{ "method", SS_CONF_ENUM, offsetof(struct scim_invite_request_conf, method), false, scim_invite_methods },
	{ "path", SS_CONF_STRING, offsetof(struct scim_invite_request_conf, path), true, NULL },
	{ "body", SS_CONF_STRING, offsetof(struct scim_invite_request_conf, body), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

static const struct ss_conf_key basic_keys[] = {
	{ "username", SS_CONF_STRING, offsetof(struct scim_basic_conf, username), true, NULL },
	{ "password_file", SS_CONF_STRING, offsetof(struct scim_basic_conf, password_file), false, NULL },
	{ "password_credential", SS_CONF_STRING, offsetof(struct scim_basic_conf, password_credential), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

static const struct ss_conf_key oauth2_keys[] = {
	{ "token_url", SS_CONF_STRING, offsetof(struct scim_oauth2_conf, token_url), true, NULL },
	{ "client_id", SS_CONF_STRING, offsetof(struct scim_oauth2_conf, client_id), true, NULL },
	{ "client_secret_file", SS_CONF_STRING, offsetof(struct scim_oauth2_conf, client_secret_file), false, NULL },
	{ "client_secret_credential", SS_CONF_STRING, offsetof(struct scim_oauth2_conf, client_secret_credential), false, NULL },
	{ "scope", SS_CONF_STRING, offsetof(struct scim_oauth2_conf, scope), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

uint64_t scim_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * SS_USEC_PER_SEC + (uint64_t)ts.tv_nsec / 1000;
}

char *scim_expand(const char *s, const char *facility)
{
	static const char placeholder[] = "{facility}";
	const size_t plen = sizeof placeholder - 1;
	size_t flen = facility ? strlen(facility) : 0;
	size_t n = 0;
	for (const char *p = s; (p = strstr(p, placeholder)); p += plen)
		n++;
	char *out = malloc(strlen(s) + n * flen + 1);
	if (!out)
		return NULL;
	char *w = out;
	for (const char *p = s; *p;) {
		if (strncmp(p, placeholder, plen) == 0) {
			if (flen)
				memcpy(w, facility, flen);
			w += flen;
			p += plen;
		} else
			*w++ = *p++;
	}
	*w = '\0';
	return out;
}

/* s with every {id} replaced (the invite request's path). */
char *scim_expand_id(const char *s, const char *id)
{
	_cleanup_free_ char *t = NULL;
	/* Reuse the {facility} expansion: rename the placeholder first. */
	const char *p = strstr(s, "{id}");
	if (!p)
		return strdup(s);
	if (asprintf(&t, "%.*s{facility}%s", (int)(p - s), s, p + 4) < 0)
		return NULL;
	return scim_expand(t, id);
}

/* http:// only to the machine itself (tests, a local proxy): a token sent
 * in clear over a network is refused, like LDAP without StartTLS. */
static bool url_is_loopback_http(const char *url)
{
	static const char *const hosts[] = { "http://127.", "http://localhost:", "http://localhost/",
					     "http://[::1]" };
	for (size_t i = 0; i < ELEMENTSOF(hosts); i++)
		if (strncasecmp(url, hosts[i], strlen(hosts[i])) == 0)
			return true;
	return false;
}

static int check_url(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		     const char *key, const char *url)
{
	const yaml_node_t *at = host->conf_get(conf, node, key);
	if (strncasecmp(url, "https://", 8) == 0 || url_is_loopback_http(url))
		return 0;
	if (strncasecmp(url, "http://", 7) == 0)
		host->conf_error(conf, at, "%s: plain http:// is only accepted to a loopback address; "
				 "use https://", key);
	else
		host->conf_error(conf, at, "%s must be an https:// URL", key);
	return -EINVAL;
}

static int make_absolute(const struct ss_host *host, ss_conf *conf, char **path)
{
	if (!*path)
		return 0;
	char *abs = host->conf_path(conf, *path);
	if (!abs)
		return -ENOMEM;
	free(*path);
	*path = abs;
	return 0;
}

static int parse_basic(const struct ss_host *host, ss_conf *conf, struct scim_conf *c)
{
	if (host->conf_parse(conf, c->basic_node, basic_keys, &c->basic) > 0)
		return -EINVAL;
	c->has_basic = true;
	if (!!c->basic.password_file == !!c->basic.password_credential) {
		host->conf_error(conf, c->basic_node, "basic: set one of password_file or password_credential");
		return -EINVAL;
	}
	return make_absolute(host, conf, &c->basic.password_file);
}

static int parse_oauth2(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			struct scim_conf *c)
{
	if (host->conf_parse(conf, c->oauth2_node, oauth2_keys, &c->oauth2) > 0)
		return -EINVAL;
	c->has_oauth2 = true;
	if (!!c->oauth2.client_secret_file == !!c->oauth2.client_secret_credential) {
		host->conf_error(conf, c->oauth2_node,
				 "oauth2: set one of client_secret_file or client_secret_credential");
		return -EINVAL;
	}
	(void)node;
	if (check_url(host, conf, c->oauth2_node, "token_url", c->oauth2.token_url) < 0)
		return -EINVAL;
	return make_absolute(host, conf, &c->oauth2.client_secret_file);
}

static int check_auth(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		      struct scim_conf *c)
{
	int n = !!c->token_file + !!c->token_credential + !!c->basic_node + !!c->oauth2_node;
	if (n != 1) {
		host->conf_error(conf, node, "target: set exactly one of token_file, token_credential, "
				 "basic or oauth2");
		return -EINVAL;
	}
	if (c->basic_node)
		return parse_basic(host, conf, c);
	if (c->oauth2_node)
		return parse_oauth2(host, conf, node, c);
	return make_absolute(host, conf, &c->token_file);
}

int scim_conf_parse(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		    struct scim_conf *c)
{
	*c = (struct scim_conf){
		.schema = SCIM_SCHEMA_EXTENSION, .bulk = SCIM_BULK_AUTO,
		.concurrency = DEFAULT_CONCURRENCY, .timeout = DEFAULT_TIMEOUT,
		.retries = DEFAULT_RETRIES, .stop_after = DEFAULT_STOP_AFTER,
		.page_size = DEFAULT_PAGE_SIZE,
	};
	if (!node) {
		host->conf_error(conf, NULL, "target scim needs a base_url");
		return -EINVAL;
	}
	if (host->conf_parse(conf, node, conf_keys, c) > 0)
		return -EINVAL;
	int r = check_url(host, conf, node, "base_url", c->base_url);
	if (check_auth(host, conf, node, c) < 0)
		r = -EINVAL;
	if (make_absolute(host, conf, &c->ca_file) < 0)
		return -ENOMEM;
	if (c->concurrency == 0 || c->concurrency > 256) {
		host->conf_error(conf, host->conf_get(conf, node, "concurrency"),
				 "concurrency must be between 1 and 256");
		r = -EINVAL;
	}
	if (c->page_size == 0 || c->page_size > 10000) {
		host->conf_error(conf, host->conf_get(conf, node, "page_size"),
				 "page_size must be between 1 and 10000");
		r = -EINVAL;
	}
	if (c->timeout == 0 || c->timeout == SS_DURATION_NEVER) {
		host->conf_error(conf, host->conf_get(conf, node, "timeout"), "timeout must be finite");
		r = -EINVAL;
	}
	if (c->stop_after == 0)
		c->stop_after = 1;
	if (c->invite_request_node) {
		if (host->conf_parse(conf, c->invite_request_node, invite_request_keys, &c->invite_request) > 0)
			r = -EINVAL;
		else if (c->invite_request.path[0] != '/') {
			host->conf_error(conf, host->conf_get(conf, c->invite_request_node, "path"),
					 "invite_request.path must start with / (it follows base_url)");
			r = -EINVAL;
		} else if (c->invite_request.body) {
			json_t *j = json_loads(c->invite_request.body, JSON_DECODE_ANY, NULL);
			if (!j) {
				host->conf_error(conf, host->conf_get(conf, c->invite_request_node, "body"),
						 "invite_request.body is not JSON");
				r = -EINVAL;
			}
			json_decref(j);
		}
		c->has_invite_request = true;
	}
	c->per_facility = strstr(c->base_url, "{facility}") != NULL;
	return r;
}

void scim_conf_free(const struct ss_host *host, struct scim_conf *c)
{
	host->conf_free(basic_keys, &c->basic);
	host->conf_free(oauth2_keys, &c->oauth2);
	host->conf_free(invite_request_keys, &c->invite_request);
	host->conf_free(conf_keys, c);
}

/* ------------------------------------------------------------ secrets --- */

/* A small file's content, trailing newlines removed. */
static int read_secret_file(const char *path, char **ret)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	_cleanup_free_ char *buf = malloc(SECRET_MAX + 1);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, SECRET_MAX - n);
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == SECRET_MAX)
			return -EFBIG;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0)
		return -ENODATA;
	*ret = TAKE_PTR(buf);
	return 0;
}

/* From a file or from $CREDENTIALS_DIRECTORY (systemd LoadCredential=);
 * both names may hold {facility}. */
static int load_secret(const char *file, const char *credential, const char *facility,
		       char **ret, char *why, size_t why_size)
{
	_cleanup_free_ char *path = NULL;
	if (file)
		path = scim_expand(file, facility);
	else {
		const char *dir = getenv("CREDENTIALS_DIRECTORY");
		_cleanup_free_ char *name = scim_expand(credential, facility);
		if (!name)
			return -ENOMEM;
		if (isempty(dir)) {
			snprintf(why, why_size, "credential %s: CREDENTIALS_DIRECTORY is not set", name);
			return -ENOENT;
		}
		if (asprintf(&path, "%s/%s", dir, name) < 0)
			path = NULL;
	}
	if (!path)
		return -ENOMEM;
	int r = read_secret_file(path, ret);
	if (r < 0)
		snprintf(why, why_size, "cannot read the secret %s: %s", path,
			 r == -ENODATA ? "empty file" : strerror(-r));
	return r;
}

static int endpoint_auth(const struct scim_conf *c, struct scim_endpoint *e, char *why, size_t why_size)
{
	const char *f = e->facility;
	if (c->token_file || c->token_credential) {
		e->auth.kind = SCIM_AUTH_BEARER;
		return load_secret(c->token_file, c->token_credential, f, &e->auth.token, why, why_size);
	}
	if (c->has_basic) {
		e->auth.kind = SCIM_AUTH_BASIC;
		e->auth.username = scim_expand(c->basic.username, f);
		if (!e->auth.username)
			return -ENOMEM;
		return load_secret(c->basic.password_file, c->basic.password_credential, f,
				   &e->auth.password, why, why_size);
	}
	if (c->has_oauth2) {
		e->auth.kind = SCIM_AUTH_OAUTH2;
		return load_secret(c->oauth2.client_secret_file, c->oauth2.client_secret_credential, f,
				   &e->auth.client_secret, why, why_size);
	}
	return 0;
}

int scim_endpoint_new(const struct scim_conf *c, const char *facility, struct scim_endpoint **ret,
		      char *why, size_t why_size)
{
	struct scim_endpoint *e = calloc(1, sizeof *e);
	if (!e)
		return -ENOMEM;
	e->facility = facility ? strdup(facility) : NULL;
	e->base_url = scim_expand(c->base_url, facility);
	if ((facility && !e->facility) || !e->base_url) {
		scim_endpoint_free(e);
		return -ENOMEM;
	}
	size_t n = strlen(e->base_url);
	while (n > 0 && e->base_url[n - 1] == '/')
		e->base_url[--n] = '\0';
	int r = endpoint_auth(c, e, why, why_size);
	if (r < 0) {
		scim_endpoint_free(e);
		return r;
	}
	*ret = e;
	return 0;
}

static void free_secret(char *s)
{
	if (s)
		explicit_bzero(s, strlen(s));
	free(s);
}

void scim_endpoint_free(struct scim_endpoint *e)
{
	if (!e)
		return;
	free_secret(e->auth.token);
	free_secret(e->auth.password);
	free_secret(e->auth.client_secret);
	free(e->auth.username);
	free(e->facility);
	free(e->base_url);
	free(e);
}
