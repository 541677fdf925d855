# The embedded workspace store: facilities and memberships in SQLite.
plugin_LTLIBRARIES += plugins/sqlite/sqlite.la
plugins_sqlite_sqlite_la_SOURCES = plugins/sqlite/sqlite.c
plugins_sqlite_sqlite_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS)
plugins_sqlite_sqlite_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_sqlite_sqlite_la_LIBADD = $(SQLITE_LIBS) $(YAML_LIBS)
