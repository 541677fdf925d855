# Unit tests (cmocka) link the core library; plugin tests compile the plugin
# source in. Integration tests run the built binaries on scenario folders.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
UNIT_LDADD = daemon/libstaffsync-core.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test-config
tests_unit_test_config_SOURCES = tests/unit/test-config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = daemon/libstaffsync-base.la $(CMOCKA_LIBS)

check_PROGRAMS += tests/unit/test-mapping
tests_unit_test_mapping_SOURCES = tests/unit/test-mapping.c tests/unit/fixtures.c tests/unit/fixtures.h
tests_unit_test_mapping_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_mapping_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test-plan
tests_unit_test_plan_SOURCES = tests/unit/test-plan.c tests/unit/fixtures.c tests/unit/fixtures.h
tests_unit_test_plan_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_plan_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test-apply
tests_unit_test_apply_SOURCES = tests/unit/test-apply.c tests/unit/fixtures.c tests/unit/fixtures.h
tests_unit_test_apply_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_apply_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test-gates
tests_unit_test_gates_SOURCES = tests/unit/test-gates.c tests/unit/fixtures.c tests/unit/fixtures.h
tests_unit_test_gates_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_gates_LDADD = $(UNIT_LDADD)

check_PROGRAMS += tests/unit/test-csv
tests_unit_test_csv_SOURCES = tests/unit/test-csv.c plugins/csv/csv.c
tests_unit_test_csv_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_csv_LDADD = daemon/libstaffsync-base.la $(CMOCKA_LIBS) $(CSV_LIBS)

check_PROGRAMS += tests/unit/test-sqlite-target
tests_unit_test_sqlite_target_SOURCES = tests/unit/test-sqlite-target.c plugins/sqlite/sqlite.c
tests_unit_test_sqlite_target_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sqlite_target_LDADD = daemon/libstaffsync-base.la $(CMOCKA_LIBS) $(SQLITE_LIBS)

TESTS += $(check_PROGRAMS)
# cmocka speaks TAP: every test case is counted, not only every program.
TEST_EXTENSIONS = .sh
LOG_DRIVER = env AM_TAP_AWK='$(AWK)' CMOCKA_MESSAGE_OUTPUT=TAP $(SHELL) $(top_srcdir)/build-aux/tap-driver.sh

# Integration: shell scripts that run staffsyncd/staffsyncctl for real.
INTEGRATION_TESTS = \
	tests/integration/check-config.sh \
	tests/integration/ctl.sh \
	tests/integration/scenarios.sh \
	tests/integration/sigkill.sh
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/lib.sh tests/integration/scenarios \
	tests/bench tests/run-all

AM_TESTS_ENVIRONMENT = \
	STAFFSYNC_PLUGIN_PATH='$(abs_top_builddir)/plugins/csv/.libs:$(abs_top_builddir)/plugins/sqlite/.libs:$(abs_top_builddir)/plugins/smtp/.libs'; \
	STAFFSYNC_TEST_PLUGIN_DIR='$(abs_top_builddir)/tests/plugins/.libs'; export STAFFSYNC_TEST_PLUGIN_DIR; \
	export STAFFSYNC_PLUGIN_PATH; \
	top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export top_srcdir top_builddir;
