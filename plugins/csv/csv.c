/* SPDX-License-Identifier: MIT */
/*
 * CSV source: an HR export (RFC 4180) read with libcsv.
 *
 * The file is streamed in 64 KiB chunks and cut at line feeds before it
 * reaches the parser, so the reader always knows the physical line it is on
 * (for "row N (line L)" messages) and can resynchronise at the next line after
 * malformed quoting. Memory is bounded by the longest row (at most ROW_MAX),
 * never by the file.
 *
 * A CSV is always a full listing, unless something says people may be
 * missing from it (truncation, a stale file, a row whose person cannot be
 * identified): then it is INCOMPLETE, which keeps the engine from
 * deactivating anyone. A bad row whose id can be trusted is emitted with an
 * error, so the engine holds that person as they are.
 */
#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "staffsync-plugin.h"
#include "util.h"               /* only its inline helpers: a plugin links no daemon code */

#define CHUNK_SIZE (64u * 1024u)
/* A row (or a field held by the parser) longer than this is treated as
 * malformed: it is almost always a quote that was never closed, and the cap
 * keeps memory bounded whatever the file holds. */
#define ROW_MAX (1024u * 1024u)
#define DEFAULT_MAX_AGE (48ULL * 3600ULL * SS_USEC_PER_SEC)

/* ------------------------------------------------------------ settings --- */

enum field {
	FIELD_ID,
	FIELD_GIVEN_NAME,
	FIELD_FAMILY_NAME,
	FIELD_EMAIL,
	FIELD_EMPLOYEE_ID,
	FIELD_SPECIALITY,
	FIELD_GROUPS,
	FIELD_FACILITY,
	FIELD_DN,
	FIELD_ENABLED,
	_FIELD_MAX,
};

static const char *const field_names[_FIELD_MAX] = {
	[FIELD_ID]          = "id",
	[FIELD_GIVEN_NAME]  = "given_name",
	[FIELD_FAMILY_NAME] = "family_name",
	[FIELD_EMAIL]       = "email",
	[FIELD_EMPLOYEE_ID] = "employee_id",
	[FIELD_SPECIALITY]  = "speciality",
	[FIELD_GROUPS]      = "groups",
	[FIELD_FACILITY]    = "facility",
	[FIELD_DN]          = "dn",
	[FIELD_ENABLED]     = "enabled",
};

/* The source's YAML mapping, as conf_parse fills it. */
struct csv_settings {
	char *path;
	char **columns;          /* field, header, field, header, ... */
	char delimiter;
	char list_separator;
	uint64_t max_age;
	bool require_final_newline;
};

static const struct ss_conf_key csv_keys[] = {
	{ "name", SS_CONF_SKIP, 0, false, NULL },
	{ "type", SS_CONF_SKIP, 0, false, NULL },
	{ "path", SS_CONF_STRING, offsetof(struct csv_settings, path), true, NULL },
	{ "columns", SS_CONF_STRING_MAP, offsetof(struct csv_settings, columns), true, NULL },
	{ "delimiter", SS_CONF_CHAR, offsetof(struct csv_settings, delimiter), false, NULL },
	{ "list_separator", SS_CONF_CHAR, offsetof(struct csv_settings, list_separator), false, NULL },
	{ "max_age", SS_CONF_DURATION, offsetof(struct csv_settings, max_age), false, NULL },
	{ "require_final_newline", SS_CONF_BOOL, offsetof(struct csv_settings, require_final_newline), false, NULL },
	{ NULL, 0, 0, false, NULL },
};

struct csv_source {
	const struct ss_host *host;
	char *name;
	char *path;              /* absolute */
	const char *label;       /* the file's base name, for messages (points into path) */
	char *columns[_FIELD_MAX];   /* header name per field; NULL: not mapped */
	char delimiter;
	char list_separator;
	uint64_t max_age;        /* SS_DURATION_NEVER: no age check */
	bool require_final_newline;
};

static int field_from_name(const char *name)
{
	for (int f = 0; f < _FIELD_MAX; f++)
		if (streq(field_names[f], name))
			return f;
	return -1;
}

/* The key node of key in a YAML mapping, so an error points at the key the
 * user wrote rather than at its value. */
static const yaml_node_t *mapping_key_node(const struct ss_host *host, ss_conf *conf,
					   const yaml_node_t *mapping, const char *key)
{
	if (!mapping || mapping->type != YAML_MAPPING_NODE)
		return mapping;
	for (const yaml_node_pair_t *p = mapping->data.mapping.pairs.start;
	     p < mapping->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = host->conf_node(conf, p->key);
		if (k && k->type == YAML_SCALAR_NODE &&
		    streq((const char *)k->data.scalar.value, key))
			return k;
	}
	return mapping;
}

/* Check the columns map and take its header names into src->columns.
 * Returns the number of errors recorded, or -ENOMEM. */
static int take_columns(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			char **columns, struct csv_source *src)
{
	const yaml_node_t *map = host->conf_get(conf, node, "columns");
	bool id_given = false;
	int errors = 0;

	for (size_t i = 0; columns && columns[i] && columns[i + 1]; i += 2) {
		const char *field = columns[i], *header = columns[i + 1];
		int f = field_from_name(field);
		id_given = id_given || f == FIELD_ID;

		if (f < 0) {
			host->conf_error(conf, mapping_key_node(host, conf, map, field),
					 "columns: unknown record field '%s' (known: id, given_name, "
					 "family_name, email, employee_id, speciality, groups, facility, "
					 "dn, enabled)", field);
			errors++;
			continue;
		}
		if (isempty(header)) {
			host->conf_error(conf, host->conf_get(conf, map, field),
					 "columns: '%s' needs a CSV header name", field);
			errors++;
			continue;
		}
		src->columns[f] = strdup(header);
		if (!src->columns[f])
			return -ENOMEM;
	}

	if (columns && !id_given) {
		host->conf_error(conf, map ? map : node,
				 "columns: 'id' is required (the header of the column holding each "
				 "person's stable id, such as an employee number)");
		errors++;
	}
	return errors;
}

static int check_path(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		      const char *path)
{
	if (!path || *path)
		return 0;
	host->conf_error(conf, host->conf_get(conf, node, "path"),
			 "path: needs the CSV file's name");
	return 1;
}

/* The parser gives these characters their own meaning: they cannot separate fields. */
static int check_delimiter(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
			   char delimiter)
{
	if (delimiter != '"' && delimiter != '\r' && delimiter != '\n' && delimiter != '\0')
		return 0;
	host->conf_error(conf, host->conf_get(conf, node, "delimiter"),
			 "delimiter: a quote or a line break cannot separate fields");
	return 1;
}

static void csv_source_free(struct csv_source *src)
{
	if (!src)
		return;
	for (int f = 0; f < _FIELD_MAX; f++)
		free(src->columns[f]);
	free(src->name);
	free(src->path);
	free(src);
}

static inline void csv_source_freep(struct csv_source **src) { csv_source_free(*src); }

static int csv_open(const struct ss_host *host, ss_conf *conf, const yaml_node_t *node,
		    const char *name, void **instance)
{
	struct csv_settings s = {
		.delimiter = ',',
		.list_separator = ';',
		.max_age = DEFAULT_MAX_AGE,
		.require_final_newline = true,
	};
	_cleanup_(csv_source_freep) struct csv_source *src = calloc(1, sizeof(*src));
	if (!src)
		return -ENOMEM;

	int errors = host->conf_parse(conf, node, csv_keys, &s);
	int r = take_columns(host, conf, node, s.columns, src);
	if (r >= 0) {
		errors += r + check_path(host, conf, node, s.path) +
			  check_delimiter(host, conf, node, s.delimiter);
		r = 0;
	}
	if (r == 0 && errors == 0 && s.path) {
		src->path = host->conf_path(conf, s.path);
		src->name = strdup(name ? name : "csv");
		if (!src->path || !src->name)
			r = -ENOMEM;
	}
	host->conf_free(csv_keys, &s);
	if (r < 0)
		return r;
	if (errors > 0 || !src->path)
		return -EINVAL;

	const char *slash = strrchr(src->path, '/');
	src->label = slash ? slash + 1 : src->path;
	src->host = host;
	src->delimiter = s.delimiter;
	src->list_separator = s.list_separator;
	src->max_age = s.max_age;
	src->require_final_newline = s.require_final_newline;
	*instance = TAKE_PTR(src);
	return 0;
}

static void csv_close(void *instance)
{
	csv_source_free(instance);
}

/* ---------------------------------------------------------- durations --- */

/* "3d", "50h", "15m", "30s", "500ms". Days are used from 3d on, so that the
 * default max_age reads "48h" as the user would write it. exact: only a unit
 * that divides the value (a configured limit); otherwise round down (an age). */
static void format_duration(uint64_t usec, bool exact, char *buf, size_t size)
{
	static const struct { uint64_t usec; uint64_t min; const char *suffix; } units[] = {
		{ 86400ULL * SS_USEC_PER_SEC, 3ULL * 86400ULL * SS_USEC_PER_SEC, "d" },
		{ 3600ULL * SS_USEC_PER_SEC, 3600ULL * SS_USEC_PER_SEC, "h" },
		{ 60ULL * SS_USEC_PER_SEC, 60ULL * SS_USEC_PER_SEC, "m" },
		{ SS_USEC_PER_SEC, SS_USEC_PER_SEC, "s" },
		{ SS_USEC_PER_SEC / 1000, SS_USEC_PER_SEC / 1000, "ms" },
	};

	for (size_t i = 0; i < ELEMENTSOF(units); i++)
		if (usec >= units[i].min && (!exact || usec % units[i].usec == 0)) {
			snprintf(buf, size, "%" PRIu64 "%s", usec / units[i].usec, units[i].suffix);
			return;
		}
	snprintf(buf, size, "%" PRIu64 "us", usec);
}

/* ------------------------------------------------------------ reading --- */

struct span {
	size_t offset;           /* into reader.text */
	size_t length;
};

/* Scratch space to split a multi-valued field (groups, facility). It is a
 * copy: the same column may also be an attribute or another field. */
struct value_list {
	char *text;
	size_t text_size;
	const char **items;
	size_t items_size;
};

struct reader {
	const struct csv_source *src;
	struct csv_parser parser;
	bool parser_ready;
	ss_emit_fn emit;
	void *userdata;
	struct ss_read_result *result;
	int error;               /* negative errno (emit, ENOMEM): stops the read */
	unsigned more_problems;  /* incompleteness reasons beyond the first */

	/* Where the parser is. */
	unsigned long line;          /* physical line being fed, 1-based */
	unsigned long row;           /* rows begun so far; the header is row 1 */
	unsigned long row_line;      /* the physical line the current row began on */
	unsigned long pending_line;  /* a line with content fed while no row was open */
	bool in_row;
	bool skip_to_eol;            /* resynchronising after a malformed row */

	/* The current row: NUL-terminated fields in one buffer. */
	char *text;
	size_t text_length, text_size;
	struct span *fields;
	size_t n_fields, fields_size;
	bool row_too_long;

	/* From the header. */
	bool have_header;
	char *header_text;
	const char **header;         /* column names */
	size_t n_columns;
	long column_of[_FIELD_MAX];  /* -1: field not mapped */
	struct ss_attr *attrs;
	const char *(*attr_values)[2];

	struct value_list groups, facilities;
	char origin[384];
	char problem[768];
};

static bool reader_stopped(const struct reader *r)
{
	return r->error < 0 || r->result->listing == SS_LISTING_FAILED;
}

static void reader_failed(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reader_failed(struct reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->result->reason, sizeof(r->result->reason), fmt, ap);
	va_end(ap);
	r->result->listing = SS_LISTING_FAILED;
	r->more_problems = 0;
}

/* People may be missing from the listing: the first reason is kept, the
 * others counted. */
static void reader_incomplete(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reader_incomplete(struct reader *r, const char *fmt, ...)
{
	if (r->result->listing == SS_LISTING_FAILED)
		return;
	if (r->result->listing == SS_LISTING_INCOMPLETE) {
		r->more_problems++;
		return;
	}
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->result->reason, sizeof(r->result->reason), fmt, ap);
	va_end(ap);
	r->result->listing = SS_LISTING_INCOMPLETE;
}

static int grow(void *buffer, size_t *size, size_t needed, size_t element)
{
	if (needed <= *size)
		return 0;
	size_t n = *size ? *size : 16;
	while (n < needed)
		n *= 2;
	void *p = realloc(*(void **)buffer, n * element);
	if (!p)
		return -ENOMEM;
	*(void **)buffer = p;
	*size = n;
	return 0;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* ---- text checks --- */

enum text_check {
	TEXT_OK,
	TEXT_BAD_UTF8,
	TEXT_NUL,
};

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
 * A NUL byte is refused too: it would cut the value short. */
static enum text_check check_text(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		/* Most text is ASCII: skip it eight bytes at a time while no byte
		 * is NUL or has its high bit set. */
		while (n - i >= 8) {
			uint64_t v;
			memcpy(&v, s + i, 8);
			if (((v - 0x0101010101010101ULL) | v) & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i == n)
			break;
		unsigned char c = s[i];
		if (c >= 0x01 && c < 0x80) {
			i++;
			continue;
		}
		if (c == 0)
			return TEXT_NUL;

		size_t len;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			len = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4, cp = c & 0x07, min = 0x10000;
		} else
			return TEXT_BAD_UTF8;
		if (n - i < len)
			return TEXT_BAD_UTF8;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return TEXT_BAD_UTF8;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return TEXT_BAD_UTF8;
		i += len;
	}
	return TEXT_OK;
}

/* ---- the current row --- */

/* Trim a field in place (the buffer is ours) and keep it NUL-terminated. */
static void trim_field(struct reader *r, struct span *f)
{
	char *s = r->text + f->offset;
	size_t start = 0, end = f->length;
	while (start < end && is_blank(s[start]))
		start++;
	while (end > start && is_blank(s[end - 1]))
		end--;
	f->offset += start;
	f->length = end - start;
	r->text[f->offset + f->length] = 0;
}

static const char *field_value(const struct reader *r, size_t column)
{
	const struct span *f = &r->fields[column];
	return f->length > 0 ? r->text + f->offset : NULL;
}

static const char *mapped_value(const struct reader *r, enum field field)
{
	long column = r->column_of[field];
	return column >= 0 ? field_value(r, (size_t)column) : NULL;
}

static void row_clear(struct reader *r)
{
	r->text_length = 0;
	r->n_fields = 0;
	r->row_too_long = false;
	r->in_row = false;
}

/* A row begins: number it and remember the line it began on. */
static void row_begin(struct reader *r)
{
	if (r->in_row)
		return;
	r->in_row = true;
	r->row++;
	r->row_line = r->pending_line ? r->pending_line : r->line;
	r->pending_line = 0;
}

/* "row 17", or "row 17 (line 19)" when embedded line breaks or blank lines
 * moved the row away from the line of the same number. */
static void format_row(const struct reader *r, char *buf, size_t size)
{
	if (r->row_line == r->row)
		snprintf(buf, size, "row %lu", r->row);
	else
		snprintf(buf, size, "row %lu (line %lu)", r->row, r->row_line);
}

static void set_origin(struct reader *r)
{
	char row[64];
	format_row(r, row, sizeof(row));
	snprintf(r->origin, sizeof(r->origin), "%s %s", r->src->label, row);
}

/* The row's problem, prefixed with its position: "row 9: 5 fields, ...". */
static const char *row_problem(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *row_problem(struct reader *r, const char *fmt, ...)
{
	char row[64];
	format_row(r, row, sizeof(row));
	int n = snprintf(r->problem, sizeof(r->problem), "%s: ", row);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(r->problem + n, sizeof(r->problem) - (size_t)n, fmt, ap);
	va_end(ap);
	return r->problem;
}

static int emit_record(struct reader *r, const struct ss_record *record)
{
	int k = r->emit(r->userdata, record);
	if (k < 0)
		return k;
	r->result->records++;
	if (record->error)
		r->result->bad++;
	return 0;
}

/* A bad row without a trustworthy id: that person cannot be held, so the
 * listing must not be taken as complete. */
static int emit_unidentified(struct reader *r, const char *problem)
{
	set_origin(r);
	reader_incomplete(r, "%s %s: that person cannot be identified", r->src->label, problem);
	struct ss_record record = { .origin = r->origin, .error = problem, .enabled = true };
	return emit_record(r, &record);
}

/* ---- the header --- */

static int header_find(const struct reader *r, const char *name, size_t *column)
{
	int found = 0;
	for (size_t i = 0; i < r->n_columns; i++)
		if (streq(r->header[i], name)) {
			if (found++ == 0)
				*column = i;
		}
	return found;
}

static int header_take_names(struct reader *r)
{
	r->header_text = malloc(r->text_length ? r->text_length : 1);
	r->header = calloc(r->n_fields, sizeof(*r->header));
	r->attrs = calloc(r->n_fields, sizeof(*r->attrs));
	r->attr_values = calloc(r->n_fields, sizeof(*r->attr_values));
	if (!r->header_text || !r->header || !r->attrs || !r->attr_values)
		return -ENOMEM;
	memcpy(r->header_text, r->text, r->text_length);
	r->n_columns = r->n_fields;
	for (size_t i = 0; i < r->n_columns; i++) {
		r->header[i] = r->header_text + r->fields[i].offset;
		r->attrs[i].name = r->header[i];
		r->attrs[i].values = r->attr_values[i];
	}
	return 0;
}

/* The first row names the columns; every mapped one must be there once. */
static int handle_header(struct reader *r)
{
	const struct csv_source *src = r->src;

	if (r->row_too_long) {
		reader_failed(r, "%s: the header is longer than %u bytes", src->label, ROW_MAX);
		return 0;
	}
	for (size_t i = 0; i < r->n_fields; i++) {
		trim_field(r, &r->fields[i]);
		if (check_text((const unsigned char *)r->text + r->fields[i].offset,
			       r->fields[i].length) != TEXT_OK) {
			reader_failed(r, "%s: the header is not valid UTF-8 text (column %zu)",
				      src->label, i + 1);
			return 0;
		}
	}
	int k = header_take_names(r);
	if (k < 0)
		return k;

	for (int f = 0; f < _FIELD_MAX; f++) {
		r->column_of[f] = -1;
		if (!src->columns[f])
			continue;
		size_t column = 0;
		int found = header_find(r, src->columns[f], &column);
		if (found == 0) {
			reader_failed(r, "%s: column '%s' (mapped to %s) is not in the header",
				      src->label, src->columns[f], field_names[f]);
			return 0;
		}
		if (found > 1) {
			reader_failed(r, "%s: column '%s' (mapped to %s) appears %d times in the header",
				      src->label, src->columns[f], field_names[f], found);
			return 0;
		}
		r->column_of[f] = (long)column;
	}
	r->have_header = true;
	return 0;
}

/* ---- data rows --- */

/* Split value on the list separator into trimmed, non-empty items.
 * *ret is NULL when nothing is left. */
static int split_list(struct value_list *l, const char *value, char separator,
		      const char *const **ret)
{
	*ret = NULL;
	if (!value)
		return 0;

	size_t length = strlen(value), n_items = 2;
	for (const char *p = value; *p; p++)
		n_items += *p == separator;
	if (grow(&l->text, &l->text_size, length + 1, 1) < 0 ||
	    grow(&l->items, &l->items_size, n_items, sizeof(*l->items)) < 0)
		return -ENOMEM;
	memcpy(l->text, value, length + 1);

	size_t n = 0;
	for (char *item = l->text, *next; item; item = next) {
		char *end = strchr(item, separator);
		next = end ? end + 1 : NULL;
		if (!end)
			end = item + strlen(item);
		while (item < end && is_blank(*item))
			item++;
		while (end > item && is_blank(end[-1]))
			end--;
		*end = 0;
		if (*item)
			l->items[n++] = item;
	}
	l->items[n] = NULL;
	if (n > 0)
		*ret = l->items;
	return 0;
}

/* true/false, yes/no, 1/0, active/inactive, in any case. */
static int parse_enabled(const char *value, bool *enabled)
{
	static const char *const on[] = { "true", "yes", "1", "active" };
	static const char *const off[] = { "false", "no", "0", "inactive" };

	for (size_t i = 0; value && i < ELEMENTSOF(on); i++) {
		if (strcasecmp(value, on[i]) == 0) {
			*enabled = true;
			return 0;
		}
		if (strcasecmp(value, off[i]) == 0) {
			*enabled = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const char *text_problem(enum text_check why)
{
	return why == TEXT_NUL ? "a NUL byte" : "invalid UTF-8";
}

static enum text_check check_column(const struct reader *r, size_t column)
{
	const struct span *f = &r->fields[column];
	return check_text((const unsigned char *)r->text + f->offset, f->length);
}

/* The first column whose text is not valid, or -1. */
static long first_bad_column(const struct reader *r, enum text_check *why)
{
	for (size_t i = 0; i < r->n_fields; i++) {
		*why = check_column(r, i);
		if (*why != TEXT_OK)
			return (long)i;
	}
	return -1;
}

/* Fill what the row says about the person; returns the row's problem or NULL. */
static const char *fill_record(struct reader *r, struct ss_record *record, bool *id_trusted)
{
	const struct csv_source *src = r->src;
	size_t id_column = (size_t)r->column_of[FIELD_ID];
	enum text_check why;

	*id_trusted = false;
	if (r->n_fields != r->n_columns)
		/* Columns may be shifted: not even the id can be believed. */
		return row_problem(r, "%zu field%s, the header has %zu", r->n_fields,
				   r->n_fields == 1 ? "" : "s", r->n_columns);

	for (size_t i = 0; i < r->n_fields; i++)
		trim_field(r, &r->fields[i]);

	/* The id first: whether the person can be held depends on it alone. */
	why = check_column(r, id_column);
	if (why != TEXT_OK)
		return row_problem(r, "%s in column '%s'", text_problem(why), r->header[id_column]);
	record->id = mapped_value(r, FIELD_ID);
	if (!record->id)
		return row_problem(r, "no value in column '%s' (id)", src->columns[FIELD_ID]);
	*id_trusted = true;

	long bad = first_bad_column(r, &why);
	if (bad >= 0)
		return row_problem(r, "%s in column '%s'", text_problem(why), r->header[bad]);

	record->given_name = mapped_value(r, FIELD_GIVEN_NAME);
	record->family_name = mapped_value(r, FIELD_FAMILY_NAME);
	record->email = mapped_value(r, FIELD_EMAIL);
	record->employee_id = mapped_value(r, FIELD_EMPLOYEE_ID);
	record->speciality = mapped_value(r, FIELD_SPECIALITY);
	record->dn = mapped_value(r, FIELD_DN);

	for (size_t i = 0; i < r->n_columns; i++) {
		r->attr_values[i][0] = field_value(r, i);
		r->attr_values[i][1] = NULL;
	}
	record->attrs = r->attrs;
	record->n_attrs = r->n_columns;

	if (split_list(&r->groups, mapped_value(r, FIELD_GROUPS), src->list_separator,
		       &record->groups) < 0 ||
	    split_list(&r->facilities, mapped_value(r, FIELD_FACILITY), src->list_separator,
		       &record->facilities) < 0) {
		r->error = -ENOMEM;
		return NULL;
	}

	if (r->column_of[FIELD_ENABLED] >= 0) {
		const char *value = mapped_value(r, FIELD_ENABLED);
		if (!value)
			return row_problem(r, "no value in column '%s' (enabled)",
					   src->columns[FIELD_ENABLED]);
		if (parse_enabled(value, &record->enabled) < 0)
			return row_problem(r, "'%s' in column '%s' (enabled) is not one of "
					   "true/false, yes/no, 1/0, active/inactive",
					   value, src->columns[FIELD_ENABLED]);
	}
	return NULL;
}

static int handle_data_row(struct reader *r, bool unterminated)
{
	if (r->row_too_long)
		return emit_unidentified(r, row_problem(r, "longer than %u bytes", ROW_MAX));

	struct ss_record record = { .enabled = true };
	bool id_trusted;
	const char *problem = fill_record(r, &record, &id_trusted);
	if (r->error < 0)
		return r->error;

	bool may_be_truncated = unterminated && r->src->require_final_newline;
	if (may_be_truncated) {
		/* Its last field may have been cut (an email, a name): hold the
		 * person rather than write what may be half a value. */
		if (!problem)
			problem = row_problem(r, "the last row has no line ending: the file may be truncated");
		reader_incomplete(r, "%s: the last row has no line ending: the file may be truncated",
				  r->src->label);
	}
	if (problem && !id_trusted)
		return emit_unidentified(r, problem);

	set_origin(r);
	record.origin = r->origin;
	record.error = problem;
	return emit_record(r, &record);
}

/* ---- parser callbacks --- */

static void on_field(void *data, size_t length, void *userdata)
{
	struct reader *r = userdata;
	if (reader_stopped(r))
		return;
	row_begin(r);
	if (r->row_too_long)
		return;
	if (r->text_length + length + 1 > ROW_MAX) {
		r->row_too_long = true;
		return;
	}
	if (grow(&r->text, &r->text_size, r->text_length + length + 1, 1) < 0 ||
	    grow(&r->fields, &r->fields_size, r->n_fields + 1, sizeof(*r->fields)) < 0) {
		r->error = -ENOMEM;
		return;
	}
	if (length > 0)
		memcpy(r->text + r->text_length, data, length);
	r->text[r->text_length + length] = 0;
	r->fields[r->n_fields++] = (struct span) { r->text_length, length };
	r->text_length += length + 1;
}

/* c is the character that ended the row, or -1 when the file ended first. */
static void on_row_end(int c, void *userdata)
{
	struct reader *r = userdata;
	if (reader_stopped(r))
		return;
	row_begin(r);
	int k = r->have_header ? handle_data_row(r, c < 0) : handle_header(r);
	if (k < 0)
		r->error = k;
	row_clear(r);
}

/* ---- feeding the parser --- */

static int parser_start(struct reader *r)
{
	if (csv_init(&r->parser, CSV_STRICT | CSV_STRICT_FINI) != 0)
		return -ENOMEM;
	csv_set_delim(&r->parser, (unsigned char)r->src->delimiter);
	/* libcsv grows its field buffer by this much at a time (128 bytes by
	 * default): big steps keep a long field from costing a realloc each. */
	csv_set_blk_size(&r->parser, CHUNK_SIZE);
	r->parser_ready = true;
	return 0;
}

static void parser_stop(struct reader *r)
{
	if (r->parser_ready)
		csv_free(&r->parser);
	r->parser_ready = false;
}

/* Give up on the current row (the parser cannot make sense of it): report
 * it, and start afresh on the next physical line. */
static void abandon_row(struct reader *r, const char *what, bool ends_line)
{
	row_begin(r);
	if (!r->have_header)
		reader_failed(r, "%s: the header has %s", r->src->label, what);
	else {
		int k = emit_unidentified(r, row_problem(r, "%s on line %lu", what, r->line));
		if (k < 0)
			r->error = k;
	}
	row_clear(r);
	r->pending_line = 0;
	r->skip_to_eol = !ends_line;
	parser_stop(r);
	int k = parser_start(r);
	if (k < 0 && r->error == 0)
		r->error = k;
}

/* Whether the parser, between rows, would start one on this text: it skips
 * blanks and line breaks there. */
static bool starts_row(const struct reader *r, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == r->src->delimiter)
			return true;
		if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
			return true;
	}
	return false;
}

/* Feed one piece of a physical line (all of it, or up to a chunk's end). */
static void feed_piece(struct reader *r, const char *s, size_t n, bool ends_line)
{
	if (r->skip_to_eol) {
		r->skip_to_eol = !ends_line;
		return;
	}
	if (!r->in_row && r->pending_line == 0 && starts_row(r, s, n))
		r->pending_line = r->line;

	size_t used = csv_parse(&r->parser, s, n, on_field, on_row_end, r);
	if (reader_stopped(r))
		return;
	if (used < n) {
		if (csv_error(&r->parser) == CSV_EPARSE)
			abandon_row(r, "malformed quoting (a quote inside a field, or text after a closing quote)",
				    ends_line);
		else
			r->error = -ENOMEM;
		return;
	}
	if (csv_get_buffer_size(&r->parser) > ROW_MAX)
		abandon_row(r, "a field longer than 1 MiB (a quote that is never closed?)", ends_line);
}

/* Cut a chunk at line feeds so each piece's line number is known. */
static void feed_chunk(struct reader *r, const char *s, size_t n)
{
	while (n > 0 && !reader_stopped(r)) {
		const char *lf = memchr(s, '\n', n);
		size_t length = lf ? (size_t)(lf - s) + 1 : n;
		feed_piece(r, s, length, lf != NULL);
		if (lf)
			r->line++;
		s += length;
		n -= length;
	}
}

/* End of file: the parser hands over a last row that had no line ending. */
static void feed_end(struct reader *r)
{
	if (reader_stopped(r))
		return;
	if (csv_fini(&r->parser, on_field, on_row_end, r) == 0 || reader_stopped(r))
		return;

	/* Strict: the file ended inside a quoted field. */
	row_begin(r);
	if (!r->have_header) {
		reader_failed(r, "%s: the file ends inside a quoted field of the header", r->src->label);
		return;
	}
	int k = emit_unidentified(r, row_problem(r, "the file ends inside a quoted field: it was truncated"));
	if (k < 0)
		r->error = k;
}

/* ---- the file --- */

static ssize_t read_full(int fd, char *buf, size_t size)
{
	size_t n = 0;
	while (n < size) {
		ssize_t k = read(fd, buf + n, size - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		if (k == 0)
			break;
		n += (size_t)k;
	}
	return (ssize_t)n;
}

static void check_age(struct reader *r, const struct stat *st, int64_t now)
{
	const struct csv_source *src = r->src;
	if (src->max_age == SS_DURATION_NEVER || now <= st->st_mtim.tv_sec)
		return;
	uint64_t age = (uint64_t)(now - st->st_mtim.tv_sec) * SS_USEC_PER_SEC;
	if (age <= src->max_age)
		return;
	char age_text[32], max_text[32];
	format_duration(age, false, age_text, sizeof(age_text));
	format_duration(src->max_age, true, max_text, sizeof(max_text));
	reader_incomplete(r, "%s is %s old, older than max_age %s: stale export",
			  src->label, age_text, max_text);
}

/* Stream the file through the parser. Failures to read are the listing's
 * (FAILED); the return value is only for errors that stop the caller. */
static int read_file(struct reader *r, int fd)
{
	_cleanup_free_ char *chunk = malloc(CHUNK_SIZE);
	if (!chunk)
		return -ENOMEM;

	for (bool first = true; !reader_stopped(r); first = false) {
		ssize_t n = read_full(fd, chunk, CHUNK_SIZE);
		if (n < 0) {
			reader_failed(r, "%s: %s", r->src->path, strerror((int)-n));
			return 0;
		}
		if (n == 0)
			break;
		size_t skip = 0;
		if (first && n >= 3 && memcmp(chunk, "\xef\xbb\xbf", 3) == 0)
			skip = 3;   /* a UTF-8 byte order mark, as spreadsheet exports write */
		feed_chunk(r, chunk + skip, (size_t)n - skip);
	}
	feed_end(r);
	return r->error;
}

static void reader_free(struct reader *r)
{
	parser_stop(r);
	free(r->text);
	free(r->fields);
	free(r->header_text);
	free(r->header);
	free(r->attrs);
	free(r->attr_values);
	free(r->groups.text);
	free(r->groups.items);
	free(r->facilities.text);
	free(r->facilities.items);
}

/* What the whole file says about the listing, once it has been read. */
static void finish_listing(struct reader *r)
{
	struct ss_read_result *result = r->result;
	if (result->listing == SS_LISTING_FAILED)
		return;
	if (!r->have_header)
		reader_incomplete(r, "%s: no data rows (the file is empty)", r->src->label);
	else if (r->row < 2)
		reader_incomplete(r, "%s: no data rows", r->src->label);

	size_t used = strlen(result->reason);
	if (r->more_problems > 0 && used < sizeof(result->reason))
		snprintf(result->reason + used, sizeof(result->reason) - used,
			 " (and %u more problem%s)", r->more_problems,
			 r->more_problems == 1 ? "" : "s");
}

static int csv_read(void *instance, const struct ss_read_request *request,
		    ss_emit_fn emit, void *userdata, struct ss_read_result *result)
{
	const struct csv_source *src = instance;
	*result = (struct ss_read_result) { .listing = SS_LISTING_FULL };
	_cleanup_(reader_free) struct reader r = {
		.src = src,
		.emit = emit,
		.userdata = userdata,
		.result = result,
		.line = 1,
	};

	_cleanup_close_ int fd = open(src->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		reader_failed(&r, "%s: %s", src->path, strerror(errno));
		return 0;
	}
	(void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	check_age(&r, &st, request ? request->now : (int64_t)time(NULL));

	int k = parser_start(&r);
	if (k == 0)
		k = read_file(&r, fd);
	if (k < 0) {
		/* The caller stops here; should it look at the listing anyway,
		 * it must not take it as complete. */
		reader_failed(&r, "%s: reading stopped: %s", src->label, strerror(-k));
		return k;
	}
	finish_listing(&r);
	if (src->host && src->host->log)
		src->host->log(LOG_DEBUG, "source %s: %lu records (%lu bad) from %s",
			       src->name, result->records, result->bad, src->path);
	return 0;
}

/* ---------------------------------------------------------- descriptor --- */

static const struct ss_source_ops csv_source_ops = {
	.open = csv_open,
	.read = csv_read,
	.close = csv_close,
};

static const struct ss_plugin csv_plugin = {
	.abi_version = SS_PLUGIN_ABI_VERSION,
	.kind = SS_PLUGIN_SOURCE,
	.name = "csv",
	.description = "CSV exports (RFC 4180): one person a row, columns mapped by header name",
	.source = &csv_source_ops,
};

const struct ss_plugin *staffsync_plugin(void)
{
	return &csv_plugin;
}
