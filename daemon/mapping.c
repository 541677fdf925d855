/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <strings.h>
#include "mapping.h"
#include "util.h"

#define TRACE(t, ...) do { if (t) (t)->note((t)->ud, __VA_ARGS__); } while (0)

static bool in_any_group(const struct ss_record *r, char *const *groups)
{
	for (size_t i = 0; groups && groups[i]; i++)
		if (strv_contains_case(r->groups, groups[i]))
			return true;
	return false;
}

static bool dn_matches(const struct ss_record *r, char *const *suffixes)
{
	for (size_t i = 0; r->dn && suffixes && suffixes[i]; i++)
		if (str_endswith_case(r->dn, suffixes[i]))
			return true;
	return false;
}

static bool facility_hint_matches(const struct ss_record *r, char *const *values)
{
	for (size_t i = 0; r->facilities && r->facilities[i]; i++)
		if (strv_contains_case((const char *const *)values, r->facilities[i]))
			return true;
	return false;
}

/* Every key given in match must hold; within a key, any value. */
static bool facility_matches(const struct cfg_facility *f, const struct ss_record *r)
{
	if (f->match_facility && !facility_hint_matches(r, f->match_facility))
		return false;
	if (f->match_group && !in_any_group(r, f->match_group))
		return false;
	if (f->match_dn_suffix && !dn_matches(r, f->match_dn_suffix))
		return false;
	return f->match_facility || f->match_group || f->match_dn_suffix;
}

static const char *missing_required(const struct ss_record *r, unsigned req)
{
	if ((req & SS_REQ_SPECIALITY) && isempty(r->speciality))
		return "speciality";
	if ((req & SS_REQ_EMAIL) && isempty(r->email))
		return "email";
	if ((req & SS_REQ_EMPLOYEE_ID) && isempty(r->employee_id))
		return "employee_id";
	if ((req & SS_REQ_GIVEN_NAME) && isempty(r->given_name))
		return "given_name";
	if ((req & SS_REQ_FAMILY_NAME) && isempty(r->family_name))
		return "family_name";
	return NULL;
}

static bool rule_applies(const struct cfg_role_rule *rule, const struct cfg_facility *f)
{
	if (!ss_platform_has_role(f->platform, rule->role))
		return false;
	return !rule->facilities || strv_contains_case((const char *const *)rule->facilities, f->id);
}

/* First matching rule wins; a rule that matches but lacks a required
 * attribute holds the person there (it does not fall through). */
static int map_role(const struct config *cfg, const struct ss_record *r,
		    struct desired *d, const struct mapping_trace *t)
{
	for (size_t i = 0; i < cfg->n_roles; i++) {
		const struct cfg_role_rule *rule = &cfg->roles[i];
		if (!rule_applies(rule, d->facility)) {
			TRACE(t, "  rule %zu (%s, line %d): not for facility %s", i + 1,
			      ss_role_name(rule->role), rule->line, d->facility->id);
			continue;
		}
		if (rule->groups && !in_any_group(r, rule->groups)) {
			TRACE(t, "  rule %zu (%s, line %d): no group matches", i + 1,
			      ss_role_name(rule->role), rule->line);
			continue;
		}
		TRACE(t, "  rule %zu (%s, line %d): matches", i + 1, ss_role_name(rule->role), rule->line);
		d->role = rule->role;
		d->label = rule->label;
		const char *miss = missing_required(r, rule->requires);
		if (miss && asprintf(&d->hold, "role %s requires %s, which the record lacks",
				     ss_role_name(rule->role), miss) < 0)
			return -ENOMEM;
		return 0;
	}
	TRACE(t, "  no role rule matches in %s", d->facility->id);
	return asprintf(&d->hold, "no role rule matches in facility %s", d->facility->id) < 0 ? -ENOMEM : 0;
}

/* Highest matching level wins. */
static enum ss_level map_level(const struct config *cfg, const struct ss_record *r)
{
	enum ss_level level = cfg->permissions.default_level;
	for (int l = _SS_LEVEL_MAX - 1; l > (int)level; l--)
		if (in_any_group(r, cfg->permissions.levels[l]))
			return (enum ss_level)l;
	return level;
}

static const char *record_problem(const struct ss_record *r)
{
	if (r->error)
		return r->error;
	if (isempty(r->id))
		return "the record has no id";
	if (isempty(r->given_name))
		return "given_name is missing";
	if (isempty(r->family_name))
		return "family_name is missing";
	if (r->email && !ss_email_valid(r->email))
		return "the email address is not valid";
	return NULL;
}

static int hold_person(struct mapping *m, const char *why)
{
	return (m->hold = strdup(why)) ? 0 : -ENOMEM;
}

int mapping_map(const struct config *cfg, const struct ss_record *r,
		struct mapping *out, const struct mapping_trace *t)
{
	*out = (struct mapping){0};
	const char *problem = record_problem(r);
	if (problem) {
		TRACE(t, "record held: %s", problem);
		return hold_person(out, problem);
	}
	enum ss_level level = map_level(cfg, r);
	TRACE(t, "permission level: %s", ss_level_name(level));
	if (level == SS_LEVEL_GLOBAL_ADMIN && !cfg->permissions.allow_global_admin) {
		TRACE(t, "held: Global Admin is not allowed (permissions.allow_global_admin: false)");
		return hold_person(out, "a group grants Global Admin, but permissions.allow_global_admin is false");
	}
	out->d = calloc(cfg->n_facilities ? cfg->n_facilities : 1, sizeof *out->d);
	if (!out->d)
		return -ENOMEM;
	for (size_t i = 0; i < cfg->n_facilities; i++) {
		const struct cfg_facility *f = &cfg->facilities[i];
		if (!facility_matches(f, r)) {
			TRACE(t, "facility %s: match does not hold", f->id);
			continue;
		}
		TRACE(t, "facility %s: match holds", f->id);
		struct desired *d = &out->d[out->n++];
		d->facility = f;
		d->level = level;
		int rr = map_role(cfg, r, d, t);
		if (rr < 0) {
			mapping_clear(out);
			return rr;
		}
		if (cfg->facilities_per_person == CFG_FACILITIES_ONE)
			break;
	}
	if (out->n == 0) {
		TRACE(t, "held: no facility matches");
		return asprintf(&out->hold, "no facility matches (facility: %s)",
				r->facilities && r->facilities[0] ? r->facilities[0] : "none") < 0 ? -ENOMEM : 0;
	}
	return 0;
}

void mapping_clear(struct mapping *m)
{
	for (size_t i = 0; i < m->n; i++)
		free(m->d[i].hold);
	free(m->d);
	free(m->hold);
	*m = (struct mapping){0};
}

struct ss_member mapping_member(const struct ss_record *r, const struct desired *d)
{
	return (struct ss_member){
		.facility = (char *)d->facility->id,
		.external_id = (char *)r->id,
		.given_name = (char *)r->given_name,
		.family_name = (char *)r->family_name,
		.email = (char *)r->email,
		.role = (char *)ss_role_name(d->role),
		.label = (char *)d->label,
		.permission_level = (char *)ss_level_name(d->level),
		/* Only a Doctor carries a speciality on the platforms. */
		.speciality = d->role == SS_ROLE_DOCTOR ? (char *)r->speciality : NULL,
		.managed = true,
	};
}
