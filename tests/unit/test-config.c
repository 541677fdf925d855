/* SPDX-License-Identifier: MIT */
/* The configuration loader: ss_conf (conf.c) and the core configuration
 * (config.c). Errors are asserted as the exact "FILE:LINE:COLUMN: message"
 * lines --check-config prints. */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>
#include <cmocka.h>

#include "conf.h"
#include "config.h"
#include "domain.h"
#include "util.h"

#define SEC(n) ((uint64_t)(n) * USEC_PER_SEC)

/* A small valid configuration: every required key, nothing else. */
#define MINIMAL \
	"sources:\n" \
	"  - name: hr\n" \
	"    type: csv\n" \
	"    path: staff.csv\n" \
	"facilities:\n" \
	"  - id: north\n" \
	"    match: { facility: North }\n" \
	"roles:\n" \
	"  - role: Surgeon\n"

/* ------------------------------------------------------------ helpers --- */

static void dump_errors(const struct config_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		print_message("  error[%zu]: %s\n", i, e->lines[i]);
}

static bool has_line(const struct config_errors *e, const char *line)
{
	for (size_t i = 0; i < e->n; i++)
		if (streq(e->lines[i], line))
			return true;
	return false;
}

static bool has_substring(const struct config_errors *e, const char *s)
{
	for (size_t i = 0; i < e->n; i++)
		if (strstr(e->lines[i], s))
			return true;
	return false;
}

/* "FILE:" + where_what must be one of the errors. */
static void expect_error_in(const struct config_errors *e, const char *file, const char *where_what)
{
	char line[1024];
	snprintf(line, sizeof line, "%s:%s", file, where_what);
	if (!has_line(e, line)) {
		dump_errors(e);
		fail_msg("expected the error line: %s", line);
	}
}

static void expect_substring(const struct config_errors *e, const char *s)
{
	if (!has_substring(e, s)) {
		dump_errors(e);
		fail_msg("expected an error containing: %s", s);
	}
}

/* A configuration file written to $TMPDIR and loaded with config_load. */
struct loaded {
	char path[PATH_MAX];
	struct config *c;
	struct config_errors e;
	int r;
};

static void write_temp(char *path, size_t size, const char *text)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(path, size, "%s/test-config-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	size_t n = strlen(text);
	assert_int_equal(write(fd, text, n), (ssize_t)n);
	assert_int_equal(close(fd), 0);
}

static void load(struct loaded *l, const char *yaml)
{
	*l = (struct loaded){0};
	write_temp(l->path, sizeof l->path, yaml);
	l->r = config_load(l->path, &l->c, &l->e);
}

static void unload(struct loaded *l)
{
	config_free(l->c);
	config_errors_clear(&l->e);
	unlink(l->path);
}

static void expect(struct loaded *l, const char *where_what)
{
	expect_error_in(&l->e, l->path, where_what);
}

static void load_ok(struct loaded *l, const char *yaml)
{
	load(l, yaml);
	if (l->r != 0 || l->e.n != 0) {
		dump_errors(&l->e);
		fail_msg("config_load failed: %d", l->r);
	}
	assert_non_null(l->c);
}

/* The configuration must fail with exactly this one error. */
static void load_one_error(const char *yaml, const char *where_what)
{
	struct loaded l;
	load(&l, yaml);
	assert_int_equal(l.r, -EINVAL);
	assert_non_null(l.c);
	expect(&l, where_what);
	if (l.e.n != 1) {
		dump_errors(&l.e);
		fail_msg("expected one error, got %zu", l.e.n);
	}
	unload(&l);
}

/* ------------------------------------------------- whole configuration --- */

static const char full_config[] =
	"state_dir: /srv/staffsync/state\n"                        /* 1 */
	"plugin_dir: /usr/lib/staffsync/plugins\n"
	"schedule:\n"
	"  interval: 10m\n"
	"  full_every: 12h\n"                                      /* 5 */
	"  jitter: 5s\n"
	"sources:\n"
	"  - name: hr\n"
	"    type: csv\n"
	"    path: /srv/hr/staff.csv\n"                            /* 10 */
	"  - name: corp\n"
	"    type: ldap\n"
	"    uri: ldap://127.0.0.1\n"
	"target:\n"
	"  type: scim\n"                                           /* 15 */
	"  base_url: https://{facility}.clinic.example/scim/v2\n"
	"facilities_per_person: many\n"
	"facilities:\n"
	"  - id: north\n"
	"    name: North Campus\n"                                 /* 20 */
	"    platform: surgical\n"
	"    match: { facility: [North, N] }\n"
	"  - id: south\n"
	"    platform: clinic\n"
	"    match:\n"                                             /* 25 */
	"      group: south-staff\n"
	"      dn_suffix: [\"OU=South,DC=example,DC=org\"]\n"
	"roles:\n"
	"  - { role: Surgeon, groups: [surgeons], facilities: [north] }\n"
	"  - { role: doctor, groups: [physicians], requires: [email] }\n"   /* 30 */
	"  - { role: Personnel, label: Lab, groups: [lab], requires: [given_name, family_name, employee_id] }\n"
	"  - { role: Admin }\n"
	"permissions:\n"
	"  default: Coordinator\n"
	"  levels:\n"                                              /* 35 */
	"    Coordinator: [coordinators]\n"
	"    Facility Admin: facility-admins\n"
	"    Global Admin: [global-admins]\n"
	"  allow_global_admin: true\n"
	"accounts:\n"                                              /* 40 */
	"  invite_on_create: false\n"
	"  invite_delay: never\n"
	"  resend_after: 3d\n"
	"  max_resends: 5\n"
	"  invite_delivery: smtp\n"                                /* 45 */
	"  smtp:\n"
	"    url: smtp://mail.example.org:587\n"
	"leavers:\n"
	"  grace_runs: 3\n"
	"  max_deactivations: [5%, 200]\n"                         /* 50 */
	"  max_shrink: 20%\n";

static void test_full_config(void **state)
{
	struct loaded l;
	load_ok(&l, full_config);
	const struct config *c = l.c;

	assert_string_equal(c->file, l.path);
	assert_string_equal(c->state_dir, "/srv/staffsync/state");
	assert_string_equal(conf_state_dir(c->conf), "/srv/staffsync/state");
	assert_string_equal(c->plugin_dir, "/usr/lib/staffsync/plugins");

	assert_int_equal(c->schedule.interval, SEC(600));
	assert_int_equal(c->schedule.full_every, SEC(12 * 3600));
	assert_int_equal(c->schedule.jitter, SEC(5));

	assert_int_equal(c->n_sources, 2);
	assert_string_equal(c->sources[0].name, "hr");
	assert_string_equal(c->sources[0].type, "csv");
	assert_non_null(c->sources[0].node);
	assert_int_equal(c->sources[0].node->start_mark.line + 1, 8);
	const yaml_node_t *p = conf_get(c->conf, c->sources[0].node, "path");
	assert_non_null(p);
	assert_string_equal((const char *)p->data.scalar.value, "/srv/hr/staff.csv");
	assert_string_equal(c->sources[1].name, "corp");
	assert_string_equal(c->sources[1].type, "ldap");
	assert_null(c->sources[1].plugin);

	assert_string_equal(c->target.name, "target");
	assert_string_equal(c->target.type, "scim");
	assert_non_null(conf_get(c->conf, c->target.node, "base_url"));

	assert_int_equal(c->facilities_per_person, CFG_FACILITIES_MANY);
	assert_int_equal(c->n_facilities, 2);
	const struct cfg_facility *n = &c->facilities[0], *s = &c->facilities[1];
	assert_string_equal(n->id, "north");
	assert_string_equal(n->name, "North Campus");
	assert_int_equal(n->platform, SS_PLATFORM_SURGICAL);
	assert_int_equal(strv_length(n->match_facility), 2);
	assert_string_equal(n->match_facility[0], "North");
	assert_string_equal(n->match_facility[1], "N");
	assert_null(n->match_group);
	assert_null(n->match_dn_suffix);
	assert_string_equal(s->id, "south");
	assert_string_equal(s->name, "south");
	assert_int_equal(s->platform, SS_PLATFORM_CLINIC);
	assert_null(s->match_facility);
	assert_int_equal(strv_length(s->match_group), 1);
	assert_string_equal(s->match_group[0], "south-staff");
	assert_string_equal(s->match_dn_suffix[0], "OU=South,DC=example,DC=org");
	assert_ptr_equal(config_facility(c, "south"), s);
	assert_null(config_facility(c, "west"));

	assert_int_equal(c->n_roles, 4);
	assert_int_equal(c->roles[0].role, SS_ROLE_SURGEON);
	assert_string_equal(c->roles[0].groups[0], "surgeons");
	assert_string_equal(c->roles[0].facilities[0], "north");
	assert_null(c->roles[0].facilities[1]);
	assert_int_equal(c->roles[0].requires, 0);
	assert_int_equal(c->roles[0].line, 29);
	assert_int_equal(c->roles[1].role, SS_ROLE_DOCTOR);
	assert_null(c->roles[1].facilities);
	assert_int_equal(c->roles[1].requires, SS_REQ_EMAIL | SS_REQ_SPECIALITY);
	assert_int_equal(c->roles[1].line, 30);
	assert_int_equal(c->roles[2].role, SS_ROLE_PERSONNEL);
	assert_string_equal(c->roles[2].label, "Lab");
	assert_int_equal(c->roles[2].requires,
			 SS_REQ_GIVEN_NAME | SS_REQ_FAMILY_NAME | SS_REQ_EMPLOYEE_ID);
	assert_int_equal(c->roles[3].role, SS_ROLE_ADMIN);
	assert_null(c->roles[3].groups);
	assert_null(c->roles[3].label);

	assert_int_equal(c->permissions.default_level, SS_LEVEL_COORDINATOR);
	assert_true(c->permissions.allow_global_admin);
	assert_null(c->permissions.levels[SS_LEVEL_STAFF]);
	assert_string_equal(c->permissions.levels[SS_LEVEL_COORDINATOR][0], "coordinators");
	assert_string_equal(c->permissions.levels[SS_LEVEL_FACILITY_ADMIN][0], "facility-admins");
	assert_string_equal(c->permissions.levels[SS_LEVEL_GLOBAL_ADMIN][0], "global-admins");

	assert_false(c->accounts.invite_on_create);
	assert_true(c->accounts.invite_delay == DURATION_NEVER);
	assert_int_equal(c->accounts.resend_after, SEC(3 * 86400));
	assert_int_equal(c->accounts.max_resends, 5);
	assert_int_equal(c->accounts.invite_delivery, CFG_INVITE_SMTP);
	assert_non_null(conf_get(c->conf, c->accounts.smtp, "url"));

	assert_int_equal(c->leavers.grace_runs, 3);
	assert_true(c->leavers.max_deactivations.percent == 5.0);
	assert_int_equal(c->leavers.max_deactivations.count, 200);
	assert_true(c->leavers.max_shrink > 0.1999 && c->leavers.max_shrink < 0.2001);
	unload(&l);
}

static void test_defaults(void **state)
{
	struct loaded l;
	load_ok(&l, MINIMAL);
	const struct config *c = l.c;
	assert_string_equal(c->state_dir, "/var/lib/staffsync");
	assert_string_equal(conf_state_dir(c->conf), "/var/lib/staffsync");
	assert_null(c->plugin_dir);
	assert_int_equal(c->schedule.interval, SEC(15 * 60));
	assert_int_equal(c->schedule.full_every, SEC(24 * 3600));
	assert_int_equal(c->schedule.jitter, SEC(30));
	assert_string_equal(c->target.name, "target");
	assert_string_equal(c->target.type, "sqlite");
	assert_null(c->target.node);
	assert_int_equal(c->facilities_per_person, CFG_FACILITIES_ONE);
	assert_string_equal(c->facilities[0].name, "north");
	assert_int_equal(c->facilities[0].platform, SS_PLATFORM_ANY);
	assert_int_equal(c->roles[0].line, 9);
	assert_null(c->roles[0].groups);
	assert_null(c->roles[0].facilities);
	assert_int_equal(c->permissions.default_level, SS_LEVEL_STAFF);
	assert_false(c->permissions.allow_global_admin);
	for (int i = 0; i < _SS_LEVEL_MAX; i++)
		assert_null(c->permissions.levels[i]);
	assert_true(c->accounts.invite_on_create);
	assert_int_equal(c->accounts.invite_delay, SEC(86400));
	assert_int_equal(c->accounts.resend_after, SEC(7 * 86400));
	assert_int_equal(c->accounts.max_resends, 2);
	assert_int_equal(c->accounts.invite_delivery, CFG_INVITE_PLATFORM);
	assert_null(c->accounts.smtp);
	assert_int_equal(c->leavers.grace_runs, 2);
	assert_true(c->leavers.max_deactivations.percent == 10.0);
	assert_int_equal(c->leavers.max_deactivations.count, 500);
	assert_true(c->leavers.max_shrink > 0.0999 && c->leavers.max_shrink < 0.1001);
	unload(&l);
}

static void test_empty_sections_take_defaults(void **state)
{
	struct loaded l;
	load_ok(&l, MINIMAL "schedule:\ntarget:\npermissions: ~\naccounts:\nleavers:\n");
	assert_int_equal(l.c->schedule.interval, SEC(15 * 60));
	assert_string_equal(l.c->target.type, "sqlite");
	assert_null(l.c->target.node);
	unload(&l);
}

static void test_relative_paths(void **state)
{
	struct loaded l;
	load_ok(&l, "state_dir: ./state\nplugin_dir: plugins\n" MINIMAL);
	char dir[PATH_MAX];
	snprintf(dir, sizeof dir, "%s", l.path);
	*strrchr(dir, '/') = 0;
	_cleanup_free_ char *abs = realpath(dir, NULL);
	assert_non_null(abs);
	char want[PATH_MAX + 16];
	snprintf(want, sizeof want, "%s/state", abs);
	assert_string_equal(l.c->state_dir, want);
	assert_string_equal(conf_state_dir(l.c->conf), want);
	snprintf(want, sizeof want, "%s/plugins", abs);
	assert_string_equal(l.c->plugin_dir, want);

	_cleanup_free_ char *p = conf_path(l.c->conf, "/etc/staffsync/x.secret");
	assert_string_equal(p, "/etc/staffsync/x.secret");
	_cleanup_free_ char *q = conf_path(l.c->conf, "data/staff.csv");
	snprintf(want, sizeof want, "%s/data/staff.csv", abs);
	assert_string_equal(q, want);
	unload(&l);
}

/* -------------------------------------------------------- value parsers --- */

static void test_durations_good(void **state)
{
	static const struct {
		const char *text;
		uint64_t usec;
	} good[] = {
		{ "0", 0 },
		{ "30", SEC(30) },
		{ "500ms", 500000 },
		{ "30s", SEC(30) },
		{ "15m", SEC(15 * 60) },
		{ "24h", SEC(24 * 3600) },
		{ "7d", SEC(7 * 86400) },
		{ "2w", SEC(14 * 86400) },
		{ "1h30m", SEC(5400) },
		{ "1d12h", SEC(36 * 3600) },
		{ "1m500ms", 60500000 },
		{ "never", DURATION_NEVER },
		{ "Never", DURATION_NEVER },
		{ "213503d", SEC(213503ULL * 86400) },
	};
	for (size_t i = 0; i < ELEMENTSOF(good); i++) {
		uint64_t u = 1;
		if (parse_duration(good[i].text, &u) != 0)
			fail_msg("'%s' refused", good[i].text);
		if (u != good[i].usec)
			fail_msg("'%s' gave %llu", good[i].text, (unsigned long long)u);
	}
}

static void test_durations_bad(void **state)
{
	static const char *const bad[] = {
		"", "soon", "s", "10x", "-5s", "+5s", "1.5h", "15 m", " 15m", "15m ",
		"15M", "m15", "1h30", "10ms5", "nevermore", "0x10",
		"99999999999999999999", "18446744073709551615s", "300000000000d",
		"18446744073710s", "9223372036854775807m",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		uint64_t u = 42;
		if (parse_duration(bad[i], &u) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(u, 42);
	}
	uint64_t u;
	assert_int_equal(parse_duration(NULL, &u), -EINVAL);
}

static void test_limits(void **state)
{
	struct cfg_limit l = { .percent = -1, .count = -1 };
	assert_int_equal(parse_limit_scalar("5%", &l), 0);
	assert_true(l.percent == 5.0);
	assert_int_equal(l.count, -1);
	assert_int_equal(parse_limit_scalar("2.5%", &l), 0);
	assert_true(l.percent == 2.5);
	assert_int_equal(parse_limit_scalar("500", &l), 0);
	assert_int_equal(l.count, 500);
	assert_true(l.percent == 2.5);   /* the other form is left alone */
	assert_int_equal(parse_limit_scalar("0%", &l), 0);
	assert_true(l.percent == 0.0);
	assert_int_equal(parse_limit_scalar("100%", &l), 0);
	assert_true(l.percent == 100.0);
	assert_int_equal(parse_limit_scalar("0", &l), 0);
	assert_int_equal(l.count, 0);

	static const char *const bad[] = {
		"", "%", "101%", "100.5%", "-5%", "-5", "5 %", "5%%", "five", ".5%", "5.%",
		"1.2.3%", "1e2%", "nan%", "inf%", "12abc", "99999999999999999999999",
	};
	for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
		struct cfg_limit b = { .percent = -1, .count = -1 };
		if (parse_limit_scalar(bad[i], &b) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		assert_true(b.percent == -1);
		assert_int_equal(b.count, -1);
	}
}

/* ------------------------------------------------------------ conf_parse --- */

struct sample {
	char *s;
	bool b;
	unsigned long u;
	uint64_t d;
	char ch;
	char **list;
	char **list1;
	char **map;
	int e;
	const yaml_node_t *node;
};

static const char *const colours[] = { "red", "green", "blue", NULL };

static const struct ss_conf_key sample_keys[] = {
	{ .name = "name", .type = SS_CONF_SKIP },
	{ .name = "s", .type = SS_CONF_STRING, .offset = offsetof(struct sample, s) },
	{ .name = "b", .type = SS_CONF_BOOL, .offset = offsetof(struct sample, b) },
	{ .name = "u", .type = SS_CONF_UINT, .offset = offsetof(struct sample, u) },
	{ .name = "interval", .type = SS_CONF_DURATION, .offset = offsetof(struct sample, d) },
	{ .name = "ch", .type = SS_CONF_CHAR, .offset = offsetof(struct sample, ch) },
	{ .name = "list", .type = SS_CONF_STRING_LIST, .offset = offsetof(struct sample, list) },
	{ .name = "list1", .type = SS_CONF_STRING_LIST, .offset = offsetof(struct sample, list1) },
	{ .name = "map", .type = SS_CONF_STRING_MAP, .offset = offsetof(struct sample, map) },
	{ .name = "colour", .type = SS_CONF_ENUM, .offset = offsetof(struct sample, e), .choices = colours },
	{ .name = "node", .type = SS_CONF_NODE, .offset = offsetof(struct sample, node) },
	{ .name = "path", .type = SS_CONF_STRING, .offset = offsetof(struct sample, s), .required = true },
	{ .name = NULL }
};

/* The sample table without the required key, for type checks. */
static const struct ss_conf_key *optional_keys(void)
{
	static struct ss_conf_key keys[ELEMENTSOF(sample_keys)];
	size_t j = 0;
	for (size_t i = 0; i < ELEMENTSOF(sample_keys); i++)
		if (!sample_keys[i].required)
			keys[j++] = sample_keys[i];
	return keys;
}

/* A YAML snippet loaded as "t.yaml" and conf_parse'd into a sample: the
 * root mapping, or the value of the root's key "at". */
struct snippet {
	ss_conf *c;
	struct config_errors e;
	struct sample s;
	int errors;   /* what conf_parse returned */
};

static void parse_snippet(struct snippet *p, const char *yaml, const char *at,
			  const struct ss_conf_key *keys)
{
	p->c = NULL;
	p->e = (struct config_errors){0};
	assert_int_equal(conf_load_string("t.yaml", yaml, &p->c, &p->e), 0);
	const yaml_node_t *m = conf_root(p->c);
	if (at)
		m = conf_get(p->c, m, at);
	p->errors = conf_parse(p->c, m, keys, &p->s);
}

static void snippet_free(struct snippet *p)
{
	conf_free_values(sample_keys, &p->s);
	conf_free(p->c);
	config_errors_clear(&p->e);
}

static void test_conf_parse_types(void **state)
{
	struct snippet p = { .s.s = strdup("default") };
	parse_snippet(&p,
		"name: anything [1, 2]\n"
		"s: hello\n"
		"b: Yes\n"
		"u: 42\n"
		"interval: 1h30m\n"
		"ch: \"\\t\"\n"
		"list: [a, b, c]\n"
		"list1: alone\n"
		"map: { id: employee_id, email: mail }\n"
		"colour: Green\n"
		"node: { x: 1 }\n", NULL, optional_keys());
	assert_int_equal(p.errors, 0);
	assert_int_equal(p.e.n, 0);
	const struct sample *s = &p.s;
	assert_string_equal(s->s, "hello");   /* the malloc'd default was replaced */
	assert_true(s->b);
	assert_int_equal(s->u, 42);
	assert_int_equal(s->d, SEC(5400));
	assert_int_equal(s->ch, '\t');
	assert_int_equal(strv_length(s->list), 3);
	assert_string_equal(s->list[2], "c");
	assert_int_equal(strv_length(s->list1), 1);
	assert_string_equal(s->list1[0], "alone");
	assert_int_equal(strv_length(s->map), 4);
	assert_string_equal(s->map[0], "id");
	assert_string_equal(s->map[1], "employee_id");
	assert_string_equal(s->map[2], "email");
	assert_string_equal(s->map[3], "mail");
	assert_int_equal(s->e, 1);
	assert_non_null(s->node);
	assert_int_equal(s->node->type, YAML_MAPPING_NODE);
	assert_non_null(conf_get(p.c, s->node, "x"));
	conf_free_values(optional_keys(), &p.s);
	assert_null(s->s);
	assert_null(s->list);
	assert_null(s->map);
	snippet_free(&p);
}

static void test_conf_parse_bools(void **state)
{
	static const struct {
		const char *text;
		bool value;
	} cases[] = {
		{ "true", true }, { "TRUE", true }, { "yes", true }, { "On", true },
		{ "false", false }, { "No", false }, { "off", false }, { "FALSE", false },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char yaml[64];
		snprintf(yaml, sizeof yaml, "b: %s\n", cases[i].text);
		struct snippet p = { .s.b = !cases[i].value };
		parse_snippet(&p, yaml, NULL, optional_keys());
		assert_int_equal(p.errors, 0);
		assert_int_equal(p.s.b, cases[i].value);
		snippet_free(&p);
	}
}

static void test_conf_parse_wrong_types(void **state)
{
	struct snippet p = {0};
	parse_snippet(&p,
		"s: [a, b]\n"
		"b: maybe\n"
		"u: -3\n"
		"interval: soon\n"
		"ch: ab\n"
		"list: [a, [b]]\n"
		"list1: { a: b }\n"
		"map: [a]\n"
		"colour: bleu\n"
		"path:\n", NULL, sample_keys);
	assert_int_equal(p.errors, 10);
	assert_int_equal(p.e.n, 10);
	expect_error_in(&p.e, "t.yaml", "1:4: s: expected a string, got a list");
	expect_error_in(&p.e, "t.yaml", "2:4: b: expected true or false, got 'maybe'");
	expect_error_in(&p.e, "t.yaml", "3:4: u: expected a whole number (0 or more), got '-3'");
	expect_error_in(&p.e, "t.yaml",
		"4:11: interval: expected a duration such as 30s, 15m, 24h or 7d, got 'soon'");
	expect_error_in(&p.e, "t.yaml", "5:5: ch: expected a single character, got 'ab'");
	expect_error_in(&p.e, "t.yaml", "6:11: list: expected a string in the list, got a list");
	expect_error_in(&p.e, "t.yaml",
		"7:8: list1: expected a string or a list of strings, got a mapping");
	expect_error_in(&p.e, "t.yaml", "8:6: map: expected a mapping of names to values, got a list");
	expect_error_in(&p.e, "t.yaml",
		"9:9: colour: expected one of red, green, blue, got 'bleu' (did you mean 'blue'?)");
	expect_error_in(&p.e, "t.yaml", "10:6: path: expected a string, got nothing");
	/* Fields of bad values are left untouched. */
	assert_null(p.s.s);
	assert_null(p.s.list);
	assert_null(p.s.list1);
	assert_int_equal(p.s.u, 0);
	assert_int_equal(conf_error_count(p.c), 10);
	snippet_free(&p);
}

static void test_conf_parse_unknown_key_suggestion(void **state)
{
	struct snippet p = {0};
	parse_snippet(&p,
		"path: x\n"
		"intervall: 5m\n"
		"Colour: red\n"
		"completely_different: 1\n", NULL, sample_keys);
	assert_int_equal(p.errors, 3);
	expect_error_in(&p.e, "t.yaml", "2:1: unknown key 'intervall' (did you mean 'interval'?)");
	expect_error_in(&p.e, "t.yaml", "3:1: unknown key 'Colour' (did you mean 'colour'?)");
	expect_error_in(&p.e, "t.yaml", "4:1: unknown key 'completely_different'");
	snippet_free(&p);
}

static void test_conf_parse_duplicate_and_missing(void **state)
{
	struct snippet p = {0};
	parse_snippet(&p,
		"outer:\n"
		"  u: 1\n"
		"  b: true\n"
		"  u: 2\n", "outer", sample_keys);
	assert_int_equal(p.errors, 2);
	expect_error_in(&p.e, "t.yaml", "4:3: duplicate key 'u' (first at line 2)");
	expect_error_in(&p.e, "t.yaml", "2:3: missing required key 'path'");
	assert_int_equal(p.s.u, 1);   /* the first value counts */
	snippet_free(&p);
}

static void test_conf_parse_not_a_mapping(void **state)
{
	struct snippet p = {0};
	parse_snippet(&p, "- a\n- b\n", NULL, sample_keys);
	assert_int_equal(p.errors, 1);
	expect_error_in(&p.e, "t.yaml", "1:1: expected a mapping, got a list");
	snippet_free(&p);
}

static void test_conf_parse_string_map_errors(void **state)
{
	struct snippet p = {0};
	parse_snippet(&p,
		"map:\n"
		"  id: uid\n"
		"  id: other\n"
		"  email: [a]\n", NULL, optional_keys());
	assert_int_equal(p.errors, 2);
	expect_error_in(&p.e, "t.yaml", "3:3: map: duplicate key 'id'");
	expect_error_in(&p.e, "t.yaml", "4:10: map.email: expected a string, got a list");
	assert_null(p.s.map);
	snippet_free(&p);
}

static void test_conf_char_escapes(void **state)
{
	static const struct {
		const char *yaml;
		char ch;
	} cases[] = {
		{ "ch: ';'\n", ';' },
		{ "ch: ','\n", ',' },
		{ "ch: \"\\t\"\n", '\t' },
		{ "ch: '\\t'\n", '\t' },
		{ "ch: \\t\n", '\t' },
		{ "ch: '|'\n", '|' },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		struct snippet p = {0};
		parse_snippet(&p, cases[i].yaml, NULL, optional_keys());
		assert_int_equal(p.errors, 0);
		assert_int_equal(p.s.ch, cases[i].ch);
		snippet_free(&p);
	}
}

/* ---------------------------------------------------------- loading YAML --- */

static void test_yaml_syntax_error(void **state)
{
	struct config_errors e = {0};
	ss_conf *c = (ss_conf *)&e;
	assert_int_equal(conf_load_string("bad.yaml",
		"sources:\n"
		"  - name: hr\n"
		"    type: csv\n"
		"   oops: [\n", &c, &e), -EINVAL);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_true(strncmp(e.lines[0], "bad.yaml:4:", 11) == 0);
	config_errors_clear(&e);

	assert_int_equal(conf_load_string("bad.yaml", "a: b: c\n", &c, &e), -EINVAL);
	expect_error_in(&e, "bad.yaml", "1:5: mapping values are not allowed in this context");
	config_errors_clear(&e);

	assert_int_equal(conf_load_string("bad.yaml", "a: 1\nb: [x, y\n", &c, &e), -EINVAL);
	expect_error_in(&e, "bad.yaml", "3:1: did not find expected ',' or ']' "
			"(while parsing a flow sequence that starts at line 2, column 4)");
	config_errors_clear(&e);
}

static void test_yaml_syntax_error_in_file(void **state)
{
	struct loaded l;
	load(&l, MINIMAL "roles:\n  - { role: Nurse\n");
	assert_int_equal(l.r, -EINVAL);
	assert_null(l.c);
	assert_int_equal(l.e.n, 1);
	char prefix[PATH_MAX + 64];
	snprintf(prefix, sizeof prefix, "%s:12:1: did not find expected", l.path);
	assert_true(strncmp(l.e.lines[0], prefix, strlen(prefix)) == 0);
	unload(&l);
}

static void test_yaml_bad_utf8_position(void **state)
{
	struct config_errors e = {0};
	ss_conf *c;
	assert_int_equal(conf_load_string("t.yaml", "a: 1\nbb: \xff\n", &c, &e), -EINVAL);
	assert_int_equal(e.n, 1);
	assert_true(strncmp(e.lines[0], "t.yaml:2:5: ", 12) == 0);
	config_errors_clear(&e);
}

static void test_two_documents(void **state)
{
	struct config_errors e = {0};
	ss_conf *c;
	assert_int_equal(conf_load_string("t.yaml", "a: 1\n---\nb: 2\n", &c, &e), -EINVAL);
	expect_error_in(&e, "t.yaml", "3:1: only one YAML document is allowed in a configuration file");
	config_errors_clear(&e);
}

static void test_unreadable_file(void **state)
{
	struct config_errors e = {0};
	struct config *c = (struct config *)&e;
	assert_int_equal(config_load("/nonexistent/staffsync.yaml", &c, &e), -ENOENT);
	assert_null(c);
	assert_int_equal(e.n, 1);
	assert_string_equal(e.lines[0], "/nonexistent/staffsync.yaml: No such file or directory");
	config_errors_clear(&e);

	const char *tmp = getenv("TMPDIR");
	assert_int_equal(config_load(tmp && *tmp ? tmp : "/tmp", &c, &e), -EISDIR);
	assert_int_equal(e.n, 1);
	assert_non_null(strstr(e.lines[0], ": Is a directory"));
	config_errors_clear(&e);
}

static void test_empty_document(void **state)
{
	struct config_errors e = {0};
	ss_conf *c;
	assert_int_equal(conf_load_string("t.yaml", "", &c, &e), 0);
	assert_null(conf_root(c));
	assert_int_equal(e.n, 0);
	conf_free(c);
	assert_int_equal(conf_load_string("t.yaml", "# only a comment\n", &c, &e), 0);
	assert_null(conf_root(c));
	conf_free(c);

	struct loaded l;
	load(&l, "# nothing configured yet\n");
	assert_int_equal(l.r, -EINVAL);
	assert_non_null(l.c);
	assert_int_equal(l.e.n, 3);
	expect(&l, "1:1: missing required key 'sources'");
	expect(&l, "1:1: missing required key 'facilities'");
	expect(&l, "1:1: missing required key 'roles'");
	unload(&l);
}

static void test_document_not_a_mapping(void **state)
{
	load_one_error("- sources\n- roles\n", "1:1: expected a mapping, got a list");
}

/* ------------------------------------------------------ core: top level --- */

static void test_unknown_top_level_key(void **state)
{
	load_one_error(MINIMAL "scedule:\n  interval: 5m\n",
		       "10:1: unknown key 'scedule' (did you mean 'schedule'?)");
}

static void test_schedule_errors(void **state)
{
	struct loaded l;
	load(&l, MINIMAL
	     "schedule:\n"
	     "  interval: soon\n"
	     "  full_every: 1x\n"
	     "  jiter: 5s\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 3);
	expect(&l, "11:13: interval: expected a duration such as 30s, 15m, 24h or 7d, got 'soon'");
	expect(&l, "12:15: full_every: expected a duration such as 30s, 15m, 24h or 7d, got '1x'");
	expect(&l, "13:3: unknown key 'jiter' (did you mean 'jitter'?)");
	unload(&l);

	load_one_error(MINIMAL "schedule:\n  interval: 0\n",
		       "11:13: schedule.interval: must be a duration above 0, such as 15m");
	load_one_error(MINIMAL "schedule:\n  interval: 5m\n  jitter: never\n",
		       "12:11: schedule.jitter: must be a duration such as 30s, not never");
	load_one_error(MINIMAL "schedule: 15m\n", "10:11: schedule: expected a mapping, got a string");
}

static void test_facilities_per_person(void **state)
{
	load_one_error(MINIMAL "facilities_per_person: mnay\n",
		       "10:24: facilities_per_person: expected one of one, many, got 'mnay' "
		       "(did you mean 'many'?)");
}

/* --------------------------------------------------------- core: sources --- */

static const char facilities_roles[] =
	"facilities:\n"
	"  - id: north\n"
	"    match: { facility: North }\n"
	"roles:\n"
	"  - role: Surgeon\n";

static void test_sources_duplicate_names(void **state)
{
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "sources:\n"
		 "  - name: hr\n"
		 "    type: csv\n"
		 "  - name: corp\n"
		 "    type: ldap\n"
		 "  - name: hr\n"
		 "    type: csv\n"
		 "%s", facilities_roles);
	load_one_error(yaml, "6:11: sources[2].name: duplicate source name 'hr' (first at line 2)");
}

static void test_sources_shape_errors(void **state)
{
	char yaml[1024];
	struct loaded l;

	snprintf(yaml, sizeof yaml, "sources: []\n%s", facilities_roles);
	load_one_error(yaml, "1:10: sources: at least one source is required");
	snprintf(yaml, sizeof yaml, "sources: { name: hr }\n%s", facilities_roles);
	load_one_error(yaml, "1:10: sources: expected a list, got a mapping");

	snprintf(yaml, sizeof yaml,
		 "sources:\n"
		 "  - hr\n"
		 "  - type: csv\n"
		 "  - name: x\n"
		 "  - name: [a]\n"
		 "    type: csv\n"
		 "%s", facilities_roles);
	load(&l, yaml);
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 4);
	expect(&l, "2:5: sources[0]: expected a mapping, got a string");
	expect(&l, "3:5: sources[1]: missing required key 'name'");
	expect(&l, "4:5: sources[2]: missing required key 'type'");
	expect(&l, "5:11: sources[3].name: expected a string, got a list");
	assert_int_equal(l.c->n_sources, 0);
	unload(&l);
}

static void test_source_keys_left_to_plugin(void **state)
{
	struct loaded l;
	char yaml[1024];
	snprintf(yaml, sizeof yaml,
		 "sources:\n"
		 "  - name: corp\n"
		 "    type: ldap\n"
		 "    anything: { the: plugin, checks: this }\n"
		 "%s", facilities_roles);
	load_ok(&l, yaml);
	assert_int_equal(l.c->n_sources, 1);
	assert_non_null(conf_get(l.c->conf, l.c->sources[0].node, "anything"));
	unload(&l);
}

static void test_target(void **state)
{
	struct loaded l;
	load_ok(&l, MINIMAL "target:\n  type: sqlite\n  path: ws.db\n");
	assert_string_equal(l.c->target.type, "sqlite");
	assert_non_null(l.c->target.node);
	unload(&l);

	load_one_error(MINIMAL "target: [sqlite]\n", "10:9: target: expected a mapping, got a list");
	load_one_error(MINIMAL "target:\n  type: [a]\n", "11:9: target.type: expected a string, got a list");
}

/* ------------------------------------------------------ core: facilities --- */

static const char sources_roles[] =
	"sources:\n"
	"  - { name: hr, type: csv }\n"
	"roles:\n"
	"  - role: Admin\n";

static void test_facility_errors(void **state)
{
	char yaml[2048];
	struct loaded l;
	snprintf(yaml, sizeof yaml,
		 "%s"
		 "facilities:\n"                               /* 5 */
		 "  - id: North\n"
		 "    match: { facility: North }\n"
		 "  - id: south\n"
		 "    platform: surgicle\n"
		 "    match: { facility: South }\n"            /* 10 */
		 "  - id: south\n"
		 "    match: { group: s }\n"
		 "  - id: east\n"
		 "  - id: west\n"
		 "    match: { site: West }\n"                 /* 15 */
		 "  - id: mid\n"
		 "    match: {}\n"
		 "  - id: -bad\n"
		 "    match: { facility: [] }\n"
		 "  - name: Nameless\n"                        /* 20 */
		 "    match: { facility: X }\n",
		 sources_roles);
	load(&l, yaml);
	assert_int_equal(l.r, -EINVAL);
	expect(&l, "6:9: facilities[0].id: 'North' is not a valid facility id (lower-case letters, "
		   "digits and '-', not starting with '-', at most 63 characters)");
	expect(&l, "9:15: platform: expected one of any, surgical, clinic, got 'surgicle' "
		   "(did you mean 'surgical'?)");
	expect(&l, "11:9: facilities[2].id: duplicate facility id 'south' (first at line 8)");
	expect(&l, "13:5: missing required key 'match'");
	expect(&l, "15:14: unknown key 'site'");
	expect(&l, "17:12: facilities[5].match: give at least one of facility, group or dn_suffix");
	expect(&l, "18:9: facilities[6].id: '-bad' is not a valid facility id (lower-case letters, "
		   "digits and '-', not starting with '-', at most 63 characters)");
	expect(&l, "19:24: facilities[6].match.facility: the list is empty "
		   "(a facility with nothing to match gets no one)");
	expect(&l, "20:5: missing required key 'id'");
	assert_int_equal(l.e.n, 9);
	unload(&l);
}

static void test_facility_id_length(void **state)
{
	char yaml[2048], id[80];
	memset(id, 'a', 64);
	id[64] = 0;
	snprintf(yaml, sizeof yaml, "%sfacilities:\n  - id: %s\n    match: { group: g }\n",
		 sources_roles, id);
	struct loaded l;
	load(&l, yaml);
	assert_int_equal(l.r, -EINVAL);
	expect_substring(&l.e, "is not a valid facility id");
	unload(&l);

	id[63] = 0;
	snprintf(yaml, sizeof yaml, "%sfacilities:\n  - id: %s\n    match: { group: g }\n"
		 "  - id: 0-9\n    match: { dn_suffix: \"OU=x\" }\n", sources_roles, id);
	load_ok(&l, yaml);
	assert_int_equal(l.c->n_facilities, 2);
	unload(&l);
}

/* ----------------------------------------------------------- core: roles --- */

static const char roles_prefix[] =
	"sources:\n"
	"  - { name: hr, type: csv }\n"
	"facilities:\n"
	"  - id: north\n"
	"    platform: surgical\n"                  /* 5 */
	"    match: { facility: North }\n"
	"  - id: south\n"
	"    platform: clinic\n"
	"    match: { facility: South }\n"
	"roles:\n";                                 /* 10 */

static void load_roles(struct loaded *l, const char *roles)
{
	char yaml[4096];
	snprintf(yaml, sizeof yaml, "%s%s", roles_prefix, roles);
	load(l, yaml);
}

static void expect_one_role_error(const char *roles, const char *where_what)
{
	char yaml[4096];
	snprintf(yaml, sizeof yaml, "%s%s", roles_prefix, roles);
	load_one_error(yaml, where_what);
}

static void test_role_patient_refused(void **state)
{
	expect_one_role_error("  - role: Doctor\n  - role: patient\n",
			      "12:11: roles[1].role: Patient is never assigned by staffsync");
}

static void test_role_unknown(void **state)
{
	expect_one_role_error("  - role: Surgeonn\n",
			      "11:11: roles[0].role: unknown role 'Surgeonn' (known: Surgeon, "
			      "Anesthesiologist, Nurse, Tech, Admin, Doctor, Personnel)");
	expect_one_role_error("  - groups: [x]\n", "11:5: missing required key 'role'");
	expect_one_role_error("  - Surgeon\n", "11:5: roles[0]: expected a mapping, got a string");
}

static void test_role_label_only_personnel(void **state)
{
	expect_one_role_error("  - { role: Personnel, label: Lab }\n"
			      "  - { role: Doctor, label: GP }\n",
			      "12:28: roles[1].label: only Personnel takes a label, not Doctor");
}

static void test_role_unknown_facility(void **state)
{
	expect_one_role_error("  - { role: Admin }\n"
			      "  - { role: Admin }\n"
			      "  - { role: Admin, facilities: [north, west] }\n",
			      "13:40: roles[2].facilities: unknown facility 'west' (known: north, south)");
	expect_one_role_error("  - { role: Admin, facilities: west }\n",
			      "11:32: roles[0].facilities: unknown facility 'west' (known: north, south)");
}

static void test_role_not_on_platform(void **state)
{
	expect_one_role_error("  - { role: Surgeon, facilities: [north, south] }\n",
			      "11:42: roles[0].facilities: there is no role Surgeon on facility 'south' "
			      "(platform clinic)");
	expect_one_role_error("  - role: Personnel\n    label: Chemist\n    facilities: [north]\n",
			      "13:18: roles[0].facilities: there is no role Personnel on facility "
			      "'north' (platform surgical)");
	/* Admin exists on both platforms, Doctor on the clinic one. */
	struct loaded l;
	load_roles(&l, "  - { role: Admin, facilities: [north, south] }\n"
		       "  - { role: Doctor, facilities: [south] }\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.c->n_roles, 2);
	unload(&l);
}

static void test_role_requires(void **state)
{
	struct loaded l;
	load_roles(&l, "  - { role: Doctor }\n"
		       "  - { role: Nurse, requires: email }\n"
		       "  - { role: Admin, requires: [email, speciality, employee_id, given_name, family_name] }\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.c->roles[0].requires, SS_REQ_SPECIALITY);
	assert_int_equal(l.c->roles[1].requires, SS_REQ_EMAIL);
	assert_int_equal(l.c->roles[2].requires, SS_REQ_EMAIL | SS_REQ_SPECIALITY |
			 SS_REQ_EMPLOYEE_ID | SS_REQ_GIVEN_NAME | SS_REQ_FAMILY_NAME);
	assert_int_equal(l.c->roles[2].line, 13);
	unload(&l);

	expect_one_role_error("  - { role: Nurse, requires: [email, phone] }\n",
			      "11:38: roles[0].requires: unknown field 'phone' (known: email, "
			      "speciality, employee_id, given_name, family_name)");
}

static void test_role_empty_lists(void **state)
{
	expect_one_role_error("  - { role: Nurse, groups: [] }\n",
			      "11:28: roles[0].groups: the list is empty (leave groups out to match "
			      "everyone)");
}

static void test_roles_order_kept(void **state)
{
	struct loaded l;
	load_roles(&l, "  - { role: Surgeon, groups: [surgeons] }\n"
		       "  - { role: NURSE, groups: [nurses, theatre] }\n"
		       "  - { role: anesthesiologist, groups: anaesthetics }\n"
		       "  - { role: Tech }\n");
	assert_int_equal(l.r, 0);
	assert_int_equal(l.c->n_roles, 4);
	static const enum ss_role want[] = {
		SS_ROLE_SURGEON, SS_ROLE_NURSE, SS_ROLE_ANESTHESIOLOGIST, SS_ROLE_TECH,
	};
	for (size_t i = 0; i < ELEMENTSOF(want); i++) {
		assert_int_equal(l.c->roles[i].role, want[i]);
		assert_int_equal(l.c->roles[i].line, 11 + (int)i);
	}
	assert_int_equal(strv_length(l.c->roles[1].groups), 2);
	assert_string_equal(l.c->roles[2].groups[0], "anaesthetics");
	unload(&l);
}

/* ----------------------------------------------------- core: permissions --- */

static void test_global_admin_default_refused(void **state)
{
	load_one_error(MINIMAL "permissions:\n  default: global admin\n",
		       "11:12: permissions.default: Global Admin as the default would make everyone "
		       "a Global Admin; refused unless allow_global_admin: true");

	struct loaded l;
	load_ok(&l, MINIMAL "permissions:\n  default: Global Admin\n  allow_global_admin: yes\n");
	assert_int_equal(l.c->permissions.default_level, SS_LEVEL_GLOBAL_ADMIN);
	unload(&l);
}

/* A Global Admin group is accepted without allow_global_admin: the mapping
 * holds its members, which the plan shows. */
static void test_global_admin_level_kept_for_holding(void **state)
{
	struct loaded l;
	load_ok(&l, MINIMAL "permissions:\n  levels:\n    Global Admin: [domain-admins]\n");
	assert_string_equal(l.c->permissions.levels[SS_LEVEL_GLOBAL_ADMIN][0], "domain-admins");
	assert_false(l.c->permissions.allow_global_admin);
	unload(&l);
}

static void test_permission_errors(void **state)
{
	struct loaded l;
	load(&l, MINIMAL
	     "permissions:\n"
	     "  default: Boss\n"
	     "  levels:\n"
	     "    Facility admin: [fa]\n"
	     "    Chief: [x]\n"
	     "  allow_global_admin: perhaps\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 4);
	expect(&l, "11:12: permissions.default: unknown level 'Boss' (known: Staff, Coordinator, "
		   "Facility Admin, Global Admin)");
	expect(&l, "13:5: unknown key 'Facility admin' (did you mean 'Facility Admin'?)");
	expect(&l, "14:5: unknown key 'Chief'");
	expect(&l, "15:23: allow_global_admin: expected true or false, got 'perhaps'");
	unload(&l);
}

/* -------------------------------------------------------- core: accounts --- */

static void test_accounts(void **state)
{
	struct loaded l;
	load_ok(&l, MINIMAL "accounts:\n  invite_on_create: off\n  invite_delay: 2h\n"
		"  invite_delivery: none\n");
	assert_false(l.c->accounts.invite_on_create);
	assert_int_equal(l.c->accounts.invite_delay, SEC(7200));
	assert_int_equal(l.c->accounts.invite_delivery, CFG_INVITE_NONE);
	assert_int_equal(l.c->accounts.max_resends, 2);
	unload(&l);

	load_one_error(MINIMAL "accounts:\n  invite_delivery: smtp\n",
		       "11:20: accounts.invite_delivery: smtp needs an accounts.smtp section "
		       "(url, from, ...)");
	load_one_error(MINIMAL "accounts:\n  smtp: smtp://x\n",
		       "11:9: accounts.smtp: expected a mapping, got a string");
	load_one_error(MINIMAL "accounts:\n  max_resends: two\n",
		       "11:16: max_resends: expected a whole number (0 or more), got 'two'");
}

/* --------------------------------------------------------- core: leavers --- */

static void test_leavers_limits(void **state)
{
	static const struct {
		const char *yaml;
		double percent;
		long count;
	} cases[] = {
		{ "5%", 5, -1 },
		{ "250", -1, 250 },
		{ "[10%, 500]", 10, 500 },
		{ "[100, 2.5%]", 2.5, 100 },
		{ "\"7%\"", 7, -1 },
	};
	for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
		char yaml[1024];
		snprintf(yaml, sizeof yaml, MINIMAL "leavers:\n  max_deactivations: %s\n", cases[i].yaml);
		struct loaded l;
		load_ok(&l, yaml);
		assert_true(l.c->leavers.max_deactivations.percent == cases[i].percent);
		assert_int_equal(l.c->leavers.max_deactivations.count, cases[i].count);
		unload(&l);
	}
}

static void test_leavers_errors(void **state)
{
	struct loaded l;
	load(&l, MINIMAL
	     "leavers:\n"
	     "  grace_runs: 0\n"
	     "  max_deactivations: [5%, 7%]\n"
	     "  max_shrink: 500\n");
	assert_int_equal(l.r, -EINVAL);
	assert_int_equal(l.e.n, 3);
	expect(&l, "11:15: leavers.grace_runs: must be at least 1 (a person missing from one "
		   "listing is not a leaver yet)");
	expect(&l, "12:27: leavers.max_deactivations: give at most one percentage and one count");
	expect(&l, "13:15: leavers.max_shrink: expected a percentage such as 10%, got '500'");
	/* Nothing half-applied: the defaults stay. */
	assert_int_equal(l.c->leavers.grace_runs, 2);
	assert_true(l.c->leavers.max_deactivations.percent == 10);
	assert_int_equal(l.c->leavers.max_deactivations.count, 500);
	unload(&l);

	load_one_error(MINIMAL "leavers:\n  max_deactivations: lots\n",
		       "11:22: leavers.max_deactivations: expected a percentage such as 10% or a "
		       "count such as 500, got 'lots'");
	load_one_error(MINIMAL "leavers:\n  max_deactivations: []\n",
		       "11:22: leavers.max_deactivations: the list is empty (give a percentage such "
		       "as 10%, a count such as 500, or both)");
}

/* ------------------------------------------------------- several at once --- */

static void test_many_errors_one_pass(void **state)
{
	struct loaded l;
	load(&l,
	     "sources:\n"
	     "  - name: hr\n"
	     "    type: csv\n"
	     "  - name: hr\n"
	     "    type: csv\n"                               /* 5 */
	     "facilities:\n"
	     "  - id: North\n"
	     "    match: { facility: North }\n"
	     "roles:\n"
	     "  - role: Patient\n"                           /* 10 */
	     "  - { role: Surgeon, label: Lab, facilities: [west] }\n"
	     "permissions:\n"
	     "  default: Global Admin\n"
	     "leavers:\n"
	     "  grace_runs: 0\n"                             /* 15 */
	     "schedule:\n"
	     "  interval: soon\n"
	     "colour: blue\n");
	assert_int_equal(l.r, -EINVAL);
	assert_non_null(l.c);
	assert_ptr_equal(conf_error_count(l.c->conf), l.e.n);
	expect(&l, "4:11: sources[1].name: duplicate source name 'hr' (first at line 2)");
	expect(&l, "7:9: facilities[0].id: 'North' is not a valid facility id (lower-case letters, "
		   "digits and '-', not starting with '-', at most 63 characters)");
	expect(&l, "10:11: roles[0].role: Patient is never assigned by staffsync");
	expect(&l, "11:29: roles[1].label: only Personnel takes a label, not Surgeon");
	expect(&l, "11:47: roles[1].facilities: unknown facility 'west' (known: North)");
	expect(&l, "13:12: permissions.default: Global Admin as the default would make everyone a "
		   "Global Admin; refused unless allow_global_admin: true");
	expect(&l, "15:15: leavers.grace_runs: must be at least 1 (a person missing from one "
		   "listing is not a leaver yet)");
	expect(&l, "17:13: interval: expected a duration such as 30s, 15m, 24h or 7d, got 'soon'");
	expect(&l, "18:1: unknown key 'colour'");
	assert_int_equal(l.e.n, 9);
	/* The document and the valid parts stay usable for the plugin checks. */
	assert_non_null(l.c->conf);
	assert_int_equal(l.c->n_sources, 2);
	assert_string_equal(l.c->sources[0].type, "csv");
	assert_int_equal(l.c->n_roles, 1);
	unload(&l);
}

/* ----------------------------------------------------------- host table --- */

static void test_host_services(void **state)
{
	const struct ss_host *h = &ss_host_services;
	assert_int_equal(h->abi_version, SS_PLUGIN_ABI_VERSION);
	assert_non_null(h->log);
	assert_ptr_equal(h->conf_error, conf_error);
	assert_ptr_equal(h->conf_parse, conf_parse);
	assert_ptr_equal(h->conf_free, conf_free_values);
	assert_ptr_equal(h->conf_get, conf_get);
	assert_ptr_equal(h->conf_node, conf_node);
	assert_ptr_equal(h->conf_file, conf_file);
	assert_ptr_equal(h->conf_path, conf_path);
	assert_ptr_equal(h->conf_state_dir, conf_state_dir);
	h->log(LOG_DEBUG, "host log %d", 1);   /* below the level: silent */

	/* A plugin's error goes to the same list through the host table. */
	struct loaded l;
	load_ok(&l, MINIMAL);
	h->conf_error(l.c->conf, l.c->sources[0].node, "path: '%s' cannot be read", "staff.csv");
	expect(&l, "2:5: path: 'staff.csv' cannot be read");
	assert_int_equal(conf_error_count(l.c->conf), 1);
	assert_string_equal(h->conf_file(l.c->conf), l.path);
	const yaml_node_t *root = conf_root(l.c->conf);
	assert_ptr_equal(h->conf_node(l.c->conf, root->data.mapping.pairs.start[0].value),
			 h->conf_get(l.c->conf, root, "sources"));
	unload(&l);
}

static void test_conf_scalar(void **state)
{
	struct config_errors e = {0};
	ss_conf *c;
	assert_int_equal(conf_load_string("t.yaml", "a: text\nb: [x]\n", &c, &e), 0);
	const yaml_node_t *root = conf_root(c);
	assert_string_equal(conf_scalar(c, conf_get(c, root, "a"), "a"), "text");
	assert_null(conf_scalar(c, conf_get(c, root, "b"), "b"));
	expect_error_in(&e, "t.yaml", "2:4: b: expected a string, got a list");
	assert_null(conf_get(c, root, "missing"));
	assert_ptr_equal(conf_document(c)->nodes.start + 0, conf_node(c, 1));
	conf_free(c);
	config_errors_clear(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full_config),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_sections_take_defaults),
		cmocka_unit_test(test_relative_paths),
		cmocka_unit_test(test_durations_good),
		cmocka_unit_test(test_durations_bad),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_conf_parse_types),
		cmocka_unit_test(test_conf_parse_bools),
		cmocka_unit_test(test_conf_parse_wrong_types),
		cmocka_unit_test(test_conf_parse_unknown_key_suggestion),
		cmocka_unit_test(test_conf_parse_duplicate_and_missing),
		cmocka_unit_test(test_conf_parse_not_a_mapping),
		cmocka_unit_test(test_conf_parse_string_map_errors),
		cmocka_unit_test(test_conf_char_escapes),
		cmocka_unit_test(test_yaml_syntax_error),
		cmocka_unit_test(test_yaml_syntax_error_in_file),
		cmocka_unit_test(test_yaml_bad_utf8_position),
		cmocka_unit_test(test_two_documents),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_empty_document),
		cmocka_unit_test(test_document_not_a_mapping),
		cmocka_unit_test(test_unknown_top_level_key),
		cmocka_unit_test(test_schedule_errors),
		cmocka_unit_test(test_facilities_per_person),
		cmocka_unit_test(test_sources_duplicate_names),
		cmocka_unit_test(test_sources_shape_errors),
		cmocka_unit_test(test_source_keys_left_to_plugin),
		cmocka_unit_test(test_target),
		cmocka_unit_test(test_facility_errors),
		cmocka_unit_test(test_facility_id_length),
		cmocka_unit_test(test_role_patient_refused),
		cmocka_unit_test(test_role_unknown),
		cmocka_unit_test(test_role_label_only_personnel),
		cmocka_unit_test(test_role_unknown_facility),
		cmocka_unit_test(test_role_not_on_platform),
		cmocka_unit_test(test_role_requires),
		cmocka_unit_test(test_role_empty_lists),
		cmocka_unit_test(test_roles_order_kept),
		cmocka_unit_test(test_global_admin_default_refused),
		cmocka_unit_test(test_global_admin_level_kept_for_holding),
		cmocka_unit_test(test_permission_errors),
		cmocka_unit_test(test_accounts),
		cmocka_unit_test(test_leavers_limits),
		cmocka_unit_test(test_leavers_errors),
		cmocka_unit_test(test_many_errors_one_pass),
		cmocka_unit_test(test_host_services),
		cmocka_unit_test(test_conf_scalar),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
