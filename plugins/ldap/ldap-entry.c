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

struct entry_builder {
	const struct ldap_source *src;
	struct group_graph *groups;
	char **strings;              /* this entry's copies */
	struct ss_attr *attrs;
	size_t n_attrs, attrs_cap;
	const char ***values;        /* one array per attribute */
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

static void builder_reset(struct entry_builder *b)
{
	for (size_t i = 0; i < b->n_attrs; i++)
		free(b->values[i]);
	b->n_attrs = 0;
	lstrv_free(b->strings);
	b->strings = NULL;
}

void entry_builder_free(struct entry_builder *b)
{
	if (!b)
		return;
	builder_reset(b);
	free(b->attrs);
	free(b->values);
	free(b);
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

/* A value as text (kept in b->strings). NULL on ENOMEM. */
static const char *value_text(struct entry_builder *b, const char *attr, const struct berval *v)
{
	char buf[64];
	_cleanup_free_ char *text = NULL;
	if (is_guid_attr(attr) && ad_guid_to_string(v, buf, sizeof buf) == 0) {
		text = strdup(buf);
	} else if (valid_utf8((const unsigned char *)v->bv_val, v->bv_len)) {
		text = strndup(v->bv_val, v->bv_len);
	} else {
		static const char hex[] = "0123456789abcdef";
		text = malloc(4 + 2 * v->bv_len + 1);
		if (text) {
			char *p = stpcpy(text, "hex:");
			for (size_t i = 0; i < v->bv_len; i++) {
				*p++ = hex[(unsigned char)v->bv_val[i] >> 4];
				*p++ = hex[(unsigned char)v->bv_val[i] & 15];
			}
			*p = '\0';
		}
	}
	if (!text || lstrv_push(&b->strings, text) < 0)
		return NULL;
	return b->strings[lstrv_length(b->strings) - 1];
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
	const char ***v = realloc(b->values, cap * sizeof(*v));
	if (!v)
		return -ENOMEM;
	b->values = v;
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
	const char **texts = calloc(k + 1, sizeof(*texts));
	const char *n = texts ? value_text(b, "", name) : NULL;
	for (size_t i = 0; n && i < k; i++)
		if (!(texts[i] = value_text(b, n, &v[i])))
			n = NULL;
	if (!n) {
		free(texts);
		return -ENOMEM;
	}
	b->values[b->n_attrs] = texts;
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
	const char *const *groups = NULL;
	if (r >= 0) {
		const struct ss_attr *memberof = find_attr(b, b->src->attrs[LF_GROUPS]);
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
