# Test-only plugins (built for make check, never installed).
check_LTLIBRARIES = tests/plugins/wrong-abi.la tests/plugins/old-target.la
tests_plugins_wrong_abi_la_SOURCES = tests/plugins/wrong-abi.c
# -rpath makes libtool build a shared module even though it is not installed.
tests_plugins_wrong_abi_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
# A target built before ABI 1 revision 1 (no lookup_username member).
tests_plugins_old_target_la_SOURCES = tests/plugins/old-target.c
tests_plugins_old_target_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
