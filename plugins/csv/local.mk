# CSV source: RFC 4180 exports read with libcsv.
plugin_LTLIBRARIES += plugins/csv/csv.la
plugins_csv_csv_la_SOURCES = plugins/csv/csv.c
plugins_csv_csv_la_LDFLAGS = $(PLUGIN_LDFLAGS)
plugins_csv_csv_la_LIBADD = $(CSV_LIBS) $(YAML_LIBS)
