/* SPDX-License-Identifier: MIT */
/*
 * One directory entry made into a record.
 *
 * Identity is the configured id attribute (entryUUID, or objectGUID as its
 * canonical string), never the DN: a rename or a move keeps the person.
 * Every attribute of the entry is also passed on raw, all its values, for
 * mapping rules that name one. Values are UTF-8 as LDAP requires; binary
 * values (objectGUID, objectSid, photos) that are not valid UTF-8 are
 * passed as "hex:..." rather than cut at a NUL byte.
 */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "ldap-source.h"
#include "util.h"

/* The entry's texts, bump-allocated: one block kept from entry to entry,
 * so that a listing does not malloc and free every value. A block that
 * fills up is set aside (freed at the next entry) for a bigger one. */
struct text_arena {
	char *block;
	size_t used, size;
	char **retired;              /* NULL-terminated */
};

struct entry_builder {
	const struct ldap_source *src;
	struct group_graph *groups;
	struct text_arena texts;     /* this entry's copies */
	json_t *emitted;             /* ids emitted so far, when asked to emit each once */
	unsigned long with_memberof; /* entries that had direct-membership values */
	struct ss_attr *attrs;
	size_t n_attrs, attrs_cap;
	char origin[512];
};

int entry_builder_new(const struct ldap_source *src, struct group_graph *groups,
		      struct entry_builder **ret)
{
	struct entry_builder *b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->src = src;
	b->groups = groups;
	*ret = b;
	return 0;
}

static void arena_reset(struct text_arena *a)
{
	lstrv_free(a->retired);
	a->retired = NULL;
	a->used = 0;
}

static char *arena_alloc(struct text_arena *a, size_t n)
{
	n = (n + 7) & ~(size_t)7;   /* the next one stays aligned for pointers */
	if (a->used + n > a->size) {
		size_t size = a->size ? a->size * 2 : 16384;
		while (size < n)
			size *= 2;
		char *block = malloc(size);
		size_t k = 0;
		while (a->retired && a->retired[k])
			k++;
		char **retired = block ? realloc(a->retired, (k + 2) * sizeof(char *)) : NULL;
		if (!retired) {
			free(block);
			return NULL;
		}
		retired[k] = a->block;   /* NULL the first time: the list stays empty */
		retired[k + 1] = NULL;
		a->retired = retired;
		a->block = block;
		a->size = size;
		a->used = 0;
	}
	char *p = a->block + a->used;
	a->used += n;
	return p;
}

static void builder_reset(struct entry_builder *b)
{
	b->n_attrs = 0;
	arena_reset(&b->texts);
}

void entry_builder_free(struct entry_builder *b)
{
	if (!b)
		return;
	builder_reset(b);
	json_decref(b->emitted);
	free(b->texts.block);
	free(b->attrs);
	free(b);
}

int entry_builder_once(struct entry_builder *b)
{
	if (!b->emitted && !(b->emitted = json_object()))
		return -ENOMEM;
	return 0;
}

unsigned long entry_builder_memberof_count(const struct entry_builder *b)
{
	return b->with_memberof;
}

/* With entry_builder_once: whether the id was emitted already (else it is
 * noted now). */
static int already_emitted(struct entry_builder *b, const char *id)
{
	if (!b->emitted)
		return 0;
	if (json_object_get(b->emitted, id))
		return 1;
	return json_object_set_new(b->emitted, id, json_true()) < 0 ? -ENOMEM : 0;
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
			     (c & 0xf8) == 0xf0 ? 4 : 0;
		if (len == 0 || c == 0 || i + len > n || (len == 2 && c < 0xc2))
			return false;
		for (size_t k = 1; k < len; k++)
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
		i += len;
	}
	return true;
}

static bool is_guid_attr(const char *name)
{
	return strcasecmp(name, "objectGUID") == 0;
}

/* A value as text (in the entry's arena). NULL on ENOMEM. */
static const char *value_text(struct entry_builder *b, const char *attr, const struct berval *v)
{
	static const char hex[] = "0123456789abcdef";
	char buf[64];
	struct berval guid;
	if (is_guid_attr(attr) && ad_guid_to_string(v, buf, sizeof buf) == 0) {
		guid = (struct berval){ strlen(buf), buf };
		v = &guid;
	} else if (!valid_utf8((const unsigned char *)v->bv_val, v->bv_len)) {
		char *text = arena_alloc(&b->texts, 4 + 2 * v->bv_len + 1);
		if (!text)
			return NULL;
		char *p = stpcpy(text, "hex:");
		for (size_t i = 0; i < v->bv_len; i++) {
			*p++ = hex[(unsigned char)v->bv_val[i] >> 4];
			*p++ = hex[(unsigned char)v->bv_val[i] & 15];
		}
		*p = '\0';
		return text;
	}
	char *text = arena_alloc(&b->texts, v->bv_len + 1);
	if (text) {
		memcpy(text, v->bv_val, v->bv_len);
		text[v->bv_len] = '\0';
	}
	return text;
}

static int grow_attrs(struct entry_builder *b)
{
	if (b->n_attrs < b->attrs_cap)
		return 0;
	size_t cap = b->attrs_cap ? b->attrs_cap * 2 : 32;
	struct ss_attr *a = realloc(b->attrs, cap * sizeof(*a));
	if (!a)
		return -ENOMEM;
	b->attrs = a;
	b->attrs_cap = cap;
	return 0;
}

/* One attribute and all its values as text. */
static int take_attribute(struct entry_builder *b, const struct berval *name, const struct berval *v)
{
	int r = grow_attrs(b);
	if (r < 0)
		return r;
	size_t k = 0;
	while (v && v[k].bv_val)
		k++;
	const char **texts = (const char **)arena_alloc(&b->texts, (k + 1) * sizeof(*texts));
	const char *n = texts ? value_text(b, "", name) : NULL;
	for (size_t i = 0; n && i < k; i++)
		if (!(texts[i] = value_text(b, n, &v[i])))
			n = NULL;
	if (!n)
		return -ENOMEM;
	texts[k] = NULL;
	b->attrs[b->n_attrs++] = (struct ss_attr){ .name = n, .values = texts };
	return 0;
}

/* One pass over the entry's BER (ldap_get_attribute_ber): asking for each
 * attribute by name would walk the entry again every time. */
static int take_all_attributes(struct entry_builder *b, LDAP *ld, LDAPMessage *e, char **dn)
{
	BerElement *ber = NULL;
	struct berval bdn = {0};
	if (ldap_get_dn_ber(ld, e, &ber, &bdn) != LDAP_SUCCESS) {
		ber_free(ber, 0);
		return -EBADMSG;
	}
	*dn = strndup(bdn.bv_val, bdn.bv_len);
	int r = *dn ? 0 : -ENOMEM;
	for (;;) {
		struct berval name = {0};
		BerVarray vals = NULL;
		if (ldap_get_attribute_ber(ld, e, ber, &name, &vals) != LDAP_SUCCESS || !name.bv_val)
			break;
		if (r >= 0)
			r = take_attribute(b, &name, vals);
		ber_memfree(vals);
	}
	ber_free(ber, 0);
	return r;
}

static const struct ss_attr *find_attr(const struct entry_builder *b, const char *name)
{
	for (size_t i = 0; name && i < b->n_attrs; i++)
		if (strcasecmp(b->attrs[i].name, name) == 0)
			return &b->attrs[i];
	return NULL;
}

static const char *first_value(const struct entry_builder *b, enum ldap_field f)
{
	const struct ss_attr *a = find_attr(b, b->src->attrs[f]);
	return a && a->values[0] && *a->values[0] ? a->values[0] : NULL;
}

/* The dialect's own rule, then disabled_when. */
static bool entry_disabled(const struct entry_builder *b)
{
	const struct ldap_source *src = b->src;
	if (dialect_is_ad(src)) {
		const struct ss_attr *uac = find_attr(b, "userAccountControl");
		if (uac && uac->values[0] &&
		    ad_account_disabled(&(struct berval){ strlen(uac->values[0]), (char *)uac->values[0] }))
			return true;
	} else if (find_attr(b, "pwdAccountLockedTime")) {
		return true;
	}
	const struct ss_attr *a = find_attr(b, src->disabled_attr);
	if (!a)
		return false;
	if (!src->disabled_values || !src->disabled_values[0])
		return true;
	for (size_t i = 0; a->values[i]; i++)
		if (lstrv_contains_case(src->disabled_values, a->values[i]))
			return true;
	return false;
}

int entry_emit(struct entry_builder *b, LDAP *ld, LDAPMessage *e,
	       ss_emit_fn emit, void *userdata, const char **skip_reason)
{
	builder_reset(b);
	_cleanup_free_ char *dn = NULL;
	int r = take_all_attributes(b, ld, e, &dn);
	if (r < 0)
		return r;
	snprintf(b->origin, sizeof b->origin, "entry %s", dn);
	const char *id = r >= 0 ? first_value(b, LF_ID) : NULL;
	if (r >= 0 && !id) {
		*skip_reason = "an entry has no value for the id attribute";
		return 0;
	}
	if ((r = already_emitted(b, id)) != 0)
		return r < 0 ? r : 2;
	const char *const *groups = NULL;
	if (r >= 0) {
		const struct ss_attr *memberof = find_attr(b, b->src->attrs[LF_GROUPS]);
		if (memberof && memberof->values[0])
			b->with_memberof++;
		r = group_graph_user_groups(b->groups, dn, memberof ? memberof->values : NULL, &groups);
	}
	const struct ss_attr *fac = find_attr(b, b->src->attrs[LF_FACILITY]);
	struct ss_record rec = {
		.id = id, .origin = b->origin, .dn = dn,
		.given_name = first_value(b, LF_GIVEN_NAME),
		.family_name = first_value(b, LF_FAMILY_NAME),
		.email = first_value(b, LF_EMAIL),
		.employee_id = first_value(b, LF_EMPLOYEE_ID),
		.speciality = first_value(b, LF_SPECIALITY),
		.groups = groups,
		.facilities = fac ? fac->values : NULL,
		.attrs = b->attrs, .n_attrs = b->n_attrs,
		.enabled = r >= 0 && !entry_disabled(b),
	};
	if (r >= 0)
		r = emit(userdata, &rec);
	return r < 0 ? r : 1;
}
