/* SPDX-License-Identifier: MIT */
/*
 * The ldap source's pure parts: objectGUID's canonical string,
 * userAccountControl's disabled bit, entryUUID formatting, and the checks
 * its settings make (through the real host services, with positions).
 * Everything that talks to a server is tested against a real slapd by the
 * shell tests beside this file.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "conf.h"
#include "config.h"
#include "ldap-source.h"

static void test_guid_canonical(void **state)
{
	(void)state;
	/* The bytes of {01234567-89ab-cdef-0123-456789abcdef} as AD stores them. */
	unsigned char raw[16] = { 0x67, 0x45, 0x23, 0x01, 0xab, 0x89, 0xef, 0xcd,
				  0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct berval v = { 16, (char *)raw };
	char buf[40];
	assert_int_equal(ad_guid_to_string(&v, buf, sizeof buf), 0);
	assert_string_equal(buf, "01234567-89ab-cdef-0123-456789abcdef");
	v.bv_len = 15;
	assert_int_equal(ad_guid_to_string(&v, buf, sizeof buf), -EINVAL);
}

static void test_uuid_string(void **state)
{
	(void)state;
	unsigned char u[16] = { 0x3f, 0x2a, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xff };
	char buf[37];
	uuid_to_string(u, buf);
	assert_string_equal(buf, "3f2a0001-0203-0405-0607-08090a0b0cff");
}

static void test_uac_disabled(void **state)
{
	(void)state;
	struct berval normal = { 3, (char *)"512" }, disabled = { 3, (char *)"546" },
		      odd = { 3, (char *)"abc" }, two = { 1, (char *)"2" };
	assert_false(ad_account_disabled(&normal));
	assert_true(ad_account_disabled(&disabled));
	assert_true(ad_account_disabled(&two));
	assert_false(ad_account_disabled(&odd));
	assert_false(ad_account_disabled(NULL));
}

/* Open the settings from YAML: the number of errors recorded (0 = opened). */
static size_t open_errors(const char *yaml, char *first, size_t size)
{
	struct config_errors errors = {0};
	ss_conf *conf = NULL;
	assert_int_equal(conf_load_string("/etc/staffsync/t.yaml", yaml, &conf, &errors), 0);
	struct ldap_source *src = NULL;
	int r = ldap_settings_open(&ss_host_services, conf, conf_root(conf), "corp", &src);
	size_t n = conf_error_count(conf);
	assert_true(r == 0 ? n == 0 : r == -EINVAL && n > 0);
	if (r == 0) {
		assert_non_null(src->request_attrs);
		assert_string_equal(src->attrs[LF_ID], src->dialect == DIALECT_AD ? "objectGUID" : "entryUUID");
	}
	if (first)
		snprintf(first, size, "%s", errors.n ? errors.lines[0] : "");
	ldap_source_free(src);
	conf_free(conf);
	config_errors_clear(&errors);
	return n;
}

static void test_settings_good(void **state)
{
	(void)state;
	assert_int_equal(open_errors("type: ldap\nname: corp\nuri: ldaps://a.example ldaps://b.example\n"
				     "base_dn: ou=people,dc=example,dc=com\nbind_dn: cn=r\n"
				     "bind_password_file: ldap.secret\n", NULL, 0), 0);
	assert_int_equal(open_errors("type: ldap\nuri: ldap://127.0.0.1:3890\nstarttls: false\n"
				     "dialect: ad\nbase_dn: [ou=a, ou=b]\n"
				     "disabled_when: { attribute: employeeType, values: [inactive] }\n", NULL, 0), 0);
}

static void test_settings_refused(void **state)
{
	(void)state;
	char first[512];
	assert_int_equal(open_errors("type: ldap\nuri: ldap://dc.example.org\nstarttls: false\nbase_dn: dc=x\n",
				     first, sizeof first), 1);
	assert_non_null(strstr(first, "t.yaml:3:"));
	assert_non_null(strstr(first, "starttls: false is only accepted"));
	assert_int_equal(open_errors("type: ldap\nuri: http://x\nbase_dn: dc=x\n", NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\nbase_dn: dc=x\nbind_dn: cn=r\n", NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\nbase_dn: dc=x\nsasl_mech: GSSAPI\n", NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\nbase_dn: dc=x\npage_size: 0\n", NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\nbase_dn: dc=x\nattributes: { idx: uid }\n",
				     NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\n", NULL, 0), 1);
	assert_int_equal(open_errors("type: ldap\nuri: ldaps://x\nbase_dn: dc=x\nscope: deep\n", NULL, 0), 1);
}

/* libldap's normalisation, lower-cased: what dir_dn_key must equal. */
static char *slow_key(const char *dn)
{
	char *norm = NULL;
	if (ldap_dn_normalize(dn, LDAP_DN_FORMAT_LDAP, &norm, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || !norm)
		norm = NULL;
	char *key = lstr_lower(norm ? norm : dn);
	ldap_memfree(norm);
	return key;
}

/* The fast path for plain DNs gives exactly what a full parse gives. */
static void test_dn_key(void **state)
{
	(void)state;
	static const char *const dns[] = {
		"cn=g0001,ou=groups,dc=example,dc=com",
		"CN=Ward Nurses,OU=Groups,DC=Example,DC=com",
		"uid=u000123,ou=people,dc=example,dc=com",
		"cn=a, ou=b,dc=c", "cn=a ,ou=b", "cn= a,ou=b", "cn=a  b,ou=c",
		"cn=a=b,ou=c", "cn=a+uid=b,ou=c", "cn=a\\,b,ou=c", "cn=#41,ou=c",
		"cn=Zo\\C3\\AB,ou=c", "cn=Zoë,ou=c", "cn=\\20a,ou=c", "cn=a,,ou=c", "cn=,ou=c",
		"2.5.4.3=x,dc=y", "cn=o'brien,ou=c", "cn=a;ou=c", "cn=\\\"q\\\",ou=c", "cn=a_b-c.d,ou=e",
		"", " cn=a", "cn=a,ou=b ", "cn", "ou=b,cn",
	};
	for (size_t i = 0; i < sizeof dns / sizeof *dns; i++) {
		char *fast = dir_dn_key(dns[i]), *slow = slow_key(dns[i]);
		assert_non_null(fast);
		assert_non_null(slow);
		if (strcmp(fast, slow) != 0)
			fail_msg("%s: %s != %s", dns[i], fast, slow);
		free(fast);
		free(slow);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guid_canonical),
		cmocka_unit_test(test_uuid_string),
		cmocka_unit_test(test_uac_disabled),
		cmocka_unit_test(test_settings_good),
		cmocka_unit_test(test_settings_refused),
		cmocka_unit_test(test_dn_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
