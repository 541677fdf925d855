/* SPDX-License-Identifier: MIT */
/*
 * ss_conf: one YAML document (libyaml's document API) with its file name and
 * the list of positioned errors found in it, plus the table-driven key
 * parser (conf_parse) shared by the core and the plugins.
 *
 * Every error is one line "FILE:LINE:COLUMN: message" (1-based positions,
 * from the node's start mark); an error about the document as a whole (no
 * node: an empty document) is placed at 1:1 so the format never changes.
 *
 * Fields that conf_parse fills with strings, lists and maps hold NULL or
 * malloc'd memory: a value found in the document replaces (and frees) what
 * the field held, so callers may set malloc'd defaults first, never string
 * literals. A key whose value has the wrong type leaves its field untouched.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include "conf.h"
#include "log.h"
#include "util.h"

/* Where state.db (and the default workspace store) live when the
 * configuration does not say: the default of the state_dir key. */
#define DEFAULT_STATE_DIR "/var/lib/staffsync"

/* Configuration files are small; refuse to read anything absurd. */
#define CONF_MAX_SIZE (16u * 1024 * 1024)

struct ss_conf {
	char *file;
	yaml_document_t doc;
	struct config_errors *errors;   /* the caller's list; may be NULL */
	size_t n_errors;                /* errors recorded through this document */
	char *state_dir;
};

/* ----------------------------------------------------------- errors --- */

/* Hand line (malloc'd, may be NULL on ENOMEM) over to the list. */
static void errors_append(struct config_errors *errors, char *line)
{
	char **l = errors && line ? realloc(errors->lines, (errors->n + 1) * sizeof(char *)) : NULL;
	if (!l) {
		free(line);
		return;
	}
	l[errors->n++] = line;
	errors->lines = l;
}

static void add_error_line(ss_conf *c, char *line)
{
	c->n_errors++;
	errors_append(c->errors, line);
}

static void verror_at(ss_conf *c, unsigned long line, unsigned long column,
		      const char *fmt, va_list ap)
{
	_cleanup_free_ char *msg = NULL;
	char *out = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	if (msg && asprintf(&out, "%s:%lu:%lu: %s", c->file, line, column, msg) < 0)
		out = NULL;
	add_error_line(c, out);
}

static void error_at(ss_conf *c, unsigned long line, unsigned long column, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void error_at(ss_conf *c, unsigned long line, unsigned long column, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	verror_at(c, line, column, fmt, ap);
	va_end(ap);
}

void conf_error(ss_conf *c, const yaml_node_t *at, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (at)
		verror_at(c, at->start_mark.line + 1, at->start_mark.column + 1, fmt, ap);
	else
		verror_at(c, 1, 1, fmt, ap);
	va_end(ap);
}

size_t conf_error_count(ss_conf *c)
{
	return c ? c->n_errors : 0;
}

/* -------------------------------------------------------------- load --- */

static int read_all(const char *path, char **ret, size_t *size)
{
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	struct stat st;
	if (fstat(fileno(f), &st) < 0)
		return -errno;
	if (S_ISDIR(st.st_mode))
		return -EISDIR;
	_cleanup_free_ char *buf = NULL;
	size_t n = 0, cap = 0;
	for (;;) {
		if (cap - n < 4096) {
			if (cap >= CONF_MAX_SIZE)
				return -EFBIG;
			cap = cap ? cap * 2 : 8192;
			char *b = realloc(buf, cap + 1);
			if (!b)
				return -ENOMEM;
			buf = b;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				return errno > 0 ? -errno : -EIO;
			break;
		}
	}
	buf[n] = 0;
	*ret = TAKE_PTR(buf);
	*size = n;
	return 0;
}

/* A reader error (bad UTF-8, a NUL byte) only has a byte offset. */
static void offset_position(const char *buf, size_t size, size_t offset,
			    unsigned long *line, unsigned long *column)
{
	*line = 1;
	*column = 1;
	for (size_t i = 0; i < offset && i < size; i++) {
		if (buf[i] == '\n') {
			(*line)++;
			*column = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			(*column)++;
		}
	}
}

static void syntax_error(ss_conf *c, const yaml_parser_t *p, const char *buf, size_t size)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	unsigned long line, column;

	if (p->error == YAML_READER_ERROR) {
		offset_position(buf, size, p->problem_offset, &line, &column);
		error_at(c, line, column, "%s", problem);
		return;
	}
	line = p->problem_mark.line + 1;
	column = p->problem_mark.column + 1;
	if (p->context)
		error_at(c, line, column, "%s (%s that starts at line %lu, column %lu)",
			 problem, p->context, (unsigned long)p->context_mark.line + 1,
			 (unsigned long)p->context_mark.column + 1);
	else
		error_at(c, line, column, "%s", problem);
}

static int load_buffer(const char *name, const char *buf, size_t size, ss_conf **ret,
		       struct config_errors *errors)
{
	*ret = NULL;
	ss_conf *c = calloc(1, sizeof *c);
	if (!c)
		return -ENOMEM;
	c->errors = errors;
	c->file = strdup(name);
	if (!c->file) {
		free(c);
		return -ENOMEM;
	}

	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		free(c->file);
		free(c);
		return -ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, size);
	if (!yaml_parser_load(&parser, &c->doc)) {
		int r = parser.error == YAML_MEMORY_ERROR ? -ENOMEM : -EINVAL;
		syntax_error(c, &parser, buf, size);
		yaml_parser_delete(&parser);
		free(c->file);
		free(c);
		return r;
	}

	/* One document per file: a second one would be silently ignored. */
	yaml_document_t next;
	if (yaml_parser_load(&parser, &next)) {
		const yaml_node_t *root = yaml_document_get_root_node(&next);
		if (root)
			error_at(c, root->start_mark.line + 1, root->start_mark.column + 1,
				 "only one YAML document is allowed in a configuration file");
		yaml_document_delete(&next);
	} else {
		syntax_error(c, &parser, buf, size);
	}
	yaml_parser_delete(&parser);

	if (c->n_errors > 0) {
		conf_free(c);
		return -EINVAL;
	}
	*ret = c;
	return 0;
}

int conf_load_string(const char *name, const char *yaml, ss_conf **ret,
		     struct config_errors *errors)
{
	return load_buffer(name, yaml, strlen(yaml), ret, errors);
}

int conf_load_file(const char *path, ss_conf **ret, struct config_errors *errors)
{
	_cleanup_free_ char *buf = NULL;
	size_t size = 0;
	*ret = NULL;
	int r = read_all(path, &buf, &size);
	if (r < 0) {
		char *line;
		if (asprintf(&line, "%s: %s", path, strerror(-r)) < 0)
			line = NULL;
		errors_append(errors, line);
		return r;
	}
	return load_buffer(path, buf, size, ret, errors);
}

void conf_free(ss_conf *c)
{
	if (!c)
		return;
	yaml_document_delete(&c->doc);
	free(c->file);
	free(c->state_dir);
	free(c);
}

/* ---------------------------------------------------------- accessors --- */

const yaml_node_t *conf_root(ss_conf *c)
{
	return yaml_document_get_root_node(&c->doc);
}

yaml_document_t *conf_document(ss_conf *c)
{
	return &c->doc;
}

const yaml_node_t *conf_node(ss_conf *c, int index)
{
	return yaml_document_get_node(&c->doc, index);
}

const char *conf_file(ss_conf *c)
{
	return c->file;
}

const char *conf_state_dir(ss_conf *c)
{
	return c->state_dir ? c->state_dir : DEFAULT_STATE_DIR;
}

void conf_set_state_dir(ss_conf *c, const char *dir)
{
	char *copy = strdup_or_null(dir);
	if (dir && !copy)
		return;   /* keep the old value rather than lose it */
	free(c->state_dir);
	c->state_dir = copy;
}

const yaml_node_t *conf_get(ss_conf *c, const yaml_node_t *mapping, const char *key)
{
	if (!mapping || mapping->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = mapping->data.mapping.pairs.start;
	     p < mapping->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = conf_node(c, p->key);
		if (k && k->type == YAML_SCALAR_NODE && streq((const char *)k->data.scalar.value, key))
			return conf_node(c, p->value);
	}
	return NULL;
}

/* A plain empty, ~ or null scalar: YAML's "no value". */
bool conf_is_null(const yaml_node_t *n)
{
	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *v = (const char *)n->data.scalar.value;
	return !*v || streq(v, "~") || streq(v, "null") || streq(v, "Null") || streq(v, "NULL");
}

const char *conf_node_kind(const yaml_node_t *n)
{
	if (conf_is_null(n))
		return "nothing";
	switch (n->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	default:
		return "a string";
	}
}

/* A scalar's text, or NULL when it is no usable string (a collection, or a
 * string with a NUL byte inside). */
static const char *scalar_value(const yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	const char *v = (const char *)n->data.scalar.value;
	return strlen(v) == n->data.scalar.length ? v : NULL;
}

const char *conf_scalar(ss_conf *c, const yaml_node_t *n, const char *what)
{
	const char *v = conf_is_null(n) ? NULL : scalar_value(n);
	if (!v && n)
		conf_error(c, n, "%s: expected a string, got %s", what, conf_node_kind(n));
	return v;
}

/* A value quoted for a one-line message: control characters replaced,
 * long values shortened. */
static const char *quoted(const char *v, char buf[static 80])
{
	size_t n = 0;
	buf[n++] = '\'';
	for (; *v && n < 72; v++)
		buf[n++] = (unsigned char)*v < ' ' || *v == 0x7f ? '?' : *v;
	if (*v) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n++] = '\'';
	buf[n] = 0;
	return buf;
}

/* What the user gave, for "got ...": the quoted text of a scalar. */
static const char *got(const yaml_node_t *n, char buf[static 80])
{
	const char *v = conf_is_null(n) ? NULL : scalar_value(n);
	return v ? quoted(v, buf) : conf_node_kind(n);
}

char *conf_path(ss_conf *c, const char *path)
{
	if (!path)
		return NULL;
	if (path[0] == '/')
		return strdup(path);

	/* The configuration file's folder, made absolute. */
	_cleanup_free_ char *dir = strdup(c->file);
	if (!dir)
		return NULL;
	char *slash = strrchr(dir, '/');
	if (!slash) {
		free(dir);
		dir = strdup(".");
	} else if (slash == dir) {
		dir[1] = 0;
	} else {
		*slash = 0;
	}
	if (!dir)
		return NULL;
	_cleanup_free_ char *abs = realpath(dir, NULL);
	if (!abs) {
		if (dir[0] == '/') {
			abs = TAKE_PTR(dir);
		} else {
			_cleanup_free_ char *cwd = getcwd(NULL, 0);
			if (!cwd || asprintf(&abs, "%s/%s", cwd, dir) < 0)
				return NULL;
		}
	}

	while (path[0] == '.' && path[1] == '/')
		for (path += 2; *path == '/'; path++)
			;
	if (!*path || streq(path, "."))
		return TAKE_PTR(abs);
	char *r;
	if (asprintf(&r, "%s%s%s", abs, streq(abs, "/") ? "" : "/", path) < 0)
		return NULL;
	return r;
}

/* --------------------------------------------------- value conversion --- */

int parse_duration(const char *s, uint64_t *usec)
{
	static const struct {
		const char *suffix;
		uint64_t usec;
	} units[] = {
		/* longest suffix first: "ms" before "m" */
		{ "ms", 1000ULL },
		{ "s", USEC_PER_SEC },
		{ "m", 60 * USEC_PER_SEC },
		{ "h", 3600 * USEC_PER_SEC },
		{ "d", 86400 * USEC_PER_SEC },
		{ "w", 7 * 86400 * USEC_PER_SEC },
	};

	if (!s || !*s)
		return -EINVAL;
	if (strcasecmp(s, "never") == 0) {
		*usec = DURATION_NEVER;
		return 0;
	}

	uint64_t total = 0;
	bool bare = true;
	const char *p = s;
	while (*p) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		uint64_t n = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (n > (UINT64_MAX - 9) / 10)
				return -EINVAL;
			n = n * 10 + (uint64_t)(*p - '0');
		}
		uint64_t unit = 0;
		if (!*p && bare) {
			unit = USEC_PER_SEC;   /* a bare number is seconds */
		} else {
			for (size_t i = 0; i < ELEMENTSOF(units); i++) {
				size_t l = strlen(units[i].suffix);
				if (strncmp(p, units[i].suffix, l) == 0) {
					unit = units[i].usec;
					p += l;
					break;
				}
			}
			if (!unit)
				return -EINVAL;
		}
		bare = false;
		if (n > UINT64_MAX / unit)
			return -EINVAL;
		n *= unit;
		/* UINT64_MAX itself means "never": a sum may not reach it. */
		if (n >= UINT64_MAX - total)
			return -EINVAL;
		total += n;
	}
	*usec = total;
	return 0;
}

int parse_limit_scalar(const char *s, struct cfg_limit *l)
{
	if (!s || !*s)
		return -EINVAL;
	size_t len = strlen(s);
	if (s[len - 1] == '%') {
		/* digits with at most one '.', then '%' */
		size_t dots = 0, digits = 0;
		for (size_t i = 0; i + 1 < len; i++) {
			if (s[i] == '.')
				dots++;
			else if (s[i] >= '0' && s[i] <= '9')
				digits++;
			else
				return -EINVAL;
		}
		if (digits == 0 || dots > 1 || s[0] == '.' || s[len - 2] == '.')
			return -EINVAL;
		double v = strtod(s, NULL);
		if (v < 0 || v > 100)
			return -EINVAL;
		l->percent = v;
		return 0;
	}
	long n = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		if (n > (LONG_MAX - (*p - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (*p - '0');
	}
	l->count = n;
	return 0;
}

static int parse_bool(const char *s, bool *b)
{
	static const char *const yes[] = { "true", "yes", "on" };
	static const char *const no[] = { "false", "no", "off" };
	for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b = false;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned long *u)
{
	unsigned long n = 0;
	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		if (n > (ULONG_MAX - (unsigned long)(*s - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (unsigned long)(*s - '0');
	}
	*u = n;
	return 0;
}

/* A one-character string; the two-character escapes \t and \\ of an
 * unquoted or single-quoted scalar count as one. */
static int parse_char(const char *s, char *ch)
{
	if (s[0] && !s[1]) {
		*ch = s[0];
		return 0;
	}
	if (s[0] == '\\' && s[1] && !s[2]) {
		if (s[1] == 't') {
			*ch = '\t';
			return 0;
		}
		if (s[1] == '\\') {
			*ch = '\\';
			return 0;
		}
	}
	return -EINVAL;
}

/* Levenshtein distance, case-insensitive, for "did you mean". */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t cost = strncasecmp(a + i - 1, b + j - 1, 1) == 0 ? 0 : 1;
			size_t best = diag + cost;
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* The closest of the NULL-terminated names when it is close enough to be
 * a typo of word, or NULL. */
static const char *closest(const char *word, const char *const *names)
{
	const char *best = NULL;
	size_t best_d = SIZE_MAX;
	for (size_t i = 0; names && names[i]; i++) {
		size_t d = edit_distance(word, names[i]);
		if (d < best_d) {
			best_d = d;
			best = names[i];
		}
	}
	size_t len = strlen(word);
	if (!best || best_d > 2 + len / 4 || best_d >= len)
		return NULL;
	return best;
}

static char *suggestion(const char *word, const char *const *names)
{
	const char *s = closest(word, names);
	char *r = NULL;
	if (s && asprintf(&r, " (did you mean '%s'?)", s) < 0)
		r = NULL;
	return r;
}

static char *choices_text(const char *const *choices)
{
	char *r = NULL;
	size_t n = strv_length((char *const *)choices);
	for (size_t i = 0; i < n; i++) {
		char *t;
		if (asprintf(&t, "%s%s%s", r ? r : "", i == 0 ? "" : ", ", choices[i]) < 0) {
			free(r);
			return NULL;
		}
		free(r);
		r = t;
	}
	return r;
}

/* The scalars of a sequence (or one scalar) as a NULL-terminated list. */
static int node_string_list(ss_conf *c, const char *key, const yaml_node_t *v, char ***ret)
{
	char buf[80];
	_cleanup_strv_free_ char **list = calloc(1, sizeof(char *));
	if (!list)
		return -ENOMEM;
	if (v->type == YAML_SEQUENCE_NODE) {
		int bad = 0;
		for (yaml_node_item_t *i = v->data.sequence.items.start;
		     i < v->data.sequence.items.top; i++) {
			const yaml_node_t *item = conf_node(c, *i);
			const char *s = conf_is_null(item) ? NULL : scalar_value(item);
			if (!s) {
				conf_error(c, item, "%s: expected a string in the list, got %s",
					   key, got(item, buf));
				bad++;
			} else if (strv_push(&list, s) < 0) {
				return -ENOMEM;
			}
		}
		if (bad)
			return -EINVAL;
	} else {
		const char *s = conf_is_null(v) ? NULL : scalar_value(v);
		if (!s) {
			conf_error(c, v, "%s: expected a string or a list of strings, got %s",
				   key, got(v, buf));
			return -EINVAL;
		}
		if (strv_push(&list, s) < 0)
			return -ENOMEM;
	}
	*ret = TAKE_PTR(list);
	return 0;
}

static int node_string_map(ss_conf *c, const char *key, const yaml_node_t *v, char ***ret)
{
	char buf[80];
	if (v->type != YAML_MAPPING_NODE) {
		conf_error(c, v, "%s: expected a mapping of names to values, got %s", key, got(v, buf));
		return -EINVAL;
	}
	_cleanup_strv_free_ char **map = calloc(1, sizeof(char *));
	if (!map)
		return -ENOMEM;
	int bad = 0;
	for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
		const yaml_node_t *kn = conf_node(c, p->key), *vn = conf_node(c, p->value);
		const char *k = conf_is_null(kn) ? NULL : scalar_value(kn);
		const char *s = conf_is_null(vn) ? NULL : scalar_value(vn);
		if (!k) {
			conf_error(c, kn, "%s: expected a name, got %s", key, got(kn, buf));
			bad++;
			continue;
		}
		bool dup = false;
		for (size_t i = 0; map[i]; i += 2)
			if (streq(map[i], k))
				dup = true;
		if (dup) {
			conf_error(c, kn, "%s: duplicate key %s", key, quoted(k, buf));
			bad++;
			continue;
		}
		if (!s) {
			conf_error(c, vn, "%s.%s: expected a string, got %s", key, k, got(vn, buf));
			bad++;
			continue;
		}
		if (strv_push(&map, k) < 0 || strv_push(&map, s) < 0)
			return -ENOMEM;
	}
	if (bad)
		return -EINVAL;
	*ret = TAKE_PTR(map);
	return 0;
}

static void convert(ss_conf *c, const struct ss_conf_key *key, const yaml_node_t *v, void *out)
{
	void *field = (char *)out + key->offset;
	const char *name = key->name;
	char buf[80];

	if (key->type == SS_CONF_SKIP)
		return;
	if (key->type == SS_CONF_NODE) {
		*(const yaml_node_t **)field = v;
		return;
	}
	if (key->type == SS_CONF_STRING_LIST || key->type == SS_CONF_STRING_MAP) {
		char **list = NULL;
		int r = key->type == SS_CONF_STRING_LIST ? node_string_list(c, name, v, &list)
							  : node_string_map(c, name, v, &list);
		if (r == -ENOMEM)
			conf_error(c, v, "%s: out of memory", name);
		if (r < 0)
			return;
		strv_free(*(char ***)field);
		*(char ***)field = list;
		return;
	}

	/* Every other type is one scalar. */
	const char *s = conf_is_null(v) ? NULL : scalar_value(v);
	switch (key->type) {
	case SS_CONF_STRING: {
		if (!s) {
			conf_error(c, v, "%s: expected a string, got %s", name, conf_node_kind(v));
			return;
		}
		char *copy = strdup(s);
		if (!copy) {
			conf_error(c, v, "%s: out of memory", name);
			return;
		}
		free(*(char **)field);
		*(char **)field = copy;
		return;
	}
	case SS_CONF_BOOL:
		if (!s || parse_bool(s, (bool *)field) < 0)
			conf_error(c, v, "%s: expected true or false, got %s", name, got(v, buf));
		return;
	case SS_CONF_UINT:
		if (!s || parse_uint(s, (unsigned long *)field) < 0)
			conf_error(c, v, "%s: expected a whole number (0 or more), got %s",
				   name, got(v, buf));
		return;
	case SS_CONF_DURATION:
		if (!s || parse_duration(s, (uint64_t *)field) < 0)
			conf_error(c, v, "%s: expected a duration such as 30s, 15m, 24h or 7d, got %s",
				   name, got(v, buf));
		return;
	case SS_CONF_CHAR:
		if (!s || parse_char(s, (char *)field) < 0)
			conf_error(c, v, "%s: expected a single character, got %s", name, got(v, buf));
		return;
	case SS_CONF_ENUM: {
		for (size_t i = 0; s && key->choices && key->choices[i]; i++)
			if (strcasecmp(s, key->choices[i]) == 0) {
				*(int *)field = (int)i;
				return;
			}
		_cleanup_free_ char *text = choices_text(key->choices);
		_cleanup_free_ char *hint = s ? suggestion(s, key->choices) : NULL;
		conf_error(c, v, "%s: expected %s%s, got %s%s", name,
			   key->choices && key->choices[0] && key->choices[1] ? "one of " : "",
			   strempty(text), got(v, buf), strempty(hint));
		return;
	}
	default:
		conf_error(c, v, "%s: unsupported key type %d (a bug in the key table)",
			   name, (int)key->type);
		return;
	}
}

int conf_parse(ss_conf *c, const yaml_node_t *mapping, const struct ss_conf_key *keys, void *out)
{
	size_t before = c->n_errors, n = 0;
	while (keys[n].name)
		n++;

	/* A NULL mapping is an absent section: only the required keys matter. */
	if (mapping && mapping->type != YAML_MAPPING_NODE) {
		char buf[80];
		conf_error(c, mapping, "expected a mapping, got %s", got(mapping, buf));
		return (int)(c->n_errors - before);
	}

	_cleanup_free_ const yaml_node_t **seen = calloc(n + 1, sizeof *seen);
	_cleanup_free_ const char **names = calloc(n + 1, sizeof *names);
	if (!seen || !names) {
		conf_error(c, mapping, "out of memory");
		return (int)(c->n_errors - before);
	}
	for (size_t i = 0; i < n; i++)
		names[i] = keys[i].name;

	for (yaml_node_pair_t *p = mapping ? mapping->data.mapping.pairs.start : NULL;
	     mapping && p < mapping->data.mapping.pairs.top; p++) {
		const yaml_node_t *k = conf_node(c, p->key), *v = conf_node(c, p->value);
		const char *name = conf_is_null(k) ? NULL : scalar_value(k);
		char buf[80];
		if (!name) {
			conf_error(c, k, "expected a key name, got %s", got(k, buf));
			continue;
		}
		size_t i;
		for (i = 0; i < n && !streq(keys[i].name, name); i++)
			;
		if (i == n) {
			_cleanup_free_ char *hint = suggestion(name, names);
			conf_error(c, k, "unknown key %s%s", quoted(name, buf), strempty(hint));
			continue;
		}
		if (seen[i]) {
			conf_error(c, k, "duplicate key %s (first at line %lu)", quoted(name, buf),
				   (unsigned long)seen[i]->start_mark.line + 1);
			continue;
		}
		seen[i] = k;
		convert(c, &keys[i], v, out);
	}

	for (size_t i = 0; i < n; i++)
		if (keys[i].required && !seen[i])
			conf_error(c, mapping, "missing required key '%s'", keys[i].name);

	return (int)(c->n_errors - before);
}

void conf_free_values(const struct ss_conf_key *keys, void *out)
{
	for (const struct ss_conf_key *k = keys; k->name; k++) {
		void *field = (char *)out + k->offset;
		switch (k->type) {
		case SS_CONF_STRING:
			free(*(char **)field);
			*(char **)field = NULL;
			break;
		case SS_CONF_STRING_LIST:
		case SS_CONF_STRING_MAP:
			strv_free(*(char ***)field);
			*(char ***)field = NULL;
			break;
		default:
			break;
		}
	}
}

/* ------------------------------------------------------ host services --- */

static void host_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void host_log(int priority, const char *fmt, ...)
{
	if (priority > log_get_max_level())
		return;
	char buf[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_msg(priority, "%s", buf);
}

const struct ss_host ss_host_services = {
	.abi_version = SS_PLUGIN_ABI_VERSION,
	.log = host_log,
	.conf_error = conf_error,
	.conf_parse = conf_parse,
	.conf_free = conf_free_values,
	.conf_get = conf_get,
	.conf_node = conf_node,
	.conf_file = conf_file,
	.conf_path = conf_path,
	.conf_state_dir = conf_state_dir,
};
