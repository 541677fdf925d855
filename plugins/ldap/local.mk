# LDAP / Active Directory source (issue 3).
plugin_LTLIBRARIES += plugins/ldap/ldap.la
plugins_ldap_ldap_la_SOURCES = \
	plugins/ldap/ldap-source.h \
	plugins/ldap/ldap-conf.c \
	plugins/ldap/ldap-conn.c \
	plugins/ldap/ldap-paged.c \
	plugins/ldap/ldap-entry.c \
	plugins/ldap/ldap-dn.c \
	plugins/ldap/ldap-groups.h \
	plugins/ldap/ldap-groups.c \
	plugins/ldap/ldap-groups-lazy.c \
	plugins/ldap/ldap-members.c \
	plugins/ldap/ldap-ad.c \
	plugins/ldap/ldap-sync.c \
	plugins/ldap/ldap-usn.c \
	plugins/ldap/ldap-strv.c \
	plugins/ldap/ldap-plugin.c
plugins_ldap_ldap_la_CFLAGS = $(AM_CFLAGS) $(LDAP_CFLAGS) $(JANSSON_CFLAGS)
plugins_ldap_ldap_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_ldap_ldap_la_LIBADD = $(LDAP_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)

# Tests: the pure parts (cmocka, with the real host services), and shell
# tests against a private slapd started and stopped by the test itself.
check_PROGRAMS += tests/ldap/test-ldap-units
tests_ldap_test_ldap_units_SOURCES = tests/ldap/test-ldap-units.c $(plugins_ldap_ldap_la_SOURCES)
tests_ldap_test_ldap_units_CFLAGS = $(UNIT_CFLAGS) $(LDAP_CFLAGS) -I$(top_srcdir)/plugins/ldap
tests_ldap_test_ldap_units_LDADD = daemon/libstaffsync-base.la $(CMOCKA_LIBS) $(LDAP_LIBS) $(JANSSON_LIBS)

LDAP_TESTS = \
	tests/ldap/openldap-full.sh \
	tests/ldap/openldap-failures.sh \
	tests/ldap/openldap-cut-listings.sh \
	tests/ldap/samba-ad.sh
TESTS += $(LDAP_TESTS)
EXTRA_DIST += $(LDAP_TESTS) tests/ldap/lib.sh tests/ldap/kill-proxy.py tests/ldap/silent-server.py tests/ldap/ldap-proxy.py \
	tests/bench/bench-ldap.sh plugins/ldap/README.md
