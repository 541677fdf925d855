/* SPDX-License-Identifier: MIT */
/*
 * The SCIM target's operations: the requests each one sends, in order, and
 * what their answers mean. A create is a POST (or one entry of a Bulk
 * request); a POST that may have reached the server is followed by a search
 * by externalId before it is ever sent again. Everything else is one
 * minimal PATCH, except a move between two providers (create or reuse in the
 * new one, then deactivate the old) and an invite with an invite_request
 * (the status PATCH, then the platform's call).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scim-target.h"
#include "util.h"

/* --------------------------------------------------------- operations --- */


const char *scim_op_person(const struct ss_op *op)
{
	return op->member.external_id ? op->member.external_id : op->key;
}


/* One of the person's operations ended: start their next, if any.
 * busy counts a person's operations in flight or blocked. */
static void unblock(struct scim_target *t, const char *person)
{
	json_t *n = json_object_get(t->busy, person);
	json_int_t count = json_integer_value(n) - 1;
	if (count <= 0) {
		json_object_del(t->busy, person);
		return;
	}
	json_integer_set(n, count);
	for (struct op_ctx **pp = &t->blocked, *prev = NULL; *pp; prev = *pp, pp = &(*pp)->next) {
		struct op_ctx *o = *pp;
		if (!streq(scim_op_person(o->op), person))
			continue;
		*pp = o->next;
		if (t->blocked_tail == o)
			t->blocked_tail = prev;
		o->next = NULL;
		scim_op_start(o);
		return;
	}
}

static void finish(struct op_ctx *o, int error, bool transient, bool already, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static void finish(struct op_ctx *o, int error, bool transient, bool already, const char *fmt, ...)
{
	struct ss_op_result res = { .error = error, .transient = transient, .already = already };
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(res.message, sizeof res.message, fmt, ap);
		va_end(ap);
	}
	struct scim_target *t = o->t;
	_cleanup_free_ char *person = strdup(scim_op_person(o->op));
	if (transient && person)
		json_object_set_new(t->deferred, person, json_true());
	o->done(o->userdata, o->op, &res);
	json_decref(o->user);
	free(o->conflict);
	free(o);
	if (person)
		unblock(t, person);
}

/* Does the server's answer refuse this person's operation for good (a
 * uniqueness conflict, a value it does not accept), as opposed to saying
 * something about the endpoint or the credentials (401, 403, 404, TLS)? */
static bool refused_for_good(long status)
{
	return status == 400 || status == 409 || status == 422;
}

static void finish_stopped(struct op_ctx *o)
{
	finish(o, -EIO, true, false, "not sent: %s failed %lu times in a row, so this run stopped "
	       "writing to it; the operation stays journaled for the next run",
	       o->ep->base_url, o->ep->failures_in_a_row);
}

static void on_answer(struct scim_request *rq);

static int send_json(struct op_ctx *o, const char *method, char *url, json_t *body)
{
	char *text = NULL;
	if (body) {
		text = json_dumps(body, JSON_COMPACT);
		json_decref(body);
		if (!text) {
			free(url);
			return -ENOMEM;
		}
	}
	struct scim_request *rq = scim_request_new(o->ep, method, url, text, on_answer, o);
	if (!rq)
		return -ENOMEM;
	return scim_http_submit(o->t->http, rq, 0);
}

static char *user_url(struct op_ctx *o, json_t *user)
{
	char *url = NULL;
	if (asprintf(&url, "%s/Users/%s", o->ep->base_url, scim_user_id(user)) < 0)
		return NULL;
	return url;
}

static char *users_url(struct scim_endpoint *ep)
{
	char *url = NULL;
	return asprintf(&url, "%s/Users", ep->base_url) < 0 ? NULL : url;
}

/* GET /Users?filter=externalId eq "ID", URL-encoded. */
static char *probe_url(struct op_ctx *o)
{
	_cleanup_free_ char *filter = NULL;
	char *url = NULL;
	CURL *e = curl_easy_init();
	if (!e)
		return NULL;
	/* A JSON string is a SCIM filter string (RFC 7644 3.4.2.2). */
	json_t *s = json_string(o->op->member.external_id);
	_cleanup_free_ char *quoted = s ? json_dumps(s, JSON_ENCODE_ANY) : NULL;
	json_decref(s);
	if (quoted && asprintf(&filter, "externalId eq %s", quoted) >= 0) {
		char *enc = curl_easy_escape(e, filter, 0);
		if (enc && asprintf(&url, "%s/Users?filter=%s", o->ep->base_url, enc) < 0)
			url = NULL;
		curl_free(enc);
	}
	curl_easy_cleanup(e);
	return url;
}

static int send_patch(struct op_ctx *o, json_t *user, json_t *body)
{
	if (!body)
		return -ENOMEM;
	char *url = user_url(o, user);
	if (!url) {
		json_decref(body);
		return -ENOMEM;
	}
	return send_json(o, "PATCH", url, body);
}

static int send_post(struct op_ctx *o, enum ss_status status)
{
	struct ss_member m = o->op->member;
	m.external_id = o->op->member.external_id;
	m.status = status;
	json_t *body = scim_user_json(&o->t->conf, &m, o->t->conf.per_facility ? NULL : o->op->facility);
	char *url = users_url(o->ep);
	if (!body || !url) {
		json_decref(body);
		free(url);
		return -ENOMEM;
	}
	return send_json(o, "POST", url, body);
}

static const char *single_facility(struct op_ctx *o)
{
	return o->t->conf.per_facility ? NULL : o->op->facility;
}


static void on_bulk(struct scim_request *rq);

void scim_batch_free(struct scim_bulk_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		json_decref(b->bodies[i]);
	free(b);
}

/* Send the waiting creates of ep as one Bulk request. */
int scim_bulk_send(struct scim_target *t, struct scim_endpoint *ep)
{
	struct scim_bulk_batch *b = ep->batch;
	if (!b)
		return 0;
	ep->batch = NULL;
	json_t *ops = json_array();
	for (size_t i = 0; ops && i < b->n; i++) {
		char id[32];
		snprintf(id, sizeof id, "op%zu", i);
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s, s:O}", "method", "POST",
						     "path", "/Users", "bulkId", id, "data", b->bodies[i]));
	}
	json_t *req = ops ? json_pack("{s:[s], s:o}", "schemas", SCIM_BULK_REQUEST_URN, "Operations", ops) : NULL;
	char *text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	char *url = NULL;
	json_decref(req);
	if (!text || asprintf(&url, "%s/Bulk", ep->base_url) < 0) {
		free(text);
		scim_batch_free(b);
		return -ENOMEM;
	}
	struct scim_request *rq = scim_request_new(ep, "POST", url, text, on_bulk, b);
	if (!rq) {
		scim_batch_free(b);
		return -ENOMEM;
	}
	return scim_http_submit(t->http, rq, 0);
}

static int send_post(struct op_ctx *o, enum ss_status status);

/* A create joins its endpoint's next Bulk request. */
static int bulk_add(struct op_ctx *o, json_t *body)
{
	struct scim_endpoint *ep = o->ep;
	if (!ep->batch && !(ep->batch = calloc(1, sizeof *ep->batch))) {
		json_decref(body);
		return -ENOMEM;
	}
	ep->batch->ep = ep;
	ep->batch->ops[ep->batch->n] = o;
	ep->batch->bodies[ep->batch->n++] = body;
	if (ep->batch->n >= ep->bulk_max)
		return scim_bulk_send(o->t, ep);
	return 0;
}

#define ALL_FIELDS (SS_FIELD_GIVEN_NAME | SS_FIELD_FAMILY_NAME | SS_FIELD_EMAIL | SS_FIELD_ROLE | \
		    SS_FIELD_LABEL | SS_FIELD_PERMISSION_LEVEL | SS_FIELD_SPECIALITY)

/* Returns 1 when the operation finished without a request. */
static int op_create(struct op_ctx *o)
{
	if (scim_find_user(o->t, o->op->facility, o->op->member.external_id)) {
		finish(o, 0, false, true, NULL);
		return 1;
	}
	o->stage = STAGE_POST;
	if (o->ep->bulk && !o->no_bulk) {
		struct ss_member m = o->op->member;
		json_t *body = scim_user_json(&o->t->conf, &m, single_facility(o));
		return body ? bulk_add(o, body) : -ENOMEM;
	}
	return send_post(o, o->op->member.status);
}

static int op_invite(struct op_ctx *o)
{
	enum ss_status s = scim_user_status(&o->t->conf, o->user);
	if (s == SS_STATUS_DEACTIVATED || s == SS_STATUS_ACTIVE) {
		finish(o, -EINVAL, false, false, "%s in %s is %s: no invite is sent",
		       o->op->member.external_id, o->op->facility, ss_status_to_string(s));
		return 1;
	}
	if (!scim_user_email(o->user)) {
		finish(o, -EINVAL, false, false, "%s in %s has no e-mail address to invite",
		       o->op->member.external_id, o->op->facility);
		return 1;
	}
	if (o->op->kind == SS_OP_INVITE && s == SS_STATUS_PENDING) {
		finish(o, 0, false, true, NULL);
		return 1;
	}
	return send_patch(o, o->user, scim_patch_status(&o->t->conf, &o->op->member, SS_STATUS_PENDING));
}

static int op_update(struct op_ctx *o)
{
	return send_patch(o, o->user, scim_patch_fields(&o->t->conf, &o->op->member, o->op->changed,
							NULL, false));
}

static int op_adopt(struct op_ctx *o)
{
	const char *ext = scim_user_external_id(o->user);
	if (ext && !streq(ext, o->op->member.external_id)) {
		finish(o, SS_OP_REFUSED, false, false, "adopt: user %s belongs to another person",
		       scim_user_id(o->user));
		return 1;
	}
	return send_patch(o, o->user, scim_patch_fields(&o->t->conf, &o->op->member, o->op->changed,
							single_facility(o), true));
}

static int op_set_status(struct op_ctx *o, enum ss_status to)
{
	bool active = scim_user_active(o->user);
	if ((to == SS_STATUS_DEACTIVATED) == !active) {
		finish(o, 0, false, true, NULL);
		return 1;
	}
	return send_patch(o, o->user, scim_patch_status(&o->t->conf, &o->op->member, to));
}

/* A move between endpoints: the User in the new endpoint (found, or made). */
static int move_in(struct op_ctx *o)
{
	struct scim_target *t = o->t;
	json_t *there = scim_find_user(t, o->op->facility, o->op->member.external_id);
	o->stage = STAGE_MOVE_IN;
	if (!there)
		return send_post(o, o->op->member.status);
	json_decref(o->user);
	o->user = json_incref(there);
	struct ss_member m = o->op->member;
	json_t *body = scim_patch_fields(&t->conf, &m, ALL_FIELDS, NULL, false);
	json_t *ops = json_object_get(body, "Operations");
	json_t *st = scim_patch_status(&t->conf, &m, m.status);
	json_array_extend(ops, json_object_get(st, "Operations"));
	json_decref(st);
	return send_patch(o, there, body);
}

static int move_out(struct op_ctx *o)
{
	struct scim_target *t = o->t;
	json_t *old = scim_find_user(t, o->op->from_facility, o->op->member.external_id);
	o->stage = STAGE_MOVE_OUT;
	o->ep = scim_endpoint_of(t, o->op->from_facility);
	if (!old || !o->ep || !scim_user_active(old)) {
		finish(o, 0, false, false, NULL);
		return 1;
	}
	json_decref(o->user);
	o->user = json_incref(old);
	o->facility = o->op->from_facility;
	return send_patch(o, old, scim_patch_status(&t->conf, &o->op->member, SS_STATUS_DEACTIVATED));
}

static int op_move(struct op_ctx *o)
{
	struct scim_target *t = o->t;
	const char *ext = o->op->member.external_id;
	if (isempty(o->op->from_facility)) {
		finish(o, -EINVAL, false, false, "a move needs the facility the person leaves");
		return 1;
	}
	if (t->conf.per_facility && !streq(o->op->from_facility, o->op->facility))
		return move_in(o);
	/* One endpoint: the same account, its facility attribute changed. */
	json_t *u = scim_find_user(t, o->op->from_facility, ext);
	if (!u) {
		if (scim_find_user(t, o->op->facility, ext)) {
			finish(o, 0, false, true, NULL);
			return 1;
		}
		finish(o, -ENOENT, false, false, "%s is not in %s to move", ext, o->op->from_facility);
		return 1;
	}
	json_decref(o->user);
	o->user = json_incref(u);
	return send_patch(o, u, scim_patch_fields(&t->conf, &o->op->member, ALL_FIELDS,
						  o->op->facility, false));
}

/* The User an operation changes, from the index. */
static json_t *target_user(struct op_ctx *o)
{
	const struct ss_op *op = o->op;
	if (op->kind == SS_OP_ADOPT && op->member.ref) {
		/* The account the plan chose (by email or by user name). */
		json_t *u = scim_index_by_id(o->t->index, op->facility, op->member.ref);
		if (!u && !o->t->conf.per_facility)
			u = scim_index_by_id(o->t->index, "", op->member.ref);
		if (u)
			return u;
	}
	if (op->kind == SS_OP_ADOPT) {
		json_t *u = scim_index_by_email(o->t->index, op->facility, op->member.email, NULL);
		if (!u && !o->t->conf.per_facility)
			u = scim_index_by_email(o->t->index, "", op->member.email, NULL);
		if (u && op->member.ref && !streq_ptr(scim_user_id(u), op->member.ref))
			u = NULL;
		return u ? u : scim_find_user(o->t, op->facility, op->member.external_id);
	}
	return scim_find_user(o->t, op->facility, op->member.external_id);
}

static int dispatch(struct op_ctx *o)
{
	const struct ss_op *op = o->op;
	switch (op->kind) {
	case SS_OP_CREATE:
		return op_create(o);
	case SS_OP_MOVE:
		return op_move(o);
	case SS_OP_HOLD:
	case _SS_OP_MAX:
		finish(o, -EINVAL, false, false, "%s operations are never applied to a target",
		       ss_op_kind_to_string(op->kind));
		return 1;
	default:
		break;
	}
	json_t *u = target_user(o);
	if (!u) {
		finish(o, -ENOENT, false, false, "%s has no account in %s (%s)",
		       strempty(op->member.external_id), op->facility, o->ep->base_url);
		return 1;
	}
	o->user = json_incref(u);
	switch (op->kind) {
	case SS_OP_INVITE:
	case SS_OP_RESEND_INVITE:
		return op_invite(o);
	case SS_OP_UPDATE:
		return op_update(o);
	case SS_OP_ADOPT:
		return op_adopt(o);
	case SS_OP_DEACTIVATE:
		return op_set_status(o, SS_STATUS_DEACTIVATED);
	case SS_OP_REACTIVATE:
		return op_set_status(o, o->op->member.status == SS_STATUS_DEACTIVATED
				     ? SS_STATUS_ACTIVE : o->op->member.status);
	default:
		return 1;
	}
}

void scim_op_start(struct op_ctx *o)
{
	o->ep = scim_endpoint_of(o->t, o->op->facility);
	o->facility = o->op->facility;
	if (!o->ep) {
		finish(o, -ENOENT, false, false, "facility %s has no SCIM endpoint",
		       strempty(o->op->facility));
		return;
	}
	if (o->ep->stopped) {
		finish_stopped(o);
		return;
	}
	if (json_object_get(o->t->deferred, scim_op_person(o->op))) {
		/* After the person's own deferred operation (an invite after its create). */
		finish(o, -EAGAIN, true, false, "waits for an earlier operation of %s, deferred to "
		       "the next run", scim_op_person(o->op));
		return;
	}
	int r = dispatch(o);
	if (r < 0)
		finish(o, r, true, false, "cannot queue the request: %s", strerror(-r));
}

/* -------------------------------------------------------------- answers --- */

/* Remember what the server answered (the full User, when it sent one). */
static void index_answer(struct op_ctx *o, struct scim_request *rq)
{
	json_t *j = rq->response_size ? json_loadb(rq->response, rq->response_size, 0, NULL) : NULL;
	if (json_is_object(j) && scim_user_id(j)) {
		/* A User of the single endpoint moves between index facilities. */
		const char *f = o->ep->facility ? o->ep->facility : scim_user_facility(&o->t->conf, j);
		if (!o->ep->facility && o->user)
			scim_index_remove(o->t->index, scim_user_facility(&o->t->conf, o->user), o->user);
		scim_index_put(o->t->index, f ? f : "", json_incref(j));
	}
	json_decref(j);
}

/* The probe's answer: the User the interrupted POST created, or none. */
static void on_probe(struct op_ctx *o, struct scim_request *rq)
{
	json_t *j = json_loadb(rq->response, rq->response_size, 0, NULL);
	json_t *res = json_object_get(j, "Resources"), *u, *found = NULL;
	size_t i;
	json_array_foreach(res, i, u) {
		const char *f = o->ep->facility ? o->ep->facility : scim_user_facility(&o->t->conf, u);
		if (streq_ptr(f, o->op->facility))
			found = u;
	}
	if (found)
		scim_index_put(o->t->index, o->op->facility, json_incref(found));
	json_decref(j);
	if (found) {
		scim_request_free(rq);
		if (o->op->kind == SS_OP_MOVE)
			move_out(o);
		else
			finish(o, 0, false, false, NULL);
		return;
	}
	if (o->conflict) {   /* a 409 that is not our own earlier attempt */
		scim_request_free(rq);
		finish(o, SS_OP_REFUSED, false, false, "%s", o->conflict);
		return;
	}
	/* Not there: the POST never took effect; send it again. */
	char *url = users_url(o->ep);
	if (!url) {
		scim_request_free(rq);
		finish(o, -ENOMEM, true, false, "out of memory");
		return;
	}
	free(rq->url);
	rq->url = url;
	rq->method = "POST";
	if (o->stage == STAGE_PROBE)
		o->stage = STAGE_POST;
	scim_http_submit(o->t->http, rq, 0);
}

static bool try_again(struct op_ctx *o, struct scim_request *rq)
{
	uint64_t delay;
	if (!scim_http_retry(o->t->http, rq, &delay))
		return false;
	o->attempts = rq->attempts;
	/* 429 and 503 say the request was not processed: send it as it was. */
	bool refused = rq->curl_code == CURLE_OK && (rq->status == 429 || rq->status == 503);
	/* An invitation that may have gone out is not sent again (at most once). */
	if (o->stage == STAGE_INVITE_REQUEST && !refused && rq->curl_code != CURLE_COULDNT_CONNECT)
		return false;
	if (!refused && (o->stage == STAGE_POST ||
			 (o->stage == STAGE_MOVE_IN && streq(rq->method, "POST")))) {
		/* The POST may have been done before the failure: look first. */
		_cleanup_free_ char *url = probe_url(o);
		if (!url)
			return false;
		free(rq->url);
		rq->url = TAKE_PTR(url);
		rq->method = "GET";
		o->stage = o->stage == STAGE_POST ? STAGE_PROBE : o->stage;
	}
	scim_http_submit(o->t->http, rq, delay);
	return true;
}

/* The configured invite request: once the account is pending, so that a
 * replay after a crash finds it pending and sends no second invitation. */
static int send_invite_request(struct op_ctx *o)
{
	const struct scim_invite_request_conf *ir = &o->t->conf.invite_request;
	_cleanup_free_ char *path = NULL;
	char *url = NULL, *body = ir->body ? strdup(ir->body) : NULL;
	const char *id = scim_user_id(o->user);
	/* {id} in the path: a SCIM id is URL-safe (RFC 7643 3.1 leaves it to the
	 * provider; the ones seen are). */
	path = id ? scim_expand_id(ir->path, id) : NULL;
	if (!path || asprintf(&url, "%s%s", o->ep->base_url, path) < 0 || (ir->body && !body)) {
		free(body);
		return -ENOMEM;
	}
	o->stage = STAGE_INVITE_REQUEST;
	struct scim_request *rq = scim_request_new(o->ep, scim_invite_methods[ir->method], url, body,
						   on_answer, o);
	return rq ? scim_http_submit(o->t->http, rq, 0) : -ENOMEM;
}

static void on_success(struct op_ctx *o, struct scim_request *rq)
{
	if (o->stage != STAGE_INVITE_REQUEST)
		index_answer(o, rq);
	scim_request_free(rq);
	if (o->stage == STAGE_PATCH && o->t->conf.has_invite_request &&
	    (o->op->kind == SS_OP_INVITE || o->op->kind == SS_OP_RESEND_INVITE)) {
		if (send_invite_request(o) < 0)
			finish(o, -ENOMEM, true, false, "out of memory");
		return;
	}
	if (o->stage == STAGE_MOVE_IN) {
		move_out(o);   /* the old account next (or done) */
		return;
	}
	finish(o, 0, false, false, NULL);
}

static bool search_after_conflict(struct op_ctx *o, struct scim_request *rq, const char *why)
{
	_cleanup_free_ char *url = probe_url(o);
	o->conflict = strdup(why);
	if (!url || !o->conflict)
		return false;
	free(rq->url);
	rq->url = TAKE_PTR(url);
	rq->method = "GET";
	scim_http_submit(o->t->http, rq, 0);
	return true;
}

static void on_answer(struct scim_request *rq)
{
	struct op_ctx *o = rq->userdata;
	bool was_get = streq(rq->method, "GET");
	if (try_again(o, rq))
		return;
	bool transient = scim_http_transient(rq);
	if (!transient && rq->curl_code == CURLE_OK && rq->status >= 200 && rq->status < 300) {
		if (was_get) {   /* the probe after a failed POST */
			on_probe(o, rq);
			return;
		}
		on_success(o, rq);
		return;
	}
	char why[400];
	scim_http_describe(rq, why, sizeof why);
	if (rq->status == 409 && streq(rq->method, "POST") && !o->conflict &&
	    (o->stage == STAGE_POST || o->stage == STAGE_MOVE_IN))
		/* libcurl resends a request once on its own when a kept-alive
		 * connection dies unanswered: the 409 may be our own User. */
		if (search_after_conflict(o, rq, why))
			return;
	bool refused = !transient && rq->curl_code == CURLE_OK && refused_for_good(rq->status) &&
		       o->stage != STAGE_INVITE_REQUEST;
	scim_request_free(rq);
	if (transient && o->ep->stopped)
		finish(o, -EIO, true, false, "%s (after %u attempts; writing to %s stopped for this run, "
		       "the rest stays journaled)", why, o->attempts + 1, o->ep->base_url);
	else
		finish(o, transient ? -EIO : refused ? SS_OP_REFUSED : -EPROTO, transient, false,
		       "%s", why);
}

/* One create of a Bulk answered: its User in the index, or its error. */
static void bulk_result(struct op_ctx *o, json_t *body, json_t *res)
{
	const char *status = json_string_value(json_object_get(res, "status"));
	const char *location = json_string_value(json_object_get(res, "location"));
	const char *slash = location ? strrchr(location, '/') : NULL;
	if (status && streq(status, "201") && slash && slash[1]) {
		json_t *u = json_deep_copy(body);
		json_object_set_new(u, "id", json_string(slash + 1));
		if (u)
			scim_index_put(o->t->index, o->op->facility, u);
		finish(o, 0, false, false, NULL);
		return;
	}
	const char *detail = json_string_value(json_object_get(json_object_get(res, "response"), "detail"));
	if (status && status[0] == '4' && !streq(status, "409") && !streq(status, "429")) {
		finish(o, refused_for_good(strtol(status, NULL, 10)) ? SS_OP_REFUSED : -EPROTO, false,
		       false, "HTTP %s: %s", status, detail ? detail : "refused in a Bulk request");
		return;
	}
	/* 409 (perhaps our own earlier attempt), 5xx, no answer: on its own. */
	o->no_bulk = true;
	if (send_post(o, o->op->member.status) < 0)
		finish(o, -ENOMEM, true, false, "out of memory");
}

static void on_bulk(struct scim_request *rq)
{
	struct scim_bulk_batch *b = rq->userdata;
	json_t *j = rq->curl_code == CURLE_OK && rq->status == 200
		? json_loadb(rq->response, rq->response_size, 0, NULL) : NULL;
	json_t *results = json_object_get(j, "Operations");
	for (size_t i = 0; i < b->n; i++) {
		char id[32];
		json_t *res = NULL, *e;
		size_t k;
		snprintf(id, sizeof id, "op%zu", i);
		json_array_foreach(results, k, e)
			if (streq_ptr(json_string_value(json_object_get(e, "bulkId")), id))
				res = e;
		bulk_result(b->ops[i], b->bodies[i], res);
	}
	json_decref(j);
	scim_batch_free(b);
	scim_request_free(rq);
}

