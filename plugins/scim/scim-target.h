/* SPDX-License-Identifier: MIT */
/* The SCIM target's instance and its operations in flight, shared by
 * scim.c (connection, listing, lookups, the plugin descriptor) and
 * scim-ops.c (the requests of each operation and their answers). */
#pragma once

#include "scim.h"

/* Creates per Bulk request at most, whatever the provider allows: a Bulk
 * that fails is sent again one create at a time. */
#define BULK_MAX_OPERATIONS 100

struct op_ctx;

struct scim_target {
	const struct ss_host *host;
	struct scim_conf conf;
	bool connected, read_only;
	struct scim_http *http;
	struct scim_index *index;
	struct scim_endpoint **eps;    /* per facility, or the single one at [0] */
	size_t n_eps;
	json_t *busy;                  /* person -> operations of theirs in flight */
	json_t *deferred;              /* persons with an operation left for the next run */
	struct op_ctx *blocked, *blocked_tail;
	unsigned long lists_pending;
	int list_error;
	char list_why[512];
};

enum stage {
	STAGE_PATCH,         /* the one PATCH of the operation (the default) */
	STAGE_POST,          /* create the User */
	STAGE_PROBE,         /* did an interrupted POST create it? */
	STAGE_MOVE_IN,       /* move between endpoints: the User in the new one */
	STAGE_MOVE_OUT,      /* ... then deactivate the old one */
	STAGE_INVITE_REQUEST,   /* the platform's invite call, after the status PATCH */
};

struct op_ctx {
	struct scim_target *t;
	const struct ss_op *op;
	ss_applied_fn done;
	void *userdata;
	struct scim_endpoint *ep;
	enum stage stage;
	json_t *user;            /* the User the operation changes (a reference) */
	const char *facility;    /* the index's facility of the result */
	unsigned attempts;       /* of this stage, across probe and post */
	char *conflict;          /* a POST's 409, while searching for a User made by an earlier attempt */
	bool no_bulk;            /* its Bulk failed: alone from now on */
	struct op_ctx *next;     /* blocked behind an operation of the same person */
};

struct scim_bulk_batch {
	struct scim_endpoint *ep;
	size_t n;
	struct op_ctx *ops[BULK_MAX_OPERATIONS];
	json_t *bodies[BULK_MAX_OPERATIONS];
};

/* scim.c */
struct scim_endpoint *scim_endpoint_of(struct scim_target *t, const char *facility);
json_t *scim_find_user(struct scim_target *t, const char *facility, const char *external_id);

/* scim-ops.c */
const char *scim_op_person(const struct ss_op *op);
void scim_op_start(struct op_ctx *o);
int scim_bulk_send(struct scim_target *t, struct scim_endpoint *ep);
void scim_batch_free(struct scim_bulk_batch *b);
