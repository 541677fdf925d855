/* SPDX-License-Identifier: MIT */
/*
 * The SCIM 2.0 target: memberships as SCIM Users of one service provider
 * (facility as an attribute) or of one provider per facility (base_url with
 * {facility}, each with its own credential).
 *
 * connect() and facility() list what every endpoint holds (paged GET
 * /Users) into an index; lookups are answered from it. apply() queues the
 * operation's requests on the HTTP engine and returns; the answers call the
 * engine's done callbacks, at flush() at the latest.
 *
 * Idempotency without server support: an operation whose effect the index
 * already shows is "already" (a CREATE replayed after a crash finds its
 * User by externalId); a POST that may have reached the server is never
 * repeated blind: the User is searched by externalId first. The plugin
 * never sends DELETE: leavers are PATCHed active false.
 *
 * Operations of one person run one after the other (create, then invite);
 * different people's run concurrently.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "scim-target.h"
#include "util.h"


/* --------------------------------------------------------------- open --- */

/* facilities_per_person: many (the core's key, read from the document's
 * root): a person may be a User in several facilities. */
static bool many_facilities(const struct ss_host *host, ss_conf *conf)
{
	const yaml_node_t *root = host->conf_node(conf, 1);
	const yaml_node_t *v = root && root->type == YAML_MAPPING_NODE
		? host->conf_get(conf, root, "facilities_per_person") : NULL;
	return v && v->type == YAML_SCALAR_NODE && streq((const char *)v->data.scalar.value, "many");
}

/* user_name: a template of known placeholders that names each User apart.
 * With one endpoint for all facilities and several memberships per person,
 * each membership is a User of its own and userName is unique per provider:
 * the facility must be part of it (the default then: "{facility}/{email}"). */
static int check_user_name(struct scim_target *t, ss_conf *conf, const yaml_node_t *node)
{
	const struct ss_host *host = t->host;
	bool shared = !t->conf.per_facility && many_facilities(host, conf);
	const char *u = t->conf.user_name;
	if (!u) {
		t->conf.user_name = strdup(shared ? "{facility}/{email}" : "{email}");
		return t->conf.user_name ? 0 : -ENOMEM;
	}
	const yaml_node_t *at = host->conf_get(conf, node, "user_name");
	for (const char *p = strchr(u, '{'); p; p = strchr(p + 1, '{'))
		if (strncmp(p, "{email}", 7) && strncmp(p, "{id}", 4) && strncmp(p, "{facility}", 10)) {
			host->conf_error(conf, at, "user_name: unknown placeholder at \"%s\" "
					 "(known: {email}, {id}, {facility})", p);
			return -EINVAL;
		}
	if (!strstr(u, "{email}") && !strstr(u, "{id}")) {
		host->conf_error(conf, at, "user_name must hold {email} or {id}: every person "
				 "needs a userName of their own");
		return -EINVAL;
	}
	if (shared && !strstr(u, "{facility}")) {
		host->conf_error(conf, at, "user_name must hold {facility} with one endpoint for all "
				 "facilities and facilities_per_person: many (each membership is a "
				 "User, and userName is unique)");
		return -EINVAL;
	}
	return 0;
}

static int target_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		       void **instance)
{
	struct scim_target *t = calloc(1, sizeof *t);
	if (!t)
		return -ENOMEM;
	t->host = host;
	int r = scim_conf_parse(host, conf, node, &t->conf);
	if (r >= 0)
		r = check_user_name(t, conf, node);
	if (r < 0) {
		scim_conf_free(host, &t->conf);
		free(t);
		return r;
	}
	*instance = t;
	return 0;
}

static void disconnect(struct scim_target *t)
{
	scim_http_free(t->http);
	t->http = NULL;
	scim_index_free(t->index);
	t->index = NULL;
	for (size_t i = 0; i < t->n_eps; i++) {
		if (t->eps[i]->batch)
			scim_batch_free(t->eps[i]->batch);
		scim_endpoint_free(t->eps[i]);
	}
	free(t->eps);
	t->eps = NULL;
	t->n_eps = 0;
	json_decref(t->busy);
	t->busy = NULL;
	json_decref(t->deferred);
	t->deferred = NULL;
	t->connected = false;
}

static void target_close(void *instance)
{
	struct scim_target *t = instance;
	if (!t)
		return;
	disconnect(t);
	scim_conf_free(t->host, &t->conf);
	free(t);
}

/* ------------------------------------------------------------ listing --- */

/* The index's facility of a User listed from ep. */
static const char *user_facility(struct scim_target *t, struct scim_endpoint *ep, json_t *u)
{
	if (ep->facility)
		return ep->facility;
	return scim_user_facility(&t->conf, u);
}

struct list_page {
	struct scim_target *t;
	unsigned long start;
	bool first;
};

static void list_failed(struct scim_target *t, struct scim_request *rq, int error)
{
	if (t->list_error == 0) {
		char why[400];
		scim_http_describe(rq, why, sizeof why);
		t->list_error = error;
		snprintf(t->list_why, sizeof t->list_why, "listing the users of %s: %s",
			 rq->ep->base_url, why);
	}
}

static int submit_page(struct scim_target *t, struct scim_endpoint *ep, unsigned long start, bool first);

static int index_page(struct scim_target *t, struct scim_request *rq, unsigned long start, bool first)
{
	json_t *j = json_loadb(rq->response, rq->response_size, 0, NULL);
	json_t *res = json_object_get(j, "Resources"), *u;
	size_t i;
	int r = 0;
	if (!json_is_object(j) || (res && !json_is_array(res))) {
		json_decref(j);
		return -EBADMSG;
	}
	json_array_foreach(res, i, u)
		if (r >= 0)
			r = scim_index_put(t->index, user_facility(t, rq->ep, u), json_incref(u));
	json_t *jtotal = json_object_get(j, "totalResults");
	if (r >= 0 && !json_is_integer(jtotal) && json_array_size(res) > 0)
		/* No total: page after page until an empty one. */
		r = submit_page(t, rq->ep, start + json_array_size(res), false);
	else if (r >= 0 && first) {
		/* The rest of the pages at once, with the stride the server uses
		 * (it may cap count below what was asked). */
		json_int_t total = json_integer_value(jtotal);
		size_t stride = json_array_size(res);
		for (json_int_t next = 1 + (json_int_t)stride; stride && next <= total && r >= 0;
		     next += (json_int_t)stride)
			r = submit_page(t, rq->ep, (unsigned long)next, false);
	}
	json_decref(j);
	return r;
}

static void on_page(struct scim_request *rq)
{
	struct list_page *p = rq->userdata;
	struct scim_target *t = p->t;
	uint64_t delay;
	if (scim_http_retry(t->http, rq, &delay)) {
		scim_http_submit(t->http, rq, delay);
		return;
	}
	if (rq->curl_code != CURLE_OK || rq->status != 200)
		list_failed(t, rq, rq->curl_code != CURLE_OK || rq->status >= 500 ? -EIO : -EPROTO);
	else {
		int r = index_page(t, rq, p->start, p->first);
		if (r < 0)
			list_failed(t, rq, r);
	}
	t->lists_pending--;
	free(p);
	scim_request_free(rq);
}

static int submit_page(struct scim_target *t, struct scim_endpoint *ep, unsigned long start, bool first)
{
	struct list_page *p = calloc(1, sizeof *p);
	char *url = NULL;
	if (!p || asprintf(&url, "%s/Users?startIndex=%lu&count=%lu", ep->base_url, start,
			   t->conf.page_size) < 0) {
		free(p);
		return -ENOMEM;
	}
	*p = (struct list_page){ t, start, first };
	struct scim_request *rq = scim_request_new(ep, "GET", url, NULL, on_page, p);
	if (!rq) {
		free(p);
		return -ENOMEM;
	}
	t->lists_pending++;
	return scim_http_submit(t->http, rq, 0);
}

/* Bulk (RFC 7644 3.7) when the provider advertises it and bulk: auto. */
static void on_provider_config(struct scim_request *rq)
{
	struct scim_target *t = rq->userdata;
	json_t *j = rq->status == 200 ? json_loadb(rq->response, rq->response_size, 0, NULL) : NULL;
	json_t *bulk = json_object_get(j, "bulk");
	json_int_t max = json_integer_value(json_object_get(bulk, "maxOperations"));
	if (json_is_true(json_object_get(bulk, "supported")) && max > 0) {
		rq->ep->bulk = true;
		rq->ep->bulk_max = max < BULK_MAX_OPERATIONS ? (unsigned long)max : BULK_MAX_OPERATIONS;
	}
	t->host->log(LOG_DEBUG, "scim: %s: Bulk %s", rq->ep->base_url, rq->ep->bulk ? "used" : "not offered");
	json_decref(j);
	scim_request_free(rq);
}

static int submit_provider_config(struct scim_target *t, struct scim_endpoint *ep)
{
	char *url = NULL;
	if (t->conf.bulk == SCIM_BULK_OFF)
		return 0;
	if (asprintf(&url, "%s/ServiceProviderConfig", ep->base_url) < 0)
		return -ENOMEM;
	struct scim_request *rq = scim_request_new(ep, "GET", url, NULL, on_provider_config, t);
	return rq ? scim_http_submit(t->http, rq, 0) : -ENOMEM;
}

static int list_endpoint(struct scim_target *t, struct scim_endpoint *ep)
{
	int r = submit_provider_config(t, ep);
	if (r == 0)
		r = submit_page(t, ep, 1, true);
	if (r == 0)
		r = scim_http_drive(t->http);
	if (r == 0 && t->list_error < 0)
		r = t->list_error;
	if (r < 0) {
		t->host->log(LOG_ERR, "scim: %s", t->list_why[0] ? t->list_why : strerror(-r));
		return r;
	}
	ep->listed = true;
	t->host->log(LOG_DEBUG, "scim: %s lists %zu users in all so far", ep->base_url,
		     scim_index_size(t->index));
	return 0;
}

/* --------------------------------------------------------- connection --- */

static int add_endpoint(struct scim_target *t, const char *facility, struct scim_endpoint **ret)
{
	char why[400] = "";
	struct scim_endpoint **v = reallocarray(t->eps, t->n_eps + 1, sizeof *v);
	if (!v)
		return -ENOMEM;
	t->eps = v;
	int r = scim_endpoint_new(&t->conf, facility, &v[t->n_eps], why, sizeof why);
	if (r < 0) {
		if (why[0])
			t->host->log(LOG_ERR, "scim: %s", why);
		return r;
	}
	*ret = v[t->n_eps++];
	return 0;
}

static int target_connect(void *instance, bool read_only)
{
	struct scim_target *t = instance;
	disconnect(t);
	t->read_only = read_only;
	t->list_error = 0;
	t->list_why[0] = '\0';
	int r = scim_http_new(&t->conf, &t->http);
	if (r == 0)
		r = scim_index_new(&t->index);
	if (r == 0 && (!(t->busy = json_object()) || !(t->deferred = json_object())))
		r = -ENOMEM;
	if (r == 0 && !t->conf.per_facility) {
		struct scim_endpoint *ep;
		r = add_endpoint(t, NULL, &ep);
		if (r == 0)
			r = list_endpoint(t, ep);
	}
	if (r < 0) {
		disconnect(t);
		return r;
	}
	t->connected = true;
	return 0;
}

struct scim_endpoint *scim_endpoint_of(struct scim_target *t, const char *facility)
{
	if (!t->conf.per_facility)
		return t->n_eps ? t->eps[0] : NULL;
	for (size_t i = 0; i < t->n_eps; i++)
		if (streq_ptr(t->eps[i]->facility, facility))
			return t->eps[i];
	return NULL;
}

static int target_facility(void *instance, const char *id, const char *name)
{
	struct scim_target *t = instance;
	(void)name;   /* a SCIM workspace has its own name; nothing to create */
	if (!t->connected)
		return -ENOTCONN;
	if (!t->conf.per_facility || scim_endpoint_of(t, id))
		return 0;
	struct scim_endpoint *ep;
	int r = add_endpoint(t, id, &ep);
	return r < 0 ? r : list_endpoint(t, ep);
}

/* ------------------------------------------------------------ lookups --- */

json_t *scim_find_user(struct scim_target *t, const char *facility, const char *external_id)
{
	json_t *u = scim_index_by_external_id(t->index, facility, external_id);
	/* One endpoint: a User staffsync made but whose facility was wiped by hand. */
	if (!u && !t->conf.per_facility)
		u = scim_index_by_external_id(t->index, "", external_id);
	return u;
}

static int target_lookup(void *instance, const char *facility, const char *external_id,
			 struct ss_member *out)
{
	struct scim_target *t = instance;
	if (!t->connected)
		return -ENOTCONN;
	json_t *u = scim_find_user(t, facility, external_id);
	if (!u)
		return 0;
	int r = scim_member_from_user(&t->conf, u, facility, out);
	return r < 0 ? r : 1;
}

static int target_lookup_email(void *instance, const char *facility, const char *email,
			       struct ss_member *out)
{
	struct scim_target *t = instance;
	if (!t->connected)
		return -ENOTCONN;
	json_t *u = scim_index_by_email(t->index, facility, email, NULL);
	if (!u && !t->conf.per_facility)
		u = scim_index_by_email(t->index, "", email, NULL);
	if (!u)
		return 0;
	int r = scim_member_from_user(&t->conf, u, facility, out);
	return r < 0 ? r : 1;
}

/* target.adopt: username: the account already named as this target would
 * name want's User. */
static int target_lookup_username(void *instance, const char *facility,
				  const struct ss_member *want, struct ss_member *out)
{
	struct scim_target *t = instance;
	if (!t->connected)
		return -ENOTCONN;
	struct ss_member m = *want;
	m.facility = (char *)facility;
	_cleanup_free_ char *name = scim_user_name(&t->conf, &m);
	if (!name)
		return -ENOMEM;
	json_t *u = scim_index_by_username(t->index, facility, name, want->external_id);
	if (!u && !t->conf.per_facility)
		u = scim_index_by_username(t->index, "", name, want->external_id);
	if (!u)
		return 0;
	int r = scim_member_from_user(&t->conf, u, facility, out);
	return r < 0 ? r : 1;
}

/* ---------------------------------------------------------------- apply --- */

static int target_apply(void *instance, const struct ss_op *op, ss_applied_fn done, void *userdata)
{
	struct scim_target *t = instance;
	if (!t->connected)
		return -ENOTCONN;
	if (t->read_only)
		return -EROFS;
	struct op_ctx *o = calloc(1, sizeof *o);
	if (!o)
		return -ENOMEM;
	*o = (struct op_ctx){ .t = t, .op = op, .done = done, .userdata = userdata };
	const char *person = scim_op_person(op);
	json_t *n = json_object_get(t->busy, person);
	if (n) {
		/* Wait for the person's earlier operation (a create before its invite). */
		json_integer_set(n, json_integer_value(n) + 1);
		if (t->blocked_tail)
			t->blocked_tail->next = o;
		else
			t->blocked = o;
		t->blocked_tail = o;
		return 0;
	}
	if (json_object_set_new(t->busy, person, json_integer(1)) < 0) {
		free(o);
		return -ENOMEM;
	}
	scim_op_start(o);
	return scim_http_pump(t->http);
}

static bool any_batch(const struct scim_target *t)
{
	for (size_t i = 0; i < t->n_eps; i++)
		if (t->eps[i]->batch)
			return true;
	return false;
}

static int target_flush(void *instance)
{
	struct scim_target *t = instance;
	if (!t->connected)
		return -ENOTCONN;
	int r = 0;
	do {
		for (size_t i = 0; i < t->n_eps && r >= 0; i++)
			r = scim_bulk_send(t, t->eps[i]);
		if (r >= 0)
			r = scim_http_drive(t->http);
		/* Creates started after the drive's answers (a person's next op) may wait in a batch. */
	} while (r >= 0 && any_batch(t));
	return r;
}

/* ---------------------------------------------------------- descriptor --- */

static const struct ss_target_ops scim_target_ops = {
	.open = target_open,
	.connect = target_connect,
	.facility = target_facility,
	.lookup = target_lookup,
	.lookup_email = target_lookup_email,
	.apply = target_apply,
	.flush = target_flush,
	.close = target_close,
	.lookup_username = target_lookup_username,
};

static const struct ss_plugin scim_plugin = {
	.abi_version = SS_PLUGIN_ABI,
	.kind = SS_PLUGIN_TARGET,
	.name = "scim",
	.description = "SCIM 2.0 service provider(s): memberships as Users (RFC 7643/7644)",
	.target = &scim_target_ops,
};

const struct ss_plugin *staffsync_plugin(void)
{
	return &scim_plugin;
}
