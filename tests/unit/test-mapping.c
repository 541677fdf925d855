/* SPDX-License-Identifier: MIT */
/* Mapping: facility routing, role rules, permission levels and the reasons
 * a record is held (semantics: "Mapping" and the holds). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "domain.h"
#include "fixtures.h"
#include "mapping.h"
#include "util.h"

/* Two surgical facilities, one clinic; rules for both vocabularies. */
#define SITES \
	"facilities:\n" \
	"  - id: north\n" \
	"    platform: surgical\n" \
	"    match: { facility: [North, N] }\n" \
	"  - id: south\n" \
	"    platform: surgical\n" \
	"    match: { facility: South }\n" \
	"  - id: east\n" \
	"    platform: clinic\n" \
	"    match: { facility: East }\n"

#define RULES \
	"roles:\n" \
	"  - { role: Surgeon, groups: [surgeons] }\n" \
	"  - { role: Doctor, groups: [physicians] }\n" \
	"  - { role: Personnel, label: Lab, groups: [lab] }\n" \
	"  - { role: Nurse, groups: [nurses] }\n" \
	"  - { role: Admin, groups: [admins], facilities: [south] }\n" \
	"  - { role: Tech }\n"

#define LEVELS \
	"permissions:\n" \
	"  levels:\n" \
	"    Coordinator: [coordinators]\n" \
	"    Facility Admin: [facility-admins]\n"

struct fx {
	struct config *cfg;
	struct mapping m;
};

/* Replace the test's configuration (teardown frees it). */
static struct config *use(struct fx *f, const char *yaml)
{
	mapping_clear(&f->m);
	config_free(f->cfg);
	f->cfg = NULL;
	f->cfg = fx_config(yaml);
	return f->cfg;
}

static int setup_one(void **ts)
{
	struct fx *f = calloc(1, sizeof *f);
	f->cfg = fx_config(SITES RULES LEVELS);
	*ts = f;
	return 0;
}

static int setup_many(void **ts)
{
	struct fx *f = calloc(1, sizeof *f);
	f->cfg = fx_config("facilities_per_person: many\n" SITES RULES LEVELS);
	*ts = f;
	return 0;
}

static int teardown(void **ts)
{
	struct fx *f = *ts;
	mapping_clear(&f->m);
	config_free(f->cfg);
	free(f);
	return 0;
}

/* The record maps to exactly one facility, without any hold. */
static const struct desired *only(const struct mapping *m, const char *facility)
{
	assert_null(m->hold);
	assert_int_equal(m->n, 1);
	assert_string_equal(m->d[0].facility->id, facility);
	return &m->d[0];
}

static const struct desired *in_facility(const struct mapping *m, const char *facility)
{
	for (size_t i = 0; i < m->n; i++)
		if (streq(m->d[i].facility->id, facility))
			return &m->d[i];
	return NULL;
}

static struct ss_record staff(const char *id, const char *const *hints, const char *const *groups)
{
	struct ss_record r = fx_record(id, "Ann", "Lee", "ann.lee@example.org");
	r.facilities = hints;
	r.groups = groups;
	return r;
}

/* ---------------------------------------------------------- routing --- */

static void route_by_facility_case_insensitive(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("NORTH"), FX_LIST("nurses"));
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "north");
	mapping_clear(&f->m);

	/* The second value of the list, in another case. */
	r.facilities = FX_LIST("n");
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "north");
	mapping_clear(&f->m);

	r.facilities = FX_LIST("South");
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "south");
}

static void route_by_any_facility_hint(void **ts)
{
	struct fx *f = *ts;
	/* A record may carry several hints: one matching is enough. */
	struct ss_record r = staff("p1", FX_LIST("Elsewhere", "south"), FX_LIST("nurses"));
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "south");
}

static void route_by_facility_is_not_a_substring_match(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("Northwest"), FX_LIST("nurses"));
	fx_map(f->cfg, &r, &f->m);
	assert_non_null(f->m.hold);
	assert_int_equal(f->m.n, 0);
}

static void route_by_group(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n"
		"  - { id: ward-a, match: { group: [ward-a, ward-a2] } }\n"
		"  - { id: ward-b, match: { group: ward-b } }\n"
		"roles:\n  - role: Nurse\n");
	struct ss_record r = staff("p1", NULL, FX_LIST("staff", "ward-b"));
	fx_map(cfg, &r, &f->m);
	only(&f->m, "ward-b");
	mapping_clear(&f->m);

	r.groups = FX_LIST("ward-a2");
	fx_map(cfg, &r, &f->m);
	only(&f->m, "ward-a");
	mapping_clear(&f->m);

	r.groups = FX_LIST("ward-c");
	fx_map(cfg, &r, &f->m);
	assert_non_null(f->m.hold);
	mapping_clear(&f->m);
}

static void route_by_dn_suffix(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n"
		"  - { id: north, match: { dn_suffix: 'ou=North,dc=example,dc=org' } }\n"
		"  - { id: south, match: { dn_suffix: 'ou=South,dc=example,dc=org' } }\n"
		"roles:\n  - role: Nurse\n");
	struct ss_record r = staff("p1", NULL, NULL);
	r.dn = "cn=Ann Lee,ou=South,dc=example,dc=org";
	fx_map(cfg, &r, &f->m);
	only(&f->m, "south");
	mapping_clear(&f->m);

	/* DNs compare case-insensitively. */
	r.dn = "CN=Ann Lee,OU=NORTH,DC=EXAMPLE,DC=ORG";
	fx_map(cfg, &r, &f->m);
	only(&f->m, "north");
	mapping_clear(&f->m);

	/* No DN (a CSV record): no dn_suffix match. */
	r.dn = NULL;
	fx_map(cfg, &r, &f->m);
	assert_non_null(f->m.hold);
	assert_int_equal(f->m.n, 0);
	mapping_clear(&f->m);
}

static void route_needs_every_key(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n"
		"  - id: north-theatre\n"
		"    match: { facility: North, group: theatre, dn_suffix: 'dc=example,dc=org' }\n"
		"roles:\n  - role: Nurse\n");
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("theatre"));
	r.dn = "cn=p1,dc=example,dc=org";
	fx_map(cfg, &r, &f->m);
	only(&f->m, "north-theatre");
	mapping_clear(&f->m);

	/* Each key missing in turn: the facility does not match. */
	r.groups = FX_LIST("ward");
	fx_map(cfg, &r, &f->m);
	assert_int_equal(f->m.n, 0);
	assert_non_null(f->m.hold);
	mapping_clear(&f->m);

	r.groups = FX_LIST("theatre");
	r.facilities = FX_LIST("South");
	fx_map(cfg, &r, &f->m);
	assert_int_equal(f->m.n, 0);
	mapping_clear(&f->m);

	r.facilities = FX_LIST("North");
	r.dn = "cn=p1,dc=other,dc=org";
	fx_map(cfg, &r, &f->m);
	assert_int_equal(f->m.n, 0);
	mapping_clear(&f->m);
}

#define OVERLAP \
	"facilities:\n" \
	"  - { id: north, match: { facility: North } }\n" \
	"  - { id: pool, match: { group: float-pool } }\n" \
	"  - { id: south, match: { facility: South } }\n" \
	"roles:\n  - role: Nurse\n"

static void one_facility_per_person_takes_the_first(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f, OVERLAP);
	struct ss_record r = staff("p1", FX_LIST("South", "North"), FX_LIST("float-pool"));
	fx_map(cfg, &r, &f->m);
	/* The first facility in the configuration's order, not the record's. */
	only(&f->m, "north");
	mapping_clear(&f->m);
}

static void many_facilities_per_person_takes_each(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f, "facilities_per_person: many\n" OVERLAP);
	struct ss_record r = staff("p1", FX_LIST("South", "North"), FX_LIST("float-pool"));
	fx_map(cfg, &r, &f->m);
	assert_null(f->m.hold);
	assert_int_equal(f->m.n, 3);
	assert_string_equal(f->m.d[0].facility->id, "north");
	assert_string_equal(f->m.d[1].facility->id, "pool");
	assert_string_equal(f->m.d[2].facility->id, "south");
	for (size_t i = 0; i < f->m.n; i++) {
		assert_null(f->m.d[i].hold);
		assert_int_equal(f->m.d[i].role, SS_ROLE_NURSE);
	}
	mapping_clear(&f->m);
}

static void no_facility_is_held(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("Atlantis"), FX_LIST("nurses"));
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(f->m.n, 0);
	assert_non_null(f->m.hold);
	assert_non_null(strstr(f->m.hold, "no facility matches"));
	assert_non_null(strstr(f->m.hold, "Atlantis"));
	mapping_clear(&f->m);

	r.facilities = NULL;
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(f->m.n, 0);
	assert_non_null(f->m.hold);
}

/* ------------------------------------------------------------ roles --- */

static void first_matching_rule_wins(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("nurses", "surgeons"));
	fx_map(f->cfg, &r, &f->m);
	/* Surgeon is listed before Nurse in the rules, whatever the group order. */
	assert_int_equal(only(&f->m, "north")->role, SS_ROLE_SURGEON);
	mapping_clear(&f->m);

	r.groups = FX_LIST("nurses");
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->role, SS_ROLE_NURSE);
	mapping_clear(&f->m);

	/* A rule without groups matches everyone left. */
	r.groups = NULL;
	fx_map(f->cfg, &r, &f->m);
	const struct desired *d = only(&f->m, "north");
	assert_int_equal(d->role, SS_ROLE_TECH);
	assert_null(d->hold);
}

static void no_rule_matches_is_held(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n  - { id: north, match: { facility: North } }\n"
		"roles:\n"
		"  - { role: Surgeon, groups: [surgeons] }\n"
		"  - { role: Nurse, groups: [nurses] }\n");
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("porters"));
	fx_map(cfg, &r, &f->m);
	assert_int_equal(f->m.n, 1);
	assert_non_null(f->m.d[0].hold);
	assert_non_null(strstr(f->m.d[0].hold, "no role rule matches"));
	mapping_clear(&f->m);
}

static void rule_limited_to_facilities(void **ts)
{
	struct fx *f = *ts;
	/* Admin applies in south only: elsewhere the next rule (Tech) wins. */
	struct ss_record r = staff("p1", FX_LIST("South"), FX_LIST("admins"));
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "south")->role, SS_ROLE_ADMIN);
	mapping_clear(&f->m);

	r.facilities = FX_LIST("North");
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->role, SS_ROLE_TECH);
}

static void rule_limited_to_facilities_in_many_mode(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North", "South"), FX_LIST("admins"));
	fx_map(f->cfg, &r, &f->m);
	assert_null(f->m.hold);
	assert_int_equal(f->m.n, 2);
	assert_int_equal(in_facility(&f->m, "north")->role, SS_ROLE_TECH);
	assert_int_equal(in_facility(&f->m, "south")->role, SS_ROLE_ADMIN);
}

static void rule_skipped_where_the_platform_lacks_the_role(void **ts)
{
	struct fx *f = *ts;
	/* A surgeon who also practises in a clinic: Surgeon does not exist on
	 * the clinic platform, so the clinic gets the next matching rule. */
	struct ss_record r = staff("p1", FX_LIST("North", "East"), FX_LIST("surgeons", "physicians"));
	r.speciality = "Orthopaedics";
	fx_map(f->cfg, &r, &f->m);
	assert_null(f->m.hold);
	assert_int_equal(f->m.n, 2);
	assert_int_equal(in_facility(&f->m, "north")->role, SS_ROLE_SURGEON);
	const struct desired *east = in_facility(&f->m, "east");
	assert_non_null(east);
	assert_int_equal(east->role, SS_ROLE_DOCTOR);
	assert_null(east->hold);
}

static void clinic_without_a_rule_for_its_platform_is_held_there(void **ts)
{
	struct fx *f = *ts;
	/* Only surgical rules match this nurse; in the clinic, Nurse does not
	 * exist and Tech neither: held there, kept in north. */
	struct ss_record r = staff("p1", FX_LIST("North", "East"), FX_LIST("nurses"));
	fx_map(f->cfg, &r, &f->m);
	assert_null(f->m.hold);
	assert_int_equal(f->m.n, 2);
	const struct desired *north = in_facility(&f->m, "north");
	const struct desired *east = in_facility(&f->m, "east");
	assert_null(north->hold);
	assert_int_equal(north->role, SS_ROLE_NURSE);
	assert_non_null(east->hold);
	assert_non_null(strstr(east->hold, "east"));
}

static void doctor_without_speciality_is_held_without_falling_through(void **ts)
{
	struct fx *f = *ts;
	/* In physicians and lab: the Doctor rule matches first; without a
	 * speciality the person is held, not made Personnel by the later rule. */
	struct ss_record r = staff("p1", FX_LIST("East"), FX_LIST("physicians", "lab"));
	fx_map(f->cfg, &r, &f->m);
	const struct desired *d = only(&f->m, "east");
	assert_non_null(d->hold);
	assert_non_null(strstr(d->hold, "speciality"));
	assert_int_equal(d->role, SS_ROLE_DOCTOR);
	mapping_clear(&f->m);

	/* An empty speciality is no speciality. */
	r.speciality = "";
	fx_map(f->cfg, &r, &f->m);
	assert_non_null(only(&f->m, "east")->hold);
	mapping_clear(&f->m);

	r.speciality = "Cardiology";
	fx_map(f->cfg, &r, &f->m);
	d = only(&f->m, "east");
	assert_null(d->hold);
	assert_int_equal(d->role, SS_ROLE_DOCTOR);
}

static void requires_other_fields(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n  - { id: north, match: { facility: North } }\n"
		"roles:\n"
		"  - { role: Surgeon, groups: [surgeons], requires: [email, employee_id] }\n"
		"  - { role: Nurse }\n");
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("surgeons"));
	r.employee_id = "E-17";
	r.email = NULL;
	fx_map(cfg, &r, &f->m);
	assert_int_equal(f->m.n, 1);
	assert_non_null(f->m.d[0].hold);
	assert_non_null(strstr(f->m.d[0].hold, "email"));
	mapping_clear(&f->m);

	r.email = "ann@example.org";
	r.employee_id = NULL;
	fx_map(cfg, &r, &f->m);
	assert_non_null(f->m.d[0].hold);
	assert_non_null(strstr(f->m.d[0].hold, "employee_id"));
	mapping_clear(&f->m);

	r.employee_id = "E-17";
	fx_map(cfg, &r, &f->m);
	assert_null(only(&f->m, "north")->hold);
	assert_int_equal(f->m.d[0].role, SS_ROLE_SURGEON);
	mapping_clear(&f->m);
}

static void personnel_carries_its_label(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("East"), FX_LIST("lab"));
	fx_map(f->cfg, &r, &f->m);
	const struct desired *d = only(&f->m, "east");
	assert_int_equal(d->role, SS_ROLE_PERSONNEL);
	assert_string_equal(d->label, "Lab");
	struct ss_member want = mapping_member(&r, d);
	assert_string_equal(want.role, "Personnel");
	assert_string_equal(want.label, "Lab");
}

/* ------------------------------------------------------ permissions --- */

static void permission_highest_level_wins(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North"),
				   FX_LIST("facility-admins", "coordinators"));
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_FACILITY_ADMIN);
	mapping_clear(&f->m);

	r.groups = FX_LIST("nurses", "coordinators");
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_COORDINATOR);
	mapping_clear(&f->m);

	/* No level group: the default, Staff. */
	r.groups = FX_LIST("nurses");
	fx_map(f->cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_STAFF);
}

static void permission_default_is_configurable(void **ts)
{
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n  - { id: north, match: { facility: North } }\n"
		"roles:\n  - role: Nurse\n"
		"permissions:\n"
		"  default: Coordinator\n"
		"  levels: { Facility Admin: [facility-admins] }\n");
	struct ss_record r = staff("p1", FX_LIST("North"), NULL);
	fx_map(cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_COORDINATOR);
	mapping_clear(&f->m);

	r.groups = FX_LIST("facility-admins");
	fx_map(cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_FACILITY_ADMIN);
	mapping_clear(&f->m);
}

static void global_admin_only_with_allow_global_admin(void **ts)
{
	/* The configuration refuses a Global Admin group unless allowed, so it
	 * is loaded allowed and the flag is switched off afterwards: the
	 * mapping must still refuse on its own. */
	struct fx *f = *ts;
	struct config *cfg = use(f,
		"facilities:\n  - { id: north, match: { facility: North } }\n"
		"roles:\n  - role: Nurse\n"
		"permissions:\n"
		"  allow_global_admin: true\n"
		"  levels: { Coordinator: [coordinators], Global Admin: [global-admins] }\n");
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("coordinators", "global-admins"));
	fx_map(cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_GLOBAL_ADMIN);
	mapping_clear(&f->m);

	cfg->permissions.allow_global_admin = false;
	fx_map(cfg, &r, &f->m);
	assert_non_null(f->m.hold);
	assert_non_null(strstr(f->m.hold, "allow_global_admin"));
	assert_int_equal(f->m.n, 0);
	mapping_clear(&f->m);

	/* Not in the Global Admin group: unaffected. */
	r.groups = FX_LIST("coordinators");
	fx_map(cfg, &r, &f->m);
	assert_int_equal(only(&f->m, "north")->level, SS_LEVEL_COORDINATOR);
	mapping_clear(&f->m);
}

/* ------------------------------------------------- record problems --- */

static void held_record(struct fx *f, const struct ss_record *r, const char *reason_part)
{
	fx_map(f->cfg, r, &f->m);
	assert_non_null(f->m.hold);
	if (!strstr(f->m.hold, reason_part))
		fail_msg("hold reason '%s' lacks '%s'", f->m.hold, reason_part);
	assert_int_equal(f->m.n, 0);
	mapping_clear(&f->m);
}

static void bad_record_is_held_with_its_error(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("nurses"));
	r.error = "row 17: 5 fields, the header has 7";
	held_record(f, &r, "row 17: 5 fields");
}

static void record_without_id_is_held(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff(NULL, FX_LIST("North"), FX_LIST("nurses"));
	held_record(f, &r, "id");
	r.id = "";
	held_record(f, &r, "id");
}

static void record_without_names_is_held(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("nurses"));
	r.given_name = NULL;
	held_record(f, &r, "given_name");
	r.given_name = "";
	held_record(f, &r, "given_name");
	r.given_name = "Ann";
	r.family_name = NULL;
	held_record(f, &r, "family_name");
}

static void invalid_email_is_held(void **ts)
{
	struct fx *f = *ts;
	static const char *const bad[] = {
		"ann.example.org", "ann@", "@example.org", "ann@@example.org",
		"ann lee@example.org", "ann@example", "ann@example.org.", "",
	};
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("nurses"));
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		r.email = bad[i];
		fx_map(f->cfg, &r, &f->m);
		if (!f->m.hold)
			fail_msg("email '%s' was accepted", bad[i]);
		assert_non_null(strstr(f->m.hold, "email"));
		mapping_clear(&f->m);
	}
	/* Mixed case and plus addressing are fine; no email at all too. */
	r.email = "Ann.Lee+theatre@Example.ORG";
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "north");
	mapping_clear(&f->m);
	r.email = NULL;
	fx_map(f->cfg, &r, &f->m);
	only(&f->m, "north");
}

/* ---------------------------------------------------- mapping_member --- */

static void member_has_the_record_and_the_rule(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North"), FX_LIST("surgeons", "coordinators"));
	fx_map(f->cfg, &r, &f->m);
	struct ss_member m = mapping_member(&r, only(&f->m, "north"));
	assert_string_equal(m.facility, "north");
	assert_string_equal(m.external_id, "p1");
	assert_string_equal(m.given_name, "Ann");
	assert_string_equal(m.family_name, "Lee");
	assert_string_equal(m.email, "ann.lee@example.org");
	assert_string_equal(m.role, "Surgeon");
	assert_null(m.label);
	assert_string_equal(m.permission_level, "Coordinator");
	assert_true(m.managed);
}

static void speciality_only_kept_for_doctors(void **ts)
{
	struct fx *f = *ts;
	struct ss_record r = staff("p1", FX_LIST("North", "East"), FX_LIST("surgeons", "physicians"));
	r.speciality = "Orthopaedics";
	fx_map(f->cfg, &r, &f->m);
	struct ss_member surgeon = mapping_member(&r, in_facility(&f->m, "north"));
	struct ss_member doctor = mapping_member(&r, in_facility(&f->m, "east"));
	assert_string_equal(surgeon.role, "Surgeon");
	assert_null(surgeon.speciality);
	assert_string_equal(doctor.role, "Doctor");
	assert_string_equal(doctor.speciality, "Orthopaedics");
}

/* ------------------------------------------------------------ trace --- */

static void explain_trace_receives_the_decisions(void **ts)
{
	struct fx *f = *ts;
	struct fx_trace t = {0};
	struct mapping_trace tr = fx_trace(&t);
	struct ss_record r = staff("p1", FX_LIST("South"), FX_LIST("nurses", "coordinators"));
	assert_int_equal(mapping_map(f->cfg, &r, &f->m, &tr), 0);
	only(&f->m, "south");
	assert_true(t.n >= 4);
	assert_true(fx_trace_has(&t, "permission level: Coordinator"));
	assert_true(fx_trace_has(&t, "facility north: match does not hold"));
	assert_true(fx_trace_has(&t, "facility south: match holds"));
	/* Rules are named by number and line (the fixture adds two lines of
	 * sources before the snippet: rule 1 is on line 14). */
	assert_true(fx_trace_has(&t, "rule 1 (Surgeon, line 14): no group matches"));
	assert_true(fx_trace_has(&t, "(Nurse"));
	assert_true(fx_trace_has(&t, "matches"));
	fx_trace_free(&t);
	mapping_clear(&f->m);

	/* A held record says why in the trace too. */
	tr = fx_trace(&t);
	r.facilities = FX_LIST("Atlantis");
	assert_int_equal(mapping_map(f->cfg, &r, &f->m, &tr), 0);
	assert_non_null(f->m.hold);
	assert_true(fx_trace_has(&t, "no facility matches"));
	fx_trace_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(route_by_facility_case_insensitive, setup_one, teardown),
		cmocka_unit_test_setup_teardown(route_by_any_facility_hint, setup_one, teardown),
		cmocka_unit_test_setup_teardown(route_by_facility_is_not_a_substring_match, setup_one, teardown),
		cmocka_unit_test_setup_teardown(route_by_group, setup_one, teardown),
		cmocka_unit_test_setup_teardown(route_by_dn_suffix, setup_one, teardown),
		cmocka_unit_test_setup_teardown(route_needs_every_key, setup_one, teardown),
		cmocka_unit_test_setup_teardown(one_facility_per_person_takes_the_first, setup_one, teardown),
		cmocka_unit_test_setup_teardown(many_facilities_per_person_takes_each, setup_one, teardown),
		cmocka_unit_test_setup_teardown(no_facility_is_held, setup_one, teardown),
		cmocka_unit_test_setup_teardown(first_matching_rule_wins, setup_one, teardown),
		cmocka_unit_test_setup_teardown(no_rule_matches_is_held, setup_one, teardown),
		cmocka_unit_test_setup_teardown(rule_limited_to_facilities, setup_one, teardown),
		cmocka_unit_test_setup_teardown(rule_limited_to_facilities_in_many_mode, setup_many, teardown),
		cmocka_unit_test_setup_teardown(rule_skipped_where_the_platform_lacks_the_role, setup_many, teardown),
		cmocka_unit_test_setup_teardown(clinic_without_a_rule_for_its_platform_is_held_there, setup_many, teardown),
		cmocka_unit_test_setup_teardown(doctor_without_speciality_is_held_without_falling_through, setup_one, teardown),
		cmocka_unit_test_setup_teardown(requires_other_fields, setup_one, teardown),
		cmocka_unit_test_setup_teardown(personnel_carries_its_label, setup_one, teardown),
		cmocka_unit_test_setup_teardown(permission_highest_level_wins, setup_one, teardown),
		cmocka_unit_test_setup_teardown(permission_default_is_configurable, setup_one, teardown),
		cmocka_unit_test_setup_teardown(global_admin_only_with_allow_global_admin, setup_one, teardown),
		cmocka_unit_test_setup_teardown(bad_record_is_held_with_its_error, setup_one, teardown),
		cmocka_unit_test_setup_teardown(record_without_id_is_held, setup_one, teardown),
		cmocka_unit_test_setup_teardown(record_without_names_is_held, setup_one, teardown),
		cmocka_unit_test_setup_teardown(invalid_email_is_held, setup_one, teardown),
		cmocka_unit_test_setup_teardown(member_has_the_record_and_the_rule, setup_one, teardown),
		cmocka_unit_test_setup_teardown(speciality_only_kept_for_doctors, setup_many, teardown),
		cmocka_unit_test_setup_teardown(explain_trace_receives_the_decisions, setup_one, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
