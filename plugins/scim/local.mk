# SCIM 2.0 target (issue 4): memberships as SCIM Users, libcurl + jansson.
plugin_LTLIBRARIES += plugins/scim/scim.la
plugins_scim_scim_la_SOURCES = \
	plugins/scim/scim.h \
	plugins/scim/scim-target.h \
	plugins/scim/scim.c \
	plugins/scim/scim-ops.c \
	plugins/scim/scim-conf.c \
	plugins/scim/scim-http.c \
	plugins/scim/scim-json.c \
	plugins/scim/scim-index.c
plugins_scim_scim_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS)
plugins_scim_scim_la_LDFLAGS = $(PLUGIN_LDFLAGS) -export-symbols-regex "^staffsync_plugin$$"
plugins_scim_scim_la_LIBADD = $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)

# The pure parts (mapping, PATCH bodies, index, retry delays), cmocka.
check_PROGRAMS += tests/scim/test-scim-json
tests_scim_test_scim_json_SOURCES = tests/scim/test-scim-json.c \
	plugins/scim/scim-conf.c plugins/scim/scim-http.c plugins/scim/scim-json.c \
	plugins/scim/scim-index.c plugins/scim/scim.h
tests_scim_test_scim_json_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(CURL_CFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/plugins/scim
tests_scim_test_scim_json_LDADD = $(CMOCKA_LIBS) $(CURL_LIBS) $(JANSSON_LIBS) $(YAML_LIBS)

# The invite e-mail as composed (RFC 2047 headers) and its retry delays, cmocka.
check_PROGRAMS += tests/scim/test-invite-mail
tests_scim_test_invite_mail_SOURCES = tests/scim/test-invite-mail.c
tests_scim_test_invite_mail_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) \
	$(SYSTEMD_CFLAGS) $(CURL_CFLAGS)
tests_scim_test_invite_mail_LDADD = daemon/libstaffsync-core.la $(CMOCKA_LIBS)

# Tests against the real SCIM server (tests/scim/server.js: scimmy, npm
# packages installed into tests/scim/node_modules by the tests when missing).
SCIM_TESTS = \
	tests/scim/lifecycle.sh \
	tests/scim/endpoints-tls.sh \
	tests/scim/faults.sh \
	tests/scim/sigkill.sh \
	tests/scim/auth.sh \
	tests/scim/bulk.sh \
	tests/scim/smtp-invites.sh \
	tests/scim/smtp-tls.sh \
	tests/scim/smtps.sh \
	tests/scim/smtp-retry.sh \
	tests/scim/http2.sh \
	tests/scim/refusals.sh \
	tests/scim/adopt-username.sh \
	tests/scim/many-facilities.sh
TESTS += $(SCIM_TESTS)
EXTRA_DIST += $(SCIM_TESTS) tests/scim/lib.sh tests/scim/server.js tests/scim/faultproxy.js \
	tests/scim/smtp-sink.js \
	tests/scim/package.json tests/scim/package-lock.json plugins/scim/SCHEMA.md
