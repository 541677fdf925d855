/* SPDX-License-Identifier: MIT */
/*
 * The SCIM target's pure parts: the User mapping both ways (extension and
 * standard schemas), the minimal PATCH bodies, the index of listed users,
 * {facility} templates and the retry delays. (Everything that talks HTTP
 * is tested against the real server by the shell tests in tests/scim.)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "scim.h"
#include "util.h"

static const struct ss_member ada = {
	.facility = "north", .external_id = "E1", .given_name = "Ada", .family_name = "Lovelace",
	.email = "Ada@Example.org", .role = "Personnel", .label = "Lab",
	.permission_level = "Coordinator", .speciality = "Chemistry", .status = SS_STATUS_PENDING,
};

static void roundtrip(enum scim_schema schema)
{
	struct scim_conf c = { .schema = (int)schema };
	json_t *u = scim_user_json(&c, &ada, "north");
	assert_non_null(u);
	json_object_set_new(u, "id", json_string("u-1"));
	struct ss_member m;
	assert_int_equal(scim_member_from_user(&c, u, "north", &m), 0);
	assert_string_equal(m.external_id, "E1");
	assert_string_equal(m.given_name, "Ada");
	assert_string_equal(m.family_name, "Lovelace");
	assert_string_equal(m.email, "Ada@Example.org");
	assert_string_equal(m.role, "Personnel");
	assert_string_equal(m.label, "Lab");
	assert_string_equal(m.permission_level, "Coordinator");
	assert_string_equal(m.speciality, "Chemistry");
	assert_int_equal(m.status, SS_STATUS_PENDING);
	assert_string_equal(m.ref, "u-1");
	assert_true(m.managed);
	assert_string_equal(scim_user_facility(&c, u), "north");
	assert_string_equal(json_string_value(json_object_get(u, "userName")), "Ada@Example.org");
	ss_member_clear(&m);
	json_decref(u);
}

static void test_roundtrip_extension(void **state) { (void)state; roundtrip(SCIM_SCHEMA_EXTENSION); }
static void test_roundtrip_standard(void **state) { (void)state; roundtrip(SCIM_SCHEMA_STANDARD); }

static void test_no_email_user_name_is_the_id(void **state)
{
	(void)state;
	struct scim_conf c = { .schema = SCIM_SCHEMA_EXTENSION };
	struct ss_member m = ada;
	m.email = NULL;
	json_t *u = scim_user_json(&c, &m, NULL);
	assert_string_equal(json_string_value(json_object_get(u, "userName")), "E1");
	assert_null(json_object_get(u, "emails"));
	json_decref(u);
}

static void test_hand_made_user_is_active_and_unmanaged(void **state)
{
	(void)state;
	struct scim_conf c = { .schema = SCIM_SCHEMA_EXTENSION };
	json_t *u = json_pack("{s:s, s:s}", "id", "x", "userName", "eve@example.org");
	struct ss_member m;
	assert_int_equal(scim_member_from_user(&c, u, "north", &m), 0);
	assert_int_equal(m.status, SS_STATUS_ACTIVE);
	assert_false(m.managed);
	ss_member_clear(&m);
	json_object_set_new(u, "active", json_false());
	assert_int_equal(scim_user_status(&c, u), SS_STATUS_DEACTIVATED);
	json_decref(u);
}

static json_t *ops_of(json_t *patch)
{
	json_t *schemas = json_object_get(patch, "schemas");
	assert_string_equal(json_string_value(json_array_get(schemas, 0)), SCIM_PATCH_URN);
	return json_object_get(patch, "Operations");
}

static void test_patch_is_minimal(void **state)
{
	(void)state;
	struct scim_conf c = { .schema = SCIM_SCHEMA_EXTENSION };
	struct ss_member m = ada;
	m.label = NULL;
	json_t *p = scim_patch_fields(&c, &m, SS_FIELD_PERMISSION_LEVEL | SS_FIELD_LABEL, NULL, false);
	json_t *ops = ops_of(p);
	assert_int_equal(json_array_size(ops), 2);
	json_t *o0 = json_array_get(ops, 0), *o1 = json_array_get(ops, 1);
	assert_string_equal(json_string_value(json_object_get(o0, "op")), "remove");
	assert_string_equal(json_string_value(json_object_get(o0, "path")), SCIM_EXT_URN ":label");
	assert_string_equal(json_string_value(json_object_get(o1, "op")), "replace");
	assert_string_equal(json_string_value(json_object_get(o1, "path")), SCIM_EXT_URN ":permissionLevel");
	assert_string_equal(json_string_value(json_object_get(o1, "value")), "Coordinator");
	json_decref(p);
}

static void test_patch_email_changes_user_name(void **state)
{
	(void)state;
	struct scim_conf c = { .schema = SCIM_SCHEMA_STANDARD };
	json_t *p = scim_patch_fields(&c, &ada, SS_FIELD_EMAIL, NULL, true);
	json_t *ops = ops_of(p);
	assert_int_equal(json_array_size(ops), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 0), "path")), "externalId");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 1), "path")), "emails");
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 2), "path")), "userName");
	json_decref(p);
}

static void test_patch_status(void **state)
{
	(void)state;
	struct scim_conf c = { .schema = SCIM_SCHEMA_EXTENSION };
	json_t *p = scim_patch_status(&c, &ada, SS_STATUS_DEACTIVATED);
	json_t *ops = ops_of(p);
	assert_int_equal(json_array_size(ops), 2);
	assert_true(json_is_false(json_object_get(json_array_get(ops, 0), "value")));
	assert_string_equal(json_string_value(json_object_get(json_array_get(ops, 1), "value")), "deactivated");
	json_decref(p);
}

static json_t *user(const char *id, const char *ext, const char *email)
{
	json_t *u = json_pack("{s:s, s:s}", "id", id, "userName", email);
	if (ext)
		json_object_set_new(u, "externalId", json_string(ext));
	json_object_set_new(u, "emails", json_pack("[{s:s, s:b}]", "value", email, "primary", 1));
	return u;
}

static void test_index(void **state)
{
	(void)state;
	struct scim_index *x;
	assert_int_equal(scim_index_new(&x), 0);
	assert_int_equal(scim_index_put(x, "north", user("1", "E1", "Ada@Example.org")), 0);
	assert_int_equal(scim_index_put(x, "north", user("2", NULL, "eve@example.org")), 0);
	assert_int_equal(scim_index_put(x, "south", user("3", "E3", "cleo@example.org")), 0);
	assert_int_equal(scim_index_size(x), 3);
	assert_string_equal(scim_user_id(scim_index_by_external_id(x, "north", "E1")), "1");
	assert_null(scim_index_by_external_id(x, "south", "E1"));
	/* e-mail: case-insensitive; the person's own account is not "another". */
	assert_string_equal(scim_user_id(scim_index_by_email(x, "north", "ada@EXAMPLE.org", NULL)), "1");
	assert_null(scim_index_by_email(x, "north", "ada@example.org", "E1"));
	assert_string_equal(scim_user_id(scim_index_by_email(x, "north", "EVE@example.org", "E9")), "2");
	/* Replaced by id: the old e-mail no longer finds it. */
	assert_int_equal(scim_index_put(x, "north", user("1", "E1", "ada.new@example.org")), 0);
	assert_null(scim_index_by_email(x, "north", "ada@example.org", NULL));
	assert_int_equal(scim_index_size(x), 3);
	/* Moved to another facility (one endpoint). */
	json_t *u = json_incref(scim_index_by_external_id(x, "south", "E3"));
	scim_index_remove(x, "south", u);
	assert_null(scim_index_by_external_id(x, "south", "E3"));
	assert_int_equal(scim_index_put(x, "north", u), 0);
	assert_string_equal(scim_user_id(scim_index_by_external_id(x, "north", "E3")), "3");
	scim_index_free(x);
}

static void test_expand(void **state)
{
	(void)state;
	_cleanup_free_ char *a = scim_expand("https://{facility}.clinic.example/{facility}", "north");
	_cleanup_free_ char *b = scim_expand("https://one.example/scim/v2", "north");
	_cleanup_free_ char *c = scim_expand("/etc/{facility}.token", NULL);
	assert_string_equal(a, "https://north.clinic.example/north");
	assert_string_equal(b, "https://one.example/scim/v2");
	assert_string_equal(c, "/etc/.token");
	_cleanup_free_ char *d = scim_expand_id("/Users/{id}/invite", "u-42");
	_cleanup_free_ char *e = scim_expand_id("/invite", "u-42");
	assert_string_equal(d, "/Users/u-42/invite");
	assert_string_equal(e, "/invite");
}

static void test_retry_delays(void **state)
{
	(void)state;
	struct scim_conf c = { .retries = 3, .concurrency = 1 };
	struct scim_http *h;
	struct scim_endpoint ep = {0};
	assert_int_equal(scim_http_new(&c, &h), 0);
	struct scim_request rq = { .ep = &ep, .method = "POST", .curl_code = CURLE_OK };
	uint64_t d;
	rq.status = 400;
	rq.attempts = 1;
	assert_false(scim_http_retry(h, &rq, &d));        /* a person's error: never retried */
	rq.status = 429;
	rq.retry_after = 7 * SS_USEC_PER_SEC;
	assert_true(scim_http_retry(h, &rq, &d));
	assert_int_equal(d, 7 * SS_USEC_PER_SEC);         /* Retry-After wins */
	rq.status = 500;
	rq.retry_after = 0;
	for (unsigned a = 1; a <= 3; a++) {               /* 0.2 s, 0.4 s, 0.8 s, halves jittered */
		rq.attempts = a;
		assert_true(scim_http_retry(h, &rq, &d));
		uint64_t full = 200000ULL << (a - 1);
		assert_true(d >= full / 2 && d <= full);
	}
	rq.attempts = 4;
	assert_false(scim_http_retry(h, &rq, &d));        /* out of retries */
	rq.attempts = 1;
	rq.status = 0;
	rq.curl_code = CURLE_PEER_FAILED_VERIFICATION;
	assert_false(scim_http_retry(h, &rq, &d));        /* TLS: no retry helps */
	rq.curl_code = CURLE_OPERATION_TIMEDOUT;
	assert_true(scim_http_retry(h, &rq, &d));
	ep.stopped = true;
	assert_false(scim_http_retry(h, &rq, &d));        /* writing stopped */
	scim_http_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_extension),
		cmocka_unit_test(test_roundtrip_standard),
		cmocka_unit_test(test_no_email_user_name_is_the_id),
		cmocka_unit_test(test_hand_made_user_is_active_and_unmanaged),
		cmocka_unit_test(test_patch_is_minimal),
		cmocka_unit_test(test_patch_email_changes_user_name),
		cmocka_unit_test(test_patch_status),
		cmocka_unit_test(test_index),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_retry_delays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
