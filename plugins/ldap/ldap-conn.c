/* SPDX-License-Identifier: MIT */
/*
 * Connecting: every URI in failover order until one is secured and bound.
 *
 * Certificates are verified (DEMAND) unless nothing is encrypted at all,
 * which the settings only allow for ldapi:// and loopback. Referrals are
 * never chased. Every step is bounded by the configured timeout. The bind
 * password is read here, at read time, so that --check-config never needs
 * the secret; it is wiped after use and never put into a message.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "ldap-source.h"
#include "util.h"

#define SECRET_MAX 4096
#define READAHEAD_BYTES (64 * 1024)

struct timeval dir_timeval(uint64_t usec)
{
	return (struct timeval){ .tv_sec = (time_t)(usec / SS_USEC_PER_SEC),
				 .tv_usec = (suseconds_t)(usec % SS_USEC_PER_SEC) };
}

/* The secret file's content without its final line break. */
static int read_secret(const char *path, char *buf, size_t size, char *why, size_t why_size)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(why, why_size, "cannot read the bind password from %.300s: %s", path, strerror(errno));
		return -errno;
	}
	ssize_t n = read(fd, buf, size - 1);
	if (n < 0) {
		snprintf(why, why_size, "cannot read the bind password from %.300s: %s", path, strerror(errno));
		return -errno;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	if (n == 0) {
		snprintf(why, why_size, "the bind password file %.300s is empty", path);
		return -EINVAL;
	}
	return 0;
}

static int secret_path(const struct ldap_source *src, char *buf, size_t size, char *why, size_t why_size)
{
	if (src->password_file) {
		snprintf(buf, size, "%s", src->password_file);
		return 0;
	}
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	if (isempty(dir)) {
		snprintf(why, why_size, "bind_credential '%s': $CREDENTIALS_DIRECTORY is not set "
			 "(LoadCredential= in the unit)", src->bind_credential);
		return -ENOENT;
	}
	snprintf(buf, size, "%s/%s", dir, src->bind_credential);
	return 0;
}

static int set_tls_options(LDAP *ld, const struct ldap_source *src)
{
	int demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	if (ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand) != LDAP_OPT_SUCCESS)
		return -EINVAL;
	if (src->ca_file && ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, src->ca_file) != LDAP_OPT_SUCCESS)
		return -EINVAL;
	/* A fresh TLS context for this handle, so the options above apply. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) == LDAP_OPT_SUCCESS ? 0 : -EINVAL;
}

static int set_options(LDAP *ld, const struct ldap_source *src)
{
	int v3 = LDAP_VERSION3;
	struct timeval tv = dir_timeval(src->timeout);
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) != LDAP_OPT_SUCCESS)
		return -EINVAL;
	return set_tls_options(ld, src);
}

static bool uri_wants_starttls(const struct ldap_source *src, const char *uri)
{
	return src->starttls && strncasecmp(uri, "ldap://", 7) == 0;
}

/* libldap's words plus its diagnostic message: "Connect error (TLS: ...)". */
static void dir_why(LDAP *ld, int rc, const char *what, const char *uri, char *why, size_t size)
{
	char *diag = NULL;
	ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
	snprintf(why, size, "%s: %s %s%s%s%s", uri, what, ldap_err2string(rc),
		 diag && *diag ? " (" : "", diag && *diag ? diag : "", diag && *diag ? ")" : "");
	ldap_memfree(diag);
}

static int do_bind(LDAP *ld, const struct ldap_source *src, const char *uri, char *why, size_t size)
{
	int rc;
	if (src->sasl_mech) {
		/* Empty credentials: no authorisation identity of our own. */
		struct berval none = { .bv_len = 0, .bv_val = (char *)"" };
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &none, NULL, NULL, NULL);
	} else if (src->bind_dn) {
		char path[4096], secret[SECRET_MAX];
		int r = secret_path(src, path, sizeof path, why, size);
		if (r >= 0)
			r = read_secret(path, secret, sizeof secret, why, size);
		if (r < 0)
			return r;
		struct berval cred = { .bv_len = strlen(secret), .bv_val = secret };
		rc = ldap_sasl_bind_s(ld, src->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
		explicit_bzero(secret, sizeof secret);
	} else {
		return 0;   /* anonymous */
	}
	if (rc != LDAP_SUCCESS) {
		dir_why(ld, rc, "bind failed:", uri, why, size);
		return -EACCES;
	}
	return 0;
}

/* libldap initialises Cyrus SASL the first time it is used, and libsasl2
 * then loads every mechanism module installed (digest-md5, scram, ntlm,
 * ... with OpenSSL and Kerberos behind them): 10 more libraries and ~5 ms
 * of every run, measured. This source binds simple or with EXTERNAL, which
 * libsasl2 has built in, so its module path points at nothing while
 * libldap initialises, unless the administrator set one; it is unset again
 * at once, so that nothing started later (hooks) inherits it. */
void dir_library_init(void)
{
	int v = 0;
	bool ours = !getenv("SASL_PATH") && setenv("SASL_PATH", "/nonexistent/staffsync-no-sasl-modules", 0) == 0;
	ldap_get_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &v);   /* initialises libldap */
	if (ours)
		unsetenv("SASL_PATH");
}

/* Below TLS, read the socket in large chunks: slapd writes every entry as
 * its own TLS record, and libldap would otherwise poll and read twice per
 * entry (record header, then body). With a buffer underneath, one read
 * serves dozens of entries. Only on an established connection: a layer
 * added before libldap's TCP provider would end up below it. Several
 * messages then often arrive in one ldap_result chain, which this source
 * handles (ldap-sync.c does not use libldap's ldap_sync API for that). */
void dir_readahead(LDAP *ld)
{
	Sockbuf *sb = NULL;
	ber_socket_t fd = -1;
	ber_len_t size = READAHEAD_BYTES;
	if (ldap_get_option(ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
	    ldap_get_option(ld, LDAP_OPT_SOCKBUF, &sb) != LDAP_OPT_SUCCESS || !sb)
		return;
	/* On failure (no memory for the buffer) the layer is taken out again:
	 * slower, not wrong. */
	if (ber_sockbuf_add_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER, &size) < 0)
		ber_sockbuf_remove_io(sb, &ber_sockbuf_io_readahead, LBER_SBIOD_LEVEL_PROVIDER);
}

static int connect_one(const struct ldap_source *src, const char *uri, LDAP **ret, char *why, size_t size)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		snprintf(why, size, "%s: %s", uri, ldap_err2string(rc));
		return -EINVAL;
	}
	int r = set_options(ld, src);
	if (r < 0)
		snprintf(why, size, "%s: cannot set connection options", uri);
	if (r >= 0 && uri_wants_starttls(src, uri)) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			dir_why(ld, rc, "StartTLS failed:", uri, why, size);
			r = -EPROTO;
		}
	}
	if (r >= 0)
		r = do_bind(ld, src, uri, why, size);
	if (r < 0) {
		ldap_unbind_ext_s(ld, NULL, NULL);
		return r;
	}
	*ret = ld;
	return 0;
}

int dir_connect(const struct ldap_source *src, LDAP **ret, char *why, size_t why_size)
{
	char last[512] = "";
	int r = -EHOSTUNREACH;
	*ret = NULL;
	for (size_t i = 0; src->uris[i]; i++) {
		r = connect_one(src, src->uris[i], ret, last, sizeof last);
		if (r >= 0)
			return 0;
		src->host->log(LOG_DEBUG, "ldap %s: %s", src->name, last);
	}
	snprintf(why, why_size, "%s%s", src->uris[1] ? "no server answered; last: " : "", last);
	return r;
}
