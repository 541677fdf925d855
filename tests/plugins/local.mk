# Test-only plugins (built for make check, never installed).
check_LTLIBRARIES = tests/plugins/wrong-abi.la
tests_plugins_wrong_abi_la_SOURCES = tests/plugins/wrong-abi.c
# -rpath makes libtool build a shared module even though it is not installed.
tests_plugins_wrong_abi_la_LDFLAGS = $(PLUGIN_LDFLAGS) -rpath /nowhere
