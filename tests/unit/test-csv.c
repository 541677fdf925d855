/* SPDX-License-Identifier: MIT */
/*
 * The CSV source, driven through its descriptor with the real host services:
 * each test writes a staff.csv into a private temporary folder, builds the
 * source's configuration from a YAML snippet "in" that folder, reads, and
 * looks at the records and the listing.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <cmocka.h>

#include "conf.h"
#include "config.h"
#include "staffsync-plugin.h"
#include "util.h"

/* ----------------------------------------------------------- fixture --- */

/* What the test keeps of one emitted record (they are borrowed). Lists are
 * joined with '|', attributes as "name=value|..." ("name=" for no value). */
struct got_record {
	char *id, *origin, *error;
	char *given_name, *family_name, *email, *employee_id, *speciality, *dn;
	char *groups, *facilities, *attrs;
	bool has_groups, has_facilities;
	bool enabled;
};

struct fixture {
	char dir[64];
	char conf_name[128];
	ss_conf *conf;
	struct config_errors errors;
	const struct ss_source_ops *ops;
	void *instance;
	struct ss_read_result result;
	struct got_record *records;
	size_t n_records, records_size;
	size_t abort_at;         /* emit fails on this record (1-based); 0: never */
	int64_t now;
};

static const char *const default_yaml =
	"name: hr\n"
	"type: csv\n"
	"path: staff.csv\n"
	"columns:\n"
	"  id: employee_id\n"
	"  given_name: first_name\n"
	"  family_name: last_name\n"
	"  email: email\n"
	"  groups: groups\n"
	"  facility: site\n"
	"  enabled: status\n";

static const char *const default_header = "employee_id,first_name,last_name,email,groups,site,status\n";

static char *join(const char *const *v)
{
	if (!v)
		return NULL;
	size_t n = 1;
	for (size_t i = 0; v[i]; i++)
		n += strlen(v[i]) + 1;
	char *s = calloc(1, n);
	assert_non_null(s);
	for (size_t i = 0; v[i]; i++) {
		if (i > 0)
			strcat(s, "|");
		strcat(s, v[i]);
	}
	return s;
}

static char *join_attrs(const struct ss_attr *attrs, size_t n)
{
	if (!attrs)
		return NULL;
	char *s = strdup("");
	assert_non_null(s);
	for (size_t i = 0; i < n; i++) {
		assert_non_null(attrs[i].values);
		/* A CSV cell is one value at most. */
		assert_true(!attrs[i].values[0] || !attrs[i].values[1]);
		char *t;
		assert_true(asprintf(&t, "%s%s%s=%s", s, i ? "|" : "", attrs[i].name,
				     strempty(attrs[i].values[0])) >= 0);
		free(s);
		s = t;
	}
	return s;
}

static int collect(void *userdata, const struct ss_record *r)
{
	struct fixture *f = userdata;
	if (f->abort_at && f->n_records + 1 == f->abort_at)
		return -ECANCELED;

	if (f->n_records == f->records_size) {
		f->records_size = f->records_size ? 2 * f->records_size : 64;
		f->records = realloc(f->records, f->records_size * sizeof(*f->records));
		assert_non_null(f->records);
	}
	f->records[f->n_records++] = (struct got_record) {
		.id = strdup_or_null(r->id),
		.origin = strdup_or_null(r->origin),
		.error = strdup_or_null(r->error),
		.given_name = strdup_or_null(r->given_name),
		.family_name = strdup_or_null(r->family_name),
		.email = strdup_or_null(r->email),
		.employee_id = strdup_or_null(r->employee_id),
		.speciality = strdup_or_null(r->speciality),
		.dn = strdup_or_null(r->dn),
		.groups = join(r->groups),
		.facilities = join(r->facilities),
		.attrs = join_attrs(r->attrs, r->n_attrs),
		.has_groups = r->groups != NULL,
		.has_facilities = r->facilities != NULL,
		.enabled = r->enabled,
	};
	assert_false(r->deleted);
	return 0;
}

static void got_record_clear(struct got_record *g)
{
	free(g->id); free(g->origin); free(g->error);
	free(g->given_name); free(g->family_name); free(g->email);
	free(g->employee_id); free(g->speciality); free(g->dn);
	free(g->groups); free(g->facilities); free(g->attrs);
}

static void records_clear(struct fixture *f)
{
	for (size_t i = 0; i < f->n_records; i++)
		got_record_clear(&f->records[i]);
	free(f->records);
	f->records = NULL;
	f->n_records = f->records_size = 0;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test-csv.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->conf_name, sizeof(f->conf_name), "%s/staffsync.yaml", f->dir);

	const struct ss_plugin *p = staffsync_plugin();
	f->ops = p->source;
	f->now = time(NULL);
	*state = f;
	return 0;
}

static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (streq(e->d_name, ".") || streq(e->d_name, ".."))
			continue;
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (e->d_type == DT_DIR)
			remove_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	if (f->instance)
		f->ops->close(f->instance);
	conf_free(f->conf);
	config_errors_clear(&f->errors);
	records_clear(f);
	free(f->result.cursor);
	remove_tree(f->dir);
	free(f);
	return 0;
}

static void write_file(struct fixture *f, const char *name, const void *data, size_t n)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", f->dir, name);
	FILE *out = fopen(path, "we");
	assert_non_null(out);
	assert_int_equal(fwrite(data, 1, n, out), n);
	assert_int_equal(fclose(out), 0);
}

static void write_csv(struct fixture *f, const char *text)
{
	write_file(f, "staff.csv", text, strlen(text));
}

/* Open the source from a YAML snippet; returns what open() returned. */
static int open_yaml(struct fixture *f, const char *yaml)
{
	assert_int_equal(conf_load_string(f->conf_name, yaml, &f->conf, &f->errors), 0);
	return f->ops->open(&ss_host_services, f->conf, conf_root(f->conf), "hr", &f->instance);
}

static int read_source(struct fixture *f)
{
	struct ss_read_request request = { .full = true, .now = f->now };
	records_clear(f);
	f->result = (struct ss_read_result) { .listing = SS_LISTING_FAILED, .records = 99 };
	return f->ops->read(f->instance, &request, collect, f, &f->result);
}

/* Write text as staff.csv, open with yaml, read: the common case. */
static void read_csv_with(struct fixture *f, const char *yaml, const char *text)
{
	write_csv(f, text);
	assert_int_equal(open_yaml(f, yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_int_equal(f->result.records, f->n_records);
	assert_null(f->result.cursor);
}

static void read_csv(struct fixture *f, const char *text)
{
	read_csv_with(f, default_yaml, text);
}

static char *csv_text(const char *header, const char *rows)
{
	char *s;
	assert_true(asprintf(&s, "%s%s", header, rows) >= 0);
	return s;
}

static void read_rows(struct fixture *f, const char *rows)
{
	_cleanup_free_ char *text = csv_text(default_header, rows);
	read_csv(f, text);
}

static bool has_error(const struct fixture *f, const char *text)
{
	for (size_t i = 0; i < f->errors.n; i++)
		if (strstr(f->errors.lines[i], text))
			return true;
	return false;
}

static void assert_listing(const struct fixture *f, enum ss_listing listing, const char *reason)
{
	if (f->result.listing != listing)
		fail_msg("listing %d, expected %d (reason: %s)", (int)f->result.listing,
			 (int)listing, f->result.reason);
	if (reason && !strstr(f->result.reason, reason))
		fail_msg("reason \"%s\" lacks \"%s\"", f->result.reason, reason);
	if (!reason)
		assert_string_equal(f->result.reason, "");
}

/* ------------------------------------------------------------- tests --- */

static void test_descriptor(void **state)
{
	const struct ss_plugin *p = staffsync_plugin();
	assert_int_equal(p->abi_version, SS_PLUGIN_ABI_VERSION);
	assert_int_equal(p->kind, SS_PLUGIN_SOURCE);
	assert_string_equal(p->name, "csv");
	assert_non_null(p->source);
	assert_null(p->target);
	assert_non_null(p->source->open);
	assert_non_null(p->source->read);
	assert_non_null(p->source->close);
}

static void test_header_mapping_and_values(void **state)
{
	struct fixture *f = *state;
	/* Columns in another order than the mapping, and one the mapping ignores. */
	read_csv_with(f,
		"name: hr\ntype: csv\npath: staff.csv\n"
		"columns: { id: employee_id, given_name: first_name, family_name: last_name,\n"
		"           email: email, employee_id: number, speciality: title, dn: dn,\n"
		"           groups: groups, facility: site }\n",
		"site,title,last_name,first_name,employee_id,email,number,dn,groups,note\n"
		"North,Cardiology,Smith,Ann,E1,ann@example.org,100,\"cn=ann,o=x\",surgeons,hi\n"
		"South,,Jones,Bob,E2,,101,,,\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_int_equal(f->result.bad, 0);

	const struct got_record *a = &f->records[0];
	assert_null(a->error);
	assert_string_equal(a->id, "E1");
	assert_string_equal(a->origin, "staff.csv row 2");
	assert_string_equal(a->given_name, "Ann");
	assert_string_equal(a->family_name, "Smith");
	assert_string_equal(a->email, "ann@example.org");
	assert_string_equal(a->employee_id, "100");
	assert_string_equal(a->speciality, "Cardiology");
	assert_string_equal(a->dn, "cn=ann,o=x");
	assert_string_equal(a->groups, "surgeons");
	assert_string_equal(a->facilities, "North");
	assert_true(a->enabled);   /* no enabled column: everyone is enabled */
	assert_string_equal(a->attrs, "site=North|title=Cardiology|last_name=Smith|first_name=Ann|"
			    "employee_id=E1|email=ann@example.org|number=100|dn=cn=ann,o=x|"
			    "groups=surgeons|note=hi");

	const struct got_record *b = &f->records[1];
	assert_string_equal(b->id, "E2");
	assert_string_equal(b->origin, "staff.csv row 3");
	assert_null(b->email);
	assert_null(b->speciality);
	assert_null(b->dn);
	assert_false(b->has_groups);
	assert_string_equal(b->facilities, "South");
	assert_true(b->enabled);
	assert_string_equal(b->attrs, "site=South|title=|last_name=Jones|first_name=Bob|"
			    "employee_id=E2|email=|number=101|dn=|groups=|note=");
}

static void test_whitespace_trimmed_empty_is_null(void **state)
{
	struct fixture *f = *state;
	read_csv(f,
		" employee_id , first_name,last_name ,email,groups,site,status\n"
		"  E1  ,  Ann  ,\" Smith \",   ,\"  \",,active\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
	const struct got_record *a = &f->records[0];
	assert_string_equal(a->id, "E1");
	assert_string_equal(a->given_name, "Ann");
	assert_string_equal(a->family_name, "Smith");
	assert_null(a->email);
	assert_false(a->has_groups);
	assert_false(a->has_facilities);
}

static void test_quoted_fields(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,\"Ann, Jr.\",\"O\"\"Brien\",ann@example.org,,North,yes\n"
		"E2,\"Bob\nRobert\",Jones,,,South,yes\n"
		"E3,Cy,\"Lee, \"\"the\"\"\n\nthird\",,,South,yes\n"
		"E4,Di,Park,,,North,yes\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 4);
	assert_string_equal(f->records[0].given_name, "Ann, Jr.");
	assert_string_equal(f->records[0].family_name, "O\"Brien");
	assert_string_equal(f->records[0].origin, "staff.csv row 2");
	assert_string_equal(f->records[1].given_name, "Bob\nRobert");
	assert_string_equal(f->records[1].origin, "staff.csv row 3");
	/* Row 4 begins on line 5: row 3 took two lines. */
	assert_string_equal(f->records[2].family_name, "Lee, \"the\"\n\nthird");
	assert_string_equal(f->records[2].origin, "staff.csv row 4 (line 5)");
	assert_string_equal(f->records[3].id, "E4");
	assert_string_equal(f->records[3].origin, "staff.csv row 5 (line 8)");
}

static void test_multi_line_first_field(void **state)
{
	struct fixture *f = *state;
	/* The row begins where its first field's quote opened, not where that
	 * field ended. */
	read_csv_with(f, "path: staff.csv\ncolumns: { id: id }\n",
		      "note,id\n\"two\nlines\",E1\n\"three\n\nlines\",E2\nx,E3\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 3);
	assert_string_equal(f->records[0].origin, "staff.csv row 2");
	assert_string_equal(f->records[1].origin, "staff.csv row 3 (line 4)");
	assert_string_equal(f->records[2].origin, "staff.csv row 4 (line 7)");
	assert_string_equal(f->records[1].attrs, "note=three\n\nlines|id=E2");
}

static void test_crlf(void **state)
{
	struct fixture *f = *state;
	read_csv(f,
		"employee_id,first_name,last_name,email,groups,site,status\r\n"
		"E1,Ann,Smith,ann@example.org,a;b,North,true\r\n"
		"E2,\"Multi\r\nLine\",Jones,,,South,false\r\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_string_equal(f->records[0].id, "E1");
	assert_string_equal(f->records[0].email, "ann@example.org");
	assert_string_equal(f->records[0].groups, "a|b");
	assert_string_equal(f->records[1].given_name, "Multi\r\nLine");
	assert_string_equal(f->records[1].origin, "staff.csv row 3");
	assert_false(f->records[1].enabled);
	/* No stray CR at the end of the last column. */
	assert_string_equal(f->records[0].attrs + strlen(f->records[0].attrs) - strlen("status=true"),
			    "status=true");
}

static void test_bom_skipped(void **state)
{
	struct fixture *f = *state;
	read_csv(f, "\xef\xbb\xbf" "employee_id,first_name,last_name,email,groups,site,status\n"
		 "E1,Ann,Smith,,,,yes\n");
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].id, "E1");
	assert_string_equal(f->records[0].origin, "staff.csv row 2");
}

static void test_semicolon_delimiter(void **state)
{
	struct fixture *f = *state;
	read_csv_with(f,
		"path: staff.csv\ndelimiter: ';'\nlist_separator: ','\n"
		"columns: { id: id, given_name: name, groups: groups }\n",
		"id;name;groups\n"
		"1;\"Smith; Ann\";a, b,,c\n"
		"2;Bob;\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_string_equal(f->records[0].given_name, "Smith; Ann");
	assert_string_equal(f->records[0].groups, "a|b|c");
	assert_string_equal(f->records[1].given_name, "Bob");
	assert_false(f->records[1].has_groups);
}

static void test_tab_delimiter(void **state)
{
	struct fixture *f = *state;
	read_csv_with(f,
		"path: staff.csv\ndelimiter: \"\\t\"\n"
		"columns: { id: id, given_name: name, family_name: surname, email: mail }\n",
		"id\tname\tsurname\tmail\n"
		"1\tAnn Marie\t\tann@example.org\n"
		"2\t\"Bob\tB\"\tJones\t\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_string_equal(f->records[0].given_name, "Ann Marie");
	assert_null(f->records[0].family_name);
	assert_string_equal(f->records[0].email, "ann@example.org");
	assert_string_equal(f->records[1].given_name, "Bob\tB");
	assert_string_equal(f->records[1].family_name, "Jones");
	assert_null(f->records[1].email);
}

static void test_multi_valued_lists(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,surgeons; coordinators ;;,North;N,yes\n"
		"E2,Bob,Jones,,; ;,  ,yes\n"
		"E3,Cy,Lee,,\"lab;a,b\",South,yes\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 3);
	assert_string_equal(f->records[0].groups, "surgeons|coordinators");
	assert_string_equal(f->records[0].facilities, "North|N");
	/* The raw attribute keeps the whole cell. */
	assert_non_null(strstr(f->records[0].attrs, "groups=surgeons; coordinators ;;|"));
	assert_false(f->records[1].has_groups);
	assert_false(f->records[1].has_facilities);
	assert_string_equal(f->records[2].groups, "lab|a,b");
}

static void test_same_column_for_two_fields(void **state)
{
	struct fixture *f = *state;
	/* Splitting a list must not cut the value another field reads. */
	read_csv_with(f,
		"path: staff.csv\ncolumns: { id: id, groups: dept, facility: dept, speciality: dept }\n",
		"id,dept\n1,North;Cardiology\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].groups, "North|Cardiology");
	assert_string_equal(f->records[0].facilities, "North|Cardiology");
	assert_string_equal(f->records[0].speciality, "North;Cardiology");
	assert_string_equal(f->records[0].attrs, "id=1|dept=North;Cardiology");
}

static void test_enabled_values(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"1,,,,,,true\n2,,,,,,FALSE\n3,,,,,,Yes\n4,,,,,,no\n"
		"5,,,,,,1\n6,,,,,,0\n7,,,,,,Active\n8,,,,,,INACTIVE\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 8);
	assert_int_equal(f->result.bad, 0);
	for (size_t i = 0; i < 8; i++) {
		assert_null(f->records[i].error);
		assert_int_equal(f->records[i].enabled, i % 2 == 0);
	}
}

static void test_bad_enabled_value(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,maybe\n"
		"E2,Bob,Jones,,,,\n"
		"E3,Cy,Lee,,,,yes\n");

	/* The ids are trustworthy: the engine holds those two people. */
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 3);
	assert_int_equal(f->result.bad, 2);
	assert_string_equal(f->records[0].id, "E1");
	assert_string_equal(f->records[0].error,
			    "row 2: 'maybe' in column 'status' (enabled) is not one of "
			    "true/false, yes/no, 1/0, active/inactive");
	assert_string_equal(f->records[1].id, "E2");
	assert_string_equal(f->records[1].error, "row 3: no value in column 'status' (enabled)");
	assert_null(f->records[2].error);
	assert_string_equal(f->records[2].id, "E3");
}

static void test_invalid_utf8_in_a_field(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smithsonian-Sm\xe9th,,,,yes\n"   /* Latin-1, after 8+ ASCII bytes */
		"E2,Bob,\xc0\xaf,,,,yes\n"               /* overlong */
		"E3,Cy,\xed\xa0\x80,,,,yes\n"            /* surrogate */
		"E4,D\xc3\xa9sir\xc3\xa9\xf0\x9f\x98\x80,Lee,,,,yes\n");   /* valid */

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 4);
	assert_int_equal(f->result.bad, 3);
	assert_string_equal(f->records[0].id, "E1");
	assert_string_equal(f->records[0].error, "row 2: invalid UTF-8 in column 'last_name'");
	assert_string_equal(f->records[1].id, "E2");
	assert_non_null(f->records[1].error);
	assert_string_equal(f->records[2].id, "E3");
	assert_non_null(f->records[2].error);
	assert_null(f->records[3].error);
	assert_string_equal(f->records[3].given_name, "D\xc3\xa9sir\xc3\xa9\xf0\x9f\x98\x80");
}

static void test_invalid_utf8_in_id(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"E\xff,Bob,Jones,,,,yes\n"
		"E3,Cy,Lee,,,,yes\n"
		"E4\xff,D\xffi,Park,,,,yes\n");

	assert_listing(f, SS_LISTING_INCOMPLETE,
		       "staff.csv row 3: invalid UTF-8 in column 'employee_id': "
		       "that person cannot be identified");
	assert_int_equal(f->n_records, 4);
	assert_int_equal(f->result.bad, 2);
	assert_null(f->records[1].id);
	assert_string_equal(f->records[1].error, "row 3: invalid UTF-8 in column 'employee_id'");
	assert_string_equal(f->records[2].id, "E3");
	assert_null(f->records[3].id);
	assert_string_equal(f->records[3].error, "row 5: invalid UTF-8 in column 'employee_id'");
}

static void test_invalid_utf8_before_and_in_id(void **state)
{
	struct fixture *f = *state;
	/* A bad name in an earlier column must not hide a bad id. */
	read_csv_with(f, "path: staff.csv\ncolumns: { id: id, given_name: name }\n",
		      "name,id\nB\xff" "b,X\xff\nC\xff" "y,E2\n");

	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv row 2: invalid UTF-8 in column 'id'");
	assert_int_equal(f->n_records, 2);
	assert_null(f->records[0].id);
	assert_string_equal(f->records[0].error, "row 2: invalid UTF-8 in column 'id'");
	assert_string_equal(f->records[1].id, "E2");
	assert_string_equal(f->records[1].error, "row 3: invalid UTF-8 in column 'name'");
}

static void test_nul_byte(void **state)
{
	struct fixture *f = *state;
	static const char text[] =
		"employee_id,first_name,last_name,email,groups,site,status\n"
		"E1,Annabelle-Marie\0n,Smith,,,,yes\n";
	write_file(f, "staff.csv", text, sizeof(text) - 1);
	assert_int_equal(open_yaml(f, default_yaml), 0);
	assert_int_equal(read_source(f), 0);

	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].id, "E1");
	assert_string_equal(f->records[0].error, "row 2: a NUL byte in column 'first_name'");
}

static void test_wrong_field_count(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"E2,Bob,Jones,,yes\n"
		"E3,Cy,Lee,,,,yes,extra\n"
		"E4,Di,Park,,,,yes\n");

	/* Columns may be shifted: no id, and the listing cannot be complete. */
	assert_listing(f, SS_LISTING_INCOMPLETE,
		       "staff.csv row 3: 5 fields, the header has 7: that person cannot be identified");
	assert_non_null(strstr(f->result.reason, "(and 1 more problem)"));
	assert_int_equal(f->n_records, 4);
	assert_int_equal(f->result.bad, 2);
	assert_null(f->records[1].id);
	assert_string_equal(f->records[1].error, "row 3: 5 fields, the header has 7");
	assert_string_equal(f->records[1].origin, "staff.csv row 3");
	assert_null(f->records[2].id);
	assert_string_equal(f->records[2].error, "row 4: 8 fields, the header has 7");
	assert_string_equal(f->records[0].id, "E1");
	assert_null(f->records[0].error);
	assert_string_equal(f->records[3].id, "E4");
	assert_null(f->records[3].error);
}

static void test_missing_id(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"  ,Bob,Jones,,,,yes\n"
		"E3,Cy,Lee,,,,yes\n");

	assert_listing(f, SS_LISTING_INCOMPLETE,
		       "staff.csv row 3: no value in column 'employee_id' (id): "
		       "that person cannot be identified");
	assert_int_equal(f->n_records, 3);
	assert_int_equal(f->result.bad, 1);
	assert_null(f->records[1].id);
	assert_string_equal(f->records[1].error, "row 3: no value in column 'employee_id' (id)");
	assert_string_equal(f->records[2].id, "E3");
}

static void test_malformed_quoting_resynchronises(void **state)
{
	struct fixture *f = *state;
	/* Row 3 opens a quote that row 4 seems to close: strict parsing stops
	 * at the quote followed by text, drops the rest of line 4 and goes on. */
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"E2,\"Bob,Jones,,,,yes\n"
		"E3,\"Cy\",Lee,,,,yes\n"
		"E4,Di,Park,,,,yes\n"
		"E5,D\"ave,Ray,,,,yes\n"
		"E6,Ed,Fox,,,,yes\n");

	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv row 3: malformed quoting");
	assert_non_null(strstr(f->result.reason, "that person cannot be identified (and 1 more problem)"));
	assert_int_equal(f->n_records, 5);
	assert_int_equal(f->result.bad, 2);
	assert_string_equal(f->records[0].id, "E1");
	assert_null(f->records[1].id);
	assert_non_null(strstr(f->records[1].error, "row 3: malformed quoting"));
	assert_non_null(strstr(f->records[1].error, "on line 4"));
	assert_string_equal(f->records[2].id, "E4");
	assert_string_equal(f->records[2].origin, "staff.csv row 4 (line 5)");
	assert_null(f->records[3].id);
	assert_non_null(strstr(f->records[3].error, "row 5 (line 6): malformed quoting"));
	assert_string_equal(f->records[4].id, "E6");
	assert_string_equal(f->records[4].origin, "staff.csv row 6 (line 7)");
}

static void test_truncated_inside_quotes(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"E2,Bob,\"Jon");

	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv row 3: the file ends inside a quoted field");
	assert_int_equal(f->n_records, 2);
	assert_int_equal(f->result.bad, 1);
	assert_string_equal(f->records[0].id, "E1");
	assert_null(f->records[0].error);
	assert_null(f->records[1].id);
	assert_string_equal(f->records[1].error, "row 3: the file ends inside a quoted field: it was truncated");
}

static void test_empty_file(void **state)
{
	struct fixture *f = *state;
	read_csv(f, "");
	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv: no data rows");
	assert_int_equal(f->n_records, 0);
	assert_int_equal(f->result.bad, 0);
}

static void test_header_only(void **state)
{
	struct fixture *f = *state;
	read_rows(f, "\n\n");
	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv: no data rows");
	assert_null(strstr(f->result.reason, "empty"));
	assert_int_equal(f->n_records, 0);
}

static void test_missing_final_newline(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"E1,Ann,Smith,,,,yes\n"
		"E2,Bob,Jones,bob@exam,,,yes");

	/* The last row may be cut short: its person is held, not written. */
	assert_listing(f, SS_LISTING_INCOMPLETE,
		       "staff.csv: the last row has no line ending: the file may be truncated");
	assert_int_equal(f->n_records, 2);
	assert_int_equal(f->result.bad, 1);
	assert_null(f->records[0].error);
	assert_string_equal(f->records[1].id, "E2");
	assert_string_equal(f->records[1].error,
			    "row 3: the last row has no line ending: the file may be truncated");
}

static void test_final_newline_not_required(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *yaml = NULL;
	assert_true(asprintf(&yaml, "%srequire_final_newline: false\n", default_yaml) >= 0);
	_cleanup_free_ char *text = csv_text(default_header, "E1,Ann,Smith,,,,yes\nE2,Bob,\"Jones\",,,,no");
	read_csv_with(f, yaml, text);

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_int_equal(f->result.bad, 0);
	assert_string_equal(f->records[1].family_name, "Jones");
	assert_false(f->records[1].enabled);
}

static void set_age(struct fixture *f, time_t age)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/staff.csv", f->dir);
	struct timespec times[2] = {
		{ .tv_sec = f->now - age },
		{ .tv_sec = f->now - age },
	};
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
}

static void test_stale_file(void **state)
{
	struct fixture *f = *state;
	read_rows(f, "E1,Ann,Smith,,,,yes\n");
	assert_listing(f, SS_LISTING_FULL, NULL);

	set_age(f, 3 * 86400 + 600);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE,
		       "staff.csv is 3d old, older than max_age 48h: stale export");
	/* The rows are still read. */
	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].id, "E1");

	/* Just under the limit is fine. */
	set_age(f, 48 * 3600 - 60);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FULL, NULL);

	/* A clock that went backwards, or a file from the future: not stale. */
	set_age(f, -3600);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FULL, NULL);
}

static void test_max_age_custom_and_never(void **state)
{
	struct fixture *f = *state;
	_cleanup_free_ char *yaml = NULL;
	assert_true(asprintf(&yaml, "%smax_age: 90m\n", default_yaml) >= 0);
	read_csv_with(f, yaml, "employee_id,first_name,last_name,email,groups,site,status\nE1,,,,,,yes\n");
	set_age(f, 2 * 3600 + 5);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv is 2h old, older than max_age 90m: stale export");

	f->ops->close(f->instance);
	f->instance = NULL;
	conf_free(f->conf);
	f->conf = NULL;
	free(yaml);
	assert_true(asprintf(&yaml, "%smax_age: never\n", default_yaml) >= 0);
	assert_int_equal(open_yaml(f, yaml), 0);
	set_age(f, 400 * 86400);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
}

static void test_missing_mapped_column(void **state)
{
	struct fixture *f = *state;
	read_csv(f, "number,first_name,last_name,email,groups,site,status\n1,Ann,Smith,,,,yes\n");
	assert_listing(f, SS_LISTING_FAILED,
		       "staff.csv: column 'employee_id' (mapped to id) is not in the header");
	assert_string_equal(f->result.reason,
			    "staff.csv: column 'employee_id' (mapped to id) is not in the header");
	assert_int_equal(f->n_records, 0);
}

static void test_duplicate_header(void **state)
{
	struct fixture *f = *state;
	/* An unmapped duplicate is harmless... */
	read_csv(f, "employee_id,first_name,last_name,email,groups,site,status,note,note\n"
		 "E1,Ann,Smith,,,,yes,a,b\n");
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
	assert_non_null(strstr(f->records[0].attrs, "note=a|note=b"));

	/* ...a mapped one is ambiguous. */
	write_csv(f, "employee_id,first_name,last_name,email,groups,site,status,email\n"
		  "E1,Ann,Smith,a@example.org,,,yes,b@example.org\n");
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FAILED, "staff.csv: column 'email' (mapped to email) appears 2 times");
	assert_int_equal(f->n_records, 0);
}

static void test_unreadable_file(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(open_yaml(f, default_yaml), 0);

	/* Missing. */
	assert_int_equal(read_source(f), 0);
	assert_int_equal(f->result.listing, SS_LISTING_FAILED);
	assert_non_null(strstr(f->result.reason, "/staff.csv: No such file or directory"));
	assert_non_null(strstr(f->result.reason, f->dir));   /* the resolved path */
	assert_int_equal(f->n_records, 0);
	assert_int_equal(f->result.records, 0);

	/* Not a file. */
	char path[256];
	snprintf(path, sizeof(path), "%s/staff.csv", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(read_source(f), 0);
	assert_int_equal(f->result.listing, SS_LISTING_FAILED);
	assert_non_null(strstr(f->result.reason, "Is a directory"));
}

static void test_blank_lines_and_line_numbers(void **state)
{
	struct fixture *f = *state;
	read_rows(f,
		"\n"
		"E1,Ann,Smith,,,,yes\n"
		"   \n"
		"E2,Bob,Jones,,,,yes\n");

	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 2);
	assert_string_equal(f->records[0].origin, "staff.csv row 2 (line 3)");
	assert_string_equal(f->records[1].origin, "staff.csv row 3 (line 5)");
}

static void test_emit_abort_passes_error(void **state)
{
	struct fixture *f = *state;
	f->abort_at = 2;
	write_csv(f, "employee_id,first_name,last_name,email,groups,site,status\n"
		  "E1,,,,,,yes\nE2,,,,,,yes\nE3,,,,,,yes\n");
	assert_int_equal(open_yaml(f, default_yaml), 0);
	assert_int_equal(read_source(f), -ECANCELED);
	assert_int_equal(f->n_records, 1);
	assert_int_equal(f->result.records, 1);
	assert_int_not_equal(f->result.listing, SS_LISTING_FULL);
}

/* Rows of varying length with multi-line quoted fields, so that rows,
 * fields and CRLF pairs straddle the 64 KiB chunk boundaries. */
static void test_rows_across_chunks(void **state)
{
	struct fixture *f = *state;
	const unsigned n = 6000;
	size_t size = 0;
	char *text = NULL;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	fputs("employee_id,first_name,last_name,email,groups,site,status\r\n", out);
	for (unsigned i = 0; i < n; i++) {
		if (i % 7 == 3)
			fprintf(out, "E%u,\"First\r\n%u\",\"Last, %.*s\",e%u@example.org,g1;g2,North,yes\r\n",
				i, i, (int)(i % 40), "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", i);
		else
			fprintf(out, "E%u,First%u,Last%u,e%u@example.org,g1;g2,South,no\r\n", i, i, i, i);
	}
	assert_int_equal(fclose(out), 0);
	assert_true(size > 3 * 64 * 1024);
	write_file(f, "staff.csv", text, size);
	free(text);

	assert_int_equal(open_yaml(f, default_yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, n);
	assert_int_equal(f->result.bad, 0);

	unsigned long line = 2;
	for (unsigned i = 0; i < n; i++) {
		const struct got_record *g = &f->records[i];
		char want[64];
		snprintf(want, sizeof(want), "E%u", i);
		assert_string_equal(g->id, want);
		snprintf(want, sizeof(want), "e%u@example.org", i);
		assert_string_equal(g->email, want);
		assert_string_equal(g->groups, "g1|g2");
		if (line == i + 2)
			snprintf(want, sizeof(want), "staff.csv row %u", i + 2);
		else
			snprintf(want, sizeof(want), "staff.csv row %u (line %lu)", i + 2, line);
		assert_string_equal(g->origin, want);
		line += i % 7 == 3 ? 2 : 1;
	}
}

/* A malformed row cut by a chunk boundary: the rest of its line, in the
 * next chunk, is skipped rather than read as a row of its own. */
static void test_malformed_row_across_chunks(void **state)
{
	struct fixture *f = *state;
	size_t size = 0;
	char *text = NULL;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	fputs("employee_id,first_name,last_name,email,groups,site,status\n", out);
	unsigned n = 0;
	while (size + 40 < 64 * 1024) {
		fprintf(out, "E%u,Ann,Smith,,,,yes\n", n++);
		fflush(out);
	}
	/* The stray quote is before the boundary, the line ends after it. */
	fputs("BAD,D\"ave,", out);
	for (unsigned i = 0; i < 200; i++)
		fputs("x,", out);
	fputs("yes\n", out);
	fputs("LAST,Ann,Smith,,,,yes\n", out);
	assert_int_equal(fclose(out), 0);
	write_file(f, "staff.csv", text, size);
	free(text);

	assert_int_equal(open_yaml(f, default_yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE, "malformed quoting");
	assert_int_equal(f->n_records, n + 2);
	assert_int_equal(f->result.bad, 1);
	assert_null(f->records[n].id);
	assert_string_equal(f->records[n + 1].id, "LAST");
	assert_null(f->records[n + 1].error);
}

/* A quote never closed would swallow the rest of the file into one field:
 * the reader gives up on that row past 1 MiB and goes on at the next line. */
static void test_unclosed_quote_is_bounded(void **state)
{
	struct fixture *f = *state;
	size_t size = 0;
	char *text = NULL;
	FILE *out = open_memstream(&text, &size);
	assert_non_null(out);
	fputs("employee_id,first_name,last_name,email,groups,site,status\n", out);
	fputs("E1,Ann,Smith,,,,yes\n", out);
	fputs("E2,\"Bob,Jones,,,,yes\n", out);
	for (unsigned i = 0; i < 40000; i++)
		fprintf(out, "F%u,filler row with no quotes at all,x,,,,yes\n", i);
	assert_int_equal(fclose(out), 0);
	write_file(f, "staff.csv", text, size);
	free(text);

	assert_int_equal(open_yaml(f, default_yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv row 3: a field longer than 1 MiB");
	assert_true(f->n_records > 3);
	assert_string_equal(f->records[0].id, "E1");
	assert_null(f->records[1].id);
	assert_non_null(f->records[1].error);
	/* After the resynchronisation, whole rows again. */
	const struct got_record *last = &f->records[f->n_records - 1];
	assert_string_equal(last->id, "F39999");
	assert_null(last->error);
	assert_int_equal(f->result.bad, 1);
}

static void test_relative_and_absolute_path(void **state)
{
	struct fixture *f = *state;
	char sub[128], yaml[512];
	snprintf(sub, sizeof(sub), "%s/hr", f->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file(f, "hr/export.csv", "id\nA\n", 5);

	snprintf(yaml, sizeof(yaml), "path: hr/export.csv\ncolumns: { id: id }\n");
	assert_int_equal(open_yaml(f, yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_FULL, NULL);
	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].origin, "export.csv row 2");
	f->ops->close(f->instance);
	f->instance = NULL;
	conf_free(f->conf);
	f->conf = NULL;

	snprintf(yaml, sizeof(yaml), "path: %s/export.csv\ncolumns: { id: id }\n", sub);
	assert_int_equal(open_yaml(f, yaml), 0);
	assert_int_equal(read_source(f), 0);
	assert_int_equal(f->n_records, 1);
	assert_string_equal(f->records[0].id, "A");
}

/* ---------------------------------------------------- configuration --- */

static void test_config_unknown_field(void **state)
{
	struct fixture *f = *state;
	int r = open_yaml(f,
		"name: hr\n"
		"type: csv\n"
		"path: staff.csv\n"
		"columns:\n"
		"  id: employee_id\n"
		"  first: first_name\n");
	assert_int_equal(r, -EINVAL);
	assert_null(f->instance);
	assert_int_equal(f->errors.n, 1);
	char want[256];
	snprintf(want, sizeof(want), "%s:6:3: columns: unknown record field 'first'", f->conf_name);
	if (!strstr(f->errors.lines[0], want))
		fail_msg("got \"%s\", expected \"%s...\"", f->errors.lines[0], want);
}

static void test_config_missing_path(void **state)
{
	struct fixture *f = *state;
	int r = open_yaml(f, "name: hr\ntype: csv\ncolumns: { id: employee_id }\n");
	assert_int_equal(r, -EINVAL);
	assert_null(f->instance);
	assert_int_equal(f->errors.n, 1);
	char want[256];
	snprintf(want, sizeof(want), "%s:1:1: missing required key 'path'", f->conf_name);
	assert_string_equal(f->errors.lines[0], want);
}

static void test_config_missing_id_mapping(void **state)
{
	struct fixture *f = *state;
	int r = open_yaml(f,
		"name: hr\n"
		"type: csv\n"
		"path: staff.csv\n"
		"columns:\n"
		"    given_name: first_name\n"
		"    email: email\n");
	assert_int_equal(r, -EINVAL);
	assert_int_equal(f->errors.n, 1);
	char want[256];
	snprintf(want, sizeof(want), "%s:5:5: columns: 'id' is required", f->conf_name);
	if (!strstr(f->errors.lines[0], want))
		fail_msg("got \"%s\", expected \"%s...\"", f->errors.lines[0], want);
}

static void test_config_bad_values(void **state)
{
	struct fixture *f = *state;
	int r = open_yaml(f,
		"path: ''\n"
		"columns: { id: '', email: '' }\n"
		"delimiter: '\"'\n"
		"max_age: soon\n"
		"list_separator: ab\n"
		"colour: blue\n");
	assert_int_equal(r, -EINVAL);
	assert_null(f->instance);
	assert_true(has_error(f, ":1:7: path: needs the CSV file's name"));
	assert_true(has_error(f, ":2:16: columns: 'id' needs a CSV header name"));
	assert_true(has_error(f, ":2:27: columns: 'email' needs a CSV header name"));
	assert_true(has_error(f, ":3:12: delimiter: a quote or a line break cannot separate fields"));
	assert_true(has_error(f, ":4:10: max_age:"));
	assert_true(has_error(f, ":5:17: list_separator:"));
	assert_true(has_error(f, ":6:1: unknown key 'colour'"));
	assert_int_equal(f->errors.n, 7);   /* and no "'id' is required" */
}

static void test_config_defaults(void **state)
{
	struct fixture *f = *state;
	/* Minimal configuration: ',' ';' 48h and a final newline required. */
	read_csv_with(f, "path: staff.csv\ncolumns: { id: id, groups: g }\n",
		      "id,g\n1,a;b\n2,c");
	assert_listing(f, SS_LISTING_INCOMPLETE, "may be truncated");
	assert_string_equal(f->records[0].groups, "a|b");

	set_age(f, 47 * 3600);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE, "may be truncated");
	set_age(f, 49 * 3600);
	assert_int_equal(read_source(f), 0);
	assert_listing(f, SS_LISTING_INCOMPLETE, "staff.csv is 49h old, older than max_age 48h");
	assert_non_null(strstr(f->result.reason, "(and 1 more problem)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(test_descriptor),
		T(test_header_mapping_and_values),
		T(test_whitespace_trimmed_empty_is_null),
		T(test_quoted_fields),
		T(test_multi_line_first_field),
		T(test_crlf),
		T(test_bom_skipped),
		T(test_semicolon_delimiter),
		T(test_tab_delimiter),
		T(test_multi_valued_lists),
		T(test_same_column_for_two_fields),
		T(test_enabled_values),
		T(test_bad_enabled_value),
		T(test_invalid_utf8_in_a_field),
		T(test_invalid_utf8_in_id),
		T(test_invalid_utf8_before_and_in_id),
		T(test_nul_byte),
		T(test_wrong_field_count),
		T(test_missing_id),
		T(test_malformed_quoting_resynchronises),
		T(test_truncated_inside_quotes),
		T(test_empty_file),
		T(test_header_only),
		T(test_missing_final_newline),
		T(test_final_newline_not_required),
		T(test_stale_file),
		T(test_max_age_custom_and_never),
		T(test_missing_mapped_column),
		T(test_duplicate_header),
		T(test_unreadable_file),
		T(test_blank_lines_and_line_numbers),
		T(test_emit_abort_passes_error),
		T(test_rows_across_chunks),
		T(test_malformed_row_across_chunks),
		T(test_unclosed_quote_is_bounded),
		T(test_relative_and_absolute_path),
		T(test_config_unknown_field),
		T(test_config_missing_path),
		T(test_config_missing_id_mapping),
		T(test_config_bad_values),
		T(test_config_defaults),
#undef T
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
