/* SPDX-License-Identifier: MIT */
/*
 * The SCIM target's HTTP engine: every request goes through one curl multi
 * handle (keep-alive, HTTP/2 multiplexing where the server offers it), with
 * at most `concurrency` requests in flight and at most `rate_limit` starts
 * per second per endpoint (requests are spaced evenly, never in bursts).
 *
 * The engine sends and collects; whether a failed request is sent again is
 * the caller's decision (a POST that may have reached the server must be
 * checked before it is repeated), helped by scim_http_retry(): exponential
 * backoff with jitter, or the server's Retry-After on 429 and 503.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "scim.h"
#include "util.h"

#define BACKOFF_BASE (200 * 1000ULL)          /* first retry after ~0.2 s */
#define BACKOFF_MAX (30 * SS_USEC_PER_SEC)
#define RETRY_AFTER_MAX (300 * SS_USEC_PER_SEC)
#define RESPONSE_MAX (64u << 20)
#define MAX_REAUTHORIZATIONS 3u                /* new OAuth2 tokens for one request after 401s */
#define USER_AGENT "staffsync-scim/" PACKAGE_VERSION

struct scim_http {
	CURLM *multi;
	const struct scim_conf *conf;
	struct scim_request *queue, *queue_tail;   /* waiting to start, in order */
	unsigned long in_flight;
};

int scim_http_new(const struct scim_conf *c, struct scim_http **ret)
{
	struct scim_http *h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	h->conf = c;
	h->multi = curl_multi_init();
	if (!h->multi) {
		free(h);
		return -ENOMEM;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->concurrency);
	curl_multi_setopt(h->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
	*ret = h;
	return 0;
}

void scim_request_free(struct scim_request *rq)
{
	if (!rq)
		return;
	if (rq->easy) {
		if (rq->engine)
			curl_multi_remove_handle(rq->engine->multi, rq->easy);
		curl_easy_cleanup(rq->easy);
	}
	curl_slist_free_all(rq->headers);
	free(rq->url);
	free(rq->body);
	free(rq->response);
	free(rq);
}

struct scim_request *scim_request_new(struct scim_endpoint *ep, const char *method, char *url,
				      char *body, scim_answer_fn answer, void *userdata)
{
	struct scim_request *rq = calloc(1, sizeof *rq);
	if (!rq || !url) {
		free(rq);
		free(url);
		free(body);
		return NULL;
	}
	*rq = (struct scim_request){ .ep = ep, .method = method, .url = url, .body = body,
				     .answer = answer, .userdata = userdata };
	return rq;
}

void scim_http_free(struct scim_http *h)
{
	if (!h)
		return;
	while (h->queue) {
		struct scim_request *rq = h->queue;
		h->queue = rq->next;
		scim_request_free(rq);
	}
	curl_multi_cleanup(h->multi);
	free(h);
}

/* -------------------------------------------------------- callbacks --- */

static size_t on_body(char *data, size_t size, size_t n, void *ud)
{
	struct scim_request *rq = ud;
	size_t k = size * n;
	if (rq->response_size + k + 1 > rq->response_cap) {
		size_t cap = rq->response_cap ? rq->response_cap : 4096;
		while (cap < rq->response_size + k + 1)
			cap *= 2;
		if (cap > RESPONSE_MAX)
			return 0;   /* curl fails the transfer: CURLE_WRITE_ERROR */
		char *b = realloc(rq->response, cap);
		if (!b)
			return 0;
		rq->response = b;
		rq->response_cap = cap;
	}
	memcpy(rq->response + rq->response_size, data, k);
	rq->response_size += k;
	rq->response[rq->response_size] = '\0';
	return k;
}

/* Retry-After: delay-seconds (an HTTP-date is taken as "a while": 1 s). */
static size_t on_header(char *data, size_t size, size_t n, void *ud)
{
	struct scim_request *rq = ud;
	size_t k = size * n;
	static const char name[] = "retry-after:";
	if (k > sizeof name && strncasecmp(data, name, sizeof name - 1) == 0) {
		char buf[32] = {0};
		size_t len = k - (sizeof name - 1);
		memcpy(buf, data + sizeof name - 1, len < sizeof buf - 1 ? len : sizeof buf - 1);
		char *end;
		unsigned long long s = strtoull(buf, &end, 10);
		if (end != buf)
			rq->retry_after = s * SS_USEC_PER_SEC;
		else
			rq->retry_after = SS_USEC_PER_SEC;
		if (rq->retry_after > RETRY_AFTER_MAX)
			rq->retry_after = RETRY_AFTER_MAX;
	}
	return k;
}

/* ------------------------------------------------------------ sending --- */

static int set_auth(CURL *e, const struct scim_endpoint *ep)
{
	switch (ep->auth.kind) {
	case SCIM_AUTH_BEARER:
	case SCIM_AUTH_OAUTH2:
		if (!ep->auth.token)
			return -ENOKEY;
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, ep->auth.token);
		return 0;
	case SCIM_AUTH_BASIC:
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, ep->auth.username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, ep->auth.password);
		return 0;
	case SCIM_AUTH_NONE:
		return 0;
	}
	return 0;
}

/* ------------------------------------------------------------ oauth2 --- */

static size_t on_token_body(char *data, size_t size, size_t n, void *ud)
{
	struct scim_request *rq = ud;   /* only its response buffer is used */
	return on_body(data, size, n, rq);
}

/* Client credentials grant (RFC 6749 4.4), the client authenticated with
 * HTTP basic (2.3.1). Blocking: a token is fetched once per lifetime. */
int scim_auth_refresh(struct scim_http *h, struct scim_endpoint *ep, char *why, size_t why_size)
{
	const struct scim_conf *c = h->conf;
	if (ep->auth.kind != SCIM_AUTH_OAUTH2)
		return 0;
	struct scim_request buf = {0};
	_cleanup_free_ char *form = NULL, *scope = NULL, *url = scim_expand(c->oauth2.token_url, ep->facility);
	_cleanup_free_ char *client_id = scim_expand(c->oauth2.client_id, ep->facility);
	CURL *e = curl_easy_init();
	if (!e || !url || !client_id) {
		if (e)
			curl_easy_cleanup(e);
		return -ENOMEM;
	}
	if (c->oauth2.scope)
		scope = curl_easy_escape(e, c->oauth2.scope, 0);
	if (asprintf(&form, "grant_type=client_credentials%s%s", scope ? "&scope=" : "", strempty(scope)) < 0)
		form = NULL;
	char err[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, strempty(form));
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, client_id);
	curl_easy_setopt(e, CURLOPT_PASSWORD, ep->auth.client_secret);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout / 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_token_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &buf);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err);
	CURLcode rc = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_free(scope);
	scope = NULL;
	curl_easy_cleanup(e);
	json_t *j = rc == CURLE_OK && status == 200 && buf.response
		? json_loadb(buf.response, buf.response_size, 0, NULL) : NULL;
	free(buf.response);
	const char *token = json_string_value(json_object_get(j, "access_token"));
	if (!token) {
		/* The answer may echo what was sent: only curl's words or the status. */
		snprintf(why, why_size, "OAuth2 token from %s: %s", url,
			 rc != CURLE_OK ? (err[0] ? err : curl_easy_strerror(rc)) : "no access_token in the answer");
		if (rc == CURLE_OK && status != 200)
			snprintf(why, why_size, "OAuth2 token from %s: HTTP %ld", url, status);
		json_decref(j);
		return -EACCES;
	}
	char *copy = strdup(token);
	json_int_t expires = json_integer_value(json_object_get(j, "expires_in"));
	json_decref(j);
	if (!copy)
		return -ENOMEM;
	if (ep->auth.token)
		explicit_bzero(ep->auth.token, strlen(ep->auth.token));
	free(ep->auth.token);
	ep->auth.token = copy;
	/* Renewed a tenth of its lifetime (at most 30 s) before it expires. */
	uint64_t life = (uint64_t)(expires > 0 ? expires : 3600) * SS_USEC_PER_SEC;
	uint64_t margin = life / 10 < 30 * SS_USEC_PER_SEC ? life / 10 : 30 * SS_USEC_PER_SEC;
	ep->auth.token_expires = scim_now() + life - margin;
	return 0;
}

static int prepare_easy(struct scim_http *h, struct scim_request *rq)
{
	const struct scim_conf *c = h->conf;
	bool has_body = rq->body && !streq(rq->method, "GET");
	/* A fresh handle per attempt (the caller may have turned a POST into
	 * a GET); connections stay in the multi handle's pool. */
	if (rq->easy)
		curl_easy_cleanup(rq->easy);
	curl_slist_free_all(rq->headers);
	rq->headers = NULL;
	rq->easy = curl_easy_init();
	if (!rq->easy)
		return -ENOMEM;
	struct curl_slist *l = curl_slist_append(NULL, "Accept: application/scim+json, application/json");
	if (l && has_body)
		l = curl_slist_append(l, "Content-Type: application/scim+json");
	if (!l)
		return -ENOMEM;
	rq->headers = l;
	CURL *e = rq->easy;
	curl_easy_setopt(e, CURLOPT_URL, rq->url);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, streq(rq->method, "GET") ? NULL : rq->method);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers);
	if (has_body)
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, rq->body);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(c->timeout / 1000));
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	/* Over TLS, wait for a connection's ALPN answer and multiplex on it
	 * rather than open more; plain HTTP/1.1 needs its own connections. */
	if (strncasecmp(rq->url, "https:", 6) == 0)
		curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_USERAGENT, USER_AGENT);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, rq);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, rq);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rq->error);
	curl_easy_setopt(e, CURLOPT_PRIVATE, rq);
	if (rq->ep->auth.kind == SCIM_AUTH_OAUTH2 && scim_now() >= rq->ep->auth.token_expires) {
		char why[256];
		if (scim_auth_refresh(h, rq->ep, why, sizeof why) < 0) {
			snprintf(rq->error, sizeof rq->error, "%s", why);
			return -ENOKEY;
		}
	}
	return set_auth(e, rq->ep);
}

int scim_http_submit(struct scim_http *h, struct scim_request *rq, uint64_t delay)
{
	rq->engine = h;
	rq->not_before = delay ? scim_now() + delay : 0;
	rq->next = NULL;
	if (h->queue_tail)
		h->queue_tail->next = rq;
	else
		h->queue = rq;
	h->queue_tail = rq;
	return 0;
}

static void reset_outcome(struct scim_request *rq)
{
	rq->status = 0;
	rq->curl_code = CURLE_OK;
	rq->response_size = 0;
	if (rq->response)
		rq->response[0] = '\0';
	rq->retry_after = 0;
	rq->error[0] = '\0';
}

/* The rate limit: may a request to ep start now? If so, take its slot. */
static bool take_slot(const struct scim_conf *c, struct scim_endpoint *ep, uint64_t now)
{
	if (c->rate_limit == 0)
		return true;
	if (now < ep->next_slot)
		return false;
	uint64_t interval = SS_USEC_PER_SEC / c->rate_limit;
	/* Spaced evenly from the previous slot; an idle endpoint gains no burst. */
	ep->next_slot = (ep->next_slot + interval > now ? ep->next_slot : now) + interval;
	return true;
}

static void finish_now(struct scim_http *h, struct scim_request *rq, CURLcode code, const char *why)
{
	(void)h;
	reset_outcome(rq);
	rq->curl_code = code;
	snprintf(rq->error, sizeof rq->error, "%s", why);
	rq->attempts++;
	rq->answer(rq);
}

/* Start what the limits allow; returns the earliest time a waiting request
 * may start (0: none waiting on a time). */
static uint64_t start_ready(struct scim_http *h)
{
	uint64_t now = scim_now(), wake = 0;
	struct scim_request **pp = &h->queue, *prev = NULL;
	while (*pp && h->in_flight < h->conf->concurrency) {
		struct scim_request *rq = *pp;
		uint64_t at = rq->not_before;
		if (at <= now && !take_slot(h->conf, rq->ep, now))
			at = rq->ep->next_slot;
		if (at > now) {
			wake = wake && wake < at ? wake : at;
			prev = rq;
			pp = &rq->next;
			continue;
		}
		*pp = rq->next;
		if (h->queue_tail == rq)
			h->queue_tail = prev;
		rq->next = NULL;
		if (rq->ep->stopped) {
			/* Writing stopped after repeated failures: nothing more goes out. */
			rq->not_sent = true;
			finish_now(h, rq, CURLE_ABORTED_BY_CALLBACK, "not sent: writing stopped");
			continue;
		}
		reset_outcome(rq);
		int r = prepare_easy(h, rq);
		if (r == 0 && curl_multi_add_handle(h->multi, rq->easy) != CURLM_OK)
			r = -ENOMEM;
		if (r < 0) {
			if (r == -ENOKEY) {
				char why[CURL_ERROR_SIZE];
				snprintf(why, sizeof why, "%s", rq->error[0] ? rq->error : "no access token");
				finish_now(h, rq, CURLE_LOGIN_DENIED, why);
			} else
				finish_now(h, rq, CURLE_OUT_OF_MEMORY, "out of memory");
			continue;
		}
		h->in_flight++;
	}
	return wake;
}

static void account(const struct scim_http *h, struct scim_endpoint *ep, bool failed);

static void collect(struct scim_http *h)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(h->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct scim_request *rq = NULL;
		CURL *e = m->easy_handle;
		CURLcode code = m->data.result;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&rq);
		curl_multi_remove_handle(h->multi, e);
		h->in_flight--;
		rq->curl_code = code;
		if (code == CURLE_OK)
			curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &rq->status);
		rq->attempts++;
		if (rq->status == 401 && rq->ep->auth.kind == SCIM_AUTH_OAUTH2 &&
		    rq->reauthorized < MAX_REAUTHORIZATIONS) {
			/* Expired before its time (a request that waited behind
			 * the rate limit can reach the server after its token's
			 * end), or revoked: a new token, a few times at most; a
			 * refused client gets no token at all, so this ends. */
			rq->reauthorized++;
			rq->ep->auth.token_expires = 0;
			rq->attempts--;
			scim_http_submit(h, rq, 0);
			continue;
		}
		account(h, rq->ep, scim_http_transient(rq));
		rq->answer(rq);   /* may free rq, submit more */
	}
}

int scim_http_pump(struct scim_http *h)
{
	int running;
	start_ready(h);
	if (curl_multi_perform(h->multi, &running) != CURLM_OK)
		return -EIO;
	collect(h);
	return 0;
}

/* When the first waiting request may start (0: now or never by time). */
static uint64_t next_wake(const struct scim_http *h)
{
	uint64_t wake = 0;
	if (h->in_flight >= h->conf->concurrency)
		return 0;   /* curl's answers wake us */
	for (const struct scim_request *rq = h->queue; rq; rq = rq->next) {
		uint64_t at = rq->not_before;
		if (h->conf->rate_limit && rq->ep->next_slot > at)
			at = rq->ep->next_slot;
		if (!wake || at < wake)
			wake = at ? at : 1;
	}
	return wake;
}

int scim_http_drive(struct scim_http *h)
{
	while (h->queue || h->in_flight) {
		start_ready(h);
		int running;
		if (curl_multi_perform(h->multi, &running) != CURLM_OK)
			return -EIO;
		collect(h);
		if (!h->queue && !h->in_flight)
			break;
		uint64_t wake = next_wake(h);
		long timeout_ms = 1000;
		if (wake) {
			uint64_t now = scim_now();
			timeout_ms = wake > now ? (long)((wake - now + 999) / 1000) : 0;
		}
		if (h->in_flight) {
			long curl_ms = -1;
			curl_multi_timeout(h->multi, &curl_ms);
			if (curl_ms >= 0 && (curl_ms < timeout_ms || !wake))
				timeout_ms = curl_ms;
		}
		if (timeout_ms > 0 && curl_multi_poll(h->multi, NULL, 0, (int)timeout_ms, NULL) != CURLM_OK)
			return -EIO;
	}
	return 0;
}

/* ------------------------------------------------------------ verdicts --- */

bool scim_http_transient(const struct scim_request *rq)
{
	if (rq->not_sent)
		return true;
	if (rq->curl_code != CURLE_OK)
		switch (rq->curl_code) {
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
		case CURLE_OUT_OF_MEMORY:
			return true;
		default:
			return false;   /* TLS verification, bad URL: no retry helps */
		}
	return rq->status == 429 || rq->status >= 500 || rq->status == 408;
}

static uint64_t jitter(uint64_t max)
{
	uint64_t v = 0;
	if (max == 0 || getrandom(&v, sizeof v, GRND_NONBLOCK) != sizeof v)
		return 0;
	return v % max;
}

bool scim_http_retry(const struct scim_http *h, const struct scim_request *rq, uint64_t *delay)
{
	if (!scim_http_transient(rq) || rq->attempts > h->conf->retries || rq->ep->stopped)
		return false;
	if (rq->retry_after && (rq->status == 429 || rq->status == 503)) {
		*delay = rq->retry_after;
		return true;
	}
	unsigned shift = rq->attempts > 20 ? 20 : rq->attempts - 1;
	uint64_t d = BACKOFF_BASE << shift;
	if (d > BACKOFF_MAX)
		d = BACKOFF_MAX;
	*delay = d / 2 + jitter(d / 2 + 1);   /* "equal jitter" */
	return true;
}

static void account(const struct scim_http *h, struct scim_endpoint *ep, bool failed)
{
	if (!failed) {
		ep->failures_in_a_row = 0;
		return;
	}
	if (++ep->failures_in_a_row >= h->conf->stop_after)
		ep->stopped = true;
}

void scim_http_describe(const struct scim_request *rq, char *buf, size_t size)
{
	if (rq->curl_code != CURLE_OK) {
		snprintf(buf, size, "%s %s: %s", rq->method, rq->ep->base_url,
			 rq->error[0] ? rq->error : curl_easy_strerror(rq->curl_code));
		return;
	}
	const char *detail = NULL;
	json_t *j = rq->response_size ? json_loadb(rq->response, rq->response_size, 0, NULL) : NULL;
	if (json_is_object(j))
		detail = json_string_value(json_object_get(j, "detail"));
	if (detail)
		snprintf(buf, size, "HTTP %ld: %s", rq->status, detail);
	else
		snprintf(buf, size, "HTTP %ld from %s", rq->status, rq->ep->base_url);
	json_decref(j);
}
