/* SPDX-License-Identifier: MIT */
/*
 * The SCIM 2.0 target (RFC 7643/7644): shared declarations of its parts.
 *
 *   scim-conf.c   configuration, endpoints and their credentials
 *   scim-http.c   the HTTP engine: one curl multi handle, rate limit, retries
 *   scim-json.c   memberships to and from SCIM JSON, minimal PATCH bodies
 *   scim-index.c  what the workspace holds, listed at connect time
 *   scim.c        connection, listing, lookups, apply/flush, the descriptor
 *   scim-ops.c    the requests of each operation and their answers
 *
 * The attribute names of the project's extension schema are documented in
 * plugins/scim/SCHEMA.md.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <curl/curl.h>
#include <jansson.h>

#include "staffsync-plugin.h"

#define SCIM_EXT_URN "urn:ietf:params:scim:schemas:extension:staffsync:2.0:User"
#define SCIM_ENTERPRISE_URN "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
#define SCIM_CORE_USER_URN "urn:ietf:params:scim:schemas:core:2.0:User"
#define SCIM_PATCH_URN "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#define SCIM_LIST_URN "urn:ietf:params:scim:api:messages:2.0:ListResponse"
#define SCIM_BULK_REQUEST_URN "urn:ietf:params:scim:api:messages:2.0:BulkRequest"

enum scim_schema { SCIM_SCHEMA_EXTENSION, SCIM_SCHEMA_STANDARD };
enum scim_bulk { SCIM_BULK_AUTO, SCIM_BULK_OFF };

/* ------------------------------------------------------------- config --- */

struct scim_basic_conf {
	char *username;
	char *password_file;
	char *password_credential;
};

struct scim_oauth2_conf {
	char *token_url;
	char *client_id;
	char *client_secret_file;
	char *client_secret_credential;
	char *scope;
};

/* invite_request: the platform's own "send the invitation" call, made after
 * the account is marked pending (INVITE and RESEND_INVITE). */
struct scim_invite_request_conf {
	int method;                   /* index in "POST", "PUT", "PATCH" */
	char *path;                   /* below base_url; {id} = the User's id */
	char *body;                   /* JSON, or none */
};

extern const char *const scim_invite_methods[];

struct scim_conf {
	char *base_url;               /* may hold {facility} */
	char *token_file;             /* paths and credential names may hold {facility} too */
	char *token_credential;
	const yaml_node_t *basic_node, *oauth2_node;
	struct scim_basic_conf basic;
	struct scim_oauth2_conf oauth2;
	bool has_basic, has_oauth2;
	char *user_name;              /* userName template ({email} {id} {facility}); set at open */
	const yaml_node_t *invite_request_node;
	struct scim_invite_request_conf invite_request;
	bool has_invite_request;
	char *ca_file;
	int schema;                   /* enum scim_schema */
	int bulk;                     /* enum scim_bulk */
	unsigned long concurrency;
	unsigned long rate_limit;     /* requests per second per endpoint; 0: unlimited */
	uint64_t timeout;             /* per request, microseconds */
	unsigned long retries;        /* attempts after the first for a transient failure */
	unsigned long stop_after;     /* attempts failed in a row before writing stops */
	unsigned long page_size;
	bool per_facility;            /* base_url holds {facility} */
};

enum scim_auth_kind { SCIM_AUTH_NONE, SCIM_AUTH_BEARER, SCIM_AUTH_BASIC, SCIM_AUTH_OAUTH2 };

struct scim_auth {
	enum scim_auth_kind kind;
	char *token;                  /* bearer, or the OAuth2 access token */
	char *username, *password;
	char *client_secret;
	uint64_t token_expires;       /* OAuth2: monotonic microseconds */
};

/* One SCIM service provider: a facility's own, or the only one. */
struct scim_endpoint {
	char *facility;               /* NULL for the single endpoint */
	char *base_url;               /* no trailing slash */
	struct scim_auth auth;
	uint64_t next_slot;           /* rate limit: the earliest start of the next request */
	unsigned long failures_in_a_row;
	bool stopped;                 /* too many failures: nothing more is sent this run */
	bool listed;
	bool bulk;                    /* advertised in ServiceProviderConfig and allowed */
	unsigned long bulk_max;       /* operations per Bulk request */
	struct scim_bulk_batch *batch;   /* creates waiting to go in one Bulk request */
};

struct scim_bulk_batch;

struct scim_target;

int scim_conf_parse(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		    struct scim_conf *out);
void scim_conf_free(const struct ss_host *host, struct scim_conf *c);
/* The endpoint of a facility (NULL: the single one), credentials loaded. */
int scim_endpoint_new(const struct scim_conf *c, const char *facility, struct scim_endpoint **ret,
		      char *why, size_t why_size);
void scim_endpoint_free(struct scim_endpoint *e);
/* s with every {facility} replaced. */
char *scim_expand(const char *s, const char *facility);
uint64_t scim_now(void);   /* monotonic microseconds */
/* s with its {id} replaced (one occurrence). */
char *scim_expand_id(const char *s, const char *id);

/* --------------------------------------------------------------- http --- */

struct scim_request;
typedef void (*scim_answer_fn)(struct scim_request *rq);

struct scim_request {
	struct scim_endpoint *ep;
	const char *method;           /* GET POST PATCH PUT */
	char *url;
	char *body;                   /* JSON, or NULL */
	scim_answer_fn answer;
	void *userdata;
	unsigned attempts;            /* sent so far */
	/* The outcome of the last attempt. */
	long status;                  /* HTTP status, 0: no answer */
	CURLcode curl_code;
	char *response;
	size_t response_size;
	uint64_t retry_after;         /* microseconds, from a Retry-After header */
	char error[CURL_ERROR_SIZE];
	bool not_sent;                /* dropped: its endpoint stopped */
	unsigned reauthorized;        /* times sent again after a 401 with a new OAuth2 token */
	/* Engine's. */
	uint64_t not_before;
	CURL *easy;
	struct curl_slist *headers;
	struct scim_request *next;
	struct scim_http *engine;
	size_t response_cap;
};

struct scim_http;
int scim_http_new(const struct scim_conf *c, struct scim_http **ret);
void scim_http_free(struct scim_http *h);
/* Queue a request, to be started at delay microseconds from now at the
 * earliest; its answer callback runs from scim_http_pump/drive. */
int scim_http_submit(struct scim_http *h, struct scim_request *rq, uint64_t delay);
/* Start what may start and collect answers, without waiting. */
int scim_http_pump(struct scim_http *h);
/* Run until nothing is queued or in flight. */
int scim_http_drive(struct scim_http *h);
/* A request whose last attempt failed transiently and may be sent again:
 * true and *delay (backoff with jitter, or Retry-After). */
bool scim_http_retry(const struct scim_http *h, const struct scim_request *rq, uint64_t *delay);
bool scim_http_transient(const struct scim_request *rq);
/* A short description of the failure of the last attempt (server's detail,
 * HTTP status, or curl's error): never a credential. */
void scim_http_describe(const struct scim_request *rq, char *buf, size_t size);
void scim_request_free(struct scim_request *rq);
struct scim_request *scim_request_new(struct scim_endpoint *ep, const char *method, char *url,
				      char *body, scim_answer_fn answer, void *userdata);
/* Synchronously fetch an OAuth2 token if the endpoint needs one. */
int scim_auth_refresh(struct scim_http *h, struct scim_endpoint *ep, char *why, size_t why_size);

/* --------------------------------------------------------------- json --- */

/* The userName of a membership: c->user_name (NULL: "{email}") with {email}
 * the e-mail (the source's id when there is none), {id} the source's id and
 * {facility} the facility id. malloc'd; NULL on ENOMEM. */
char *scim_user_name(const struct scim_conf *c, const struct ss_member *m);

/* A SCIM User resource for a membership (POST body). */
json_t *scim_user_json(const struct scim_conf *c, const struct ss_member *m, const char *facility);
/* The membership a listed User stands for. */
int scim_member_from_user(const struct scim_conf *c, json_t *user, const char *facility,
			  struct ss_member *out);
/* The facility a User of the single endpoint carries (NULL: none). */
const char *scim_user_facility(const struct scim_conf *c, json_t *user);
const char *scim_user_email(json_t *user);
const char *scim_user_external_id(json_t *user);
const char *scim_user_id(json_t *user);
bool scim_user_active(json_t *user);
enum ss_status scim_user_status(const struct scim_conf *c, json_t *user);
/* A PatchOp request writing fields (SS_FIELD_*) of m; facility written too
 * when set (single endpoint); set_external_id for adoption. */
json_t *scim_patch_fields(const struct scim_conf *c, const struct ss_member *m, unsigned fields,
			  const char *facility, bool set_external_id);
/* A PatchOp request setting active and the account status. */
json_t *scim_patch_status(const struct scim_conf *c, const struct ss_member *m, enum ss_status status);

/* -------------------------------------------------------------- index --- */

struct scim_index;
int scim_index_new(struct scim_index **ret);
void scim_index_free(struct scim_index *x);
/* Add or replace a User (takes a reference); facility NULL/"" for users of
 * the single endpoint that carry none. */
int scim_index_put(struct scim_index *x, const char *facility, json_t *user);
/* Forget a User (the one stored under its id in facility). */
void scim_index_remove(struct scim_index *x, const char *facility, json_t *user);
json_t *scim_index_by_external_id(struct scim_index *x, const char *facility, const char *external_id);
/* A User whose email matches (case-insensitively) and whose externalId
 * differs from external_id (or is absent). */
json_t *scim_index_by_email(struct scim_index *x, const char *facility, const char *email,
			    const char *external_id);
/* The same for the userName (case-insensitively). */
json_t *scim_index_by_username(struct scim_index *x, const char *facility, const char *username,
			       const char *external_id);
/* The User with this SCIM id in facility. */
json_t *scim_index_by_id(struct scim_index *x, const char *facility, const char *id);
size_t scim_index_size(const struct scim_index *x);
