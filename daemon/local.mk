# The core: everything but main() lives in convenience libraries shared by
# staffsyncd, staffsyncctl and the unit tests. The base (configuration,
# vocabulary, logging) is what the plugins' own unit tests need.
noinst_LTLIBRARIES += daemon/libstaffsync-base.la
daemon_libstaffsync_base_la_SOURCES = \
	daemon/util.c daemon/util.h \
	daemon/log.c daemon/log.h \
	daemon/domain.c daemon/domain.h \
	daemon/conf.c daemon/conf.h \
	daemon/config.c daemon/config.h
daemon_libstaffsync_base_la_CFLAGS = $(AM_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_libstaffsync_base_la_LIBADD = $(YAML_LIBS) $(SYSTEMD_LIBS)

noinst_LTLIBRARIES += daemon/libstaffsync-core.la
daemon_libstaffsync_core_la_SOURCES = \
	daemon/plugin-loader.c daemon/plugin-loader.h \
	daemon/config-open.c daemon/config-open.h \
	daemon/mapping.c daemon/mapping.h \
	daemon/plan.c daemon/plan.h \
	daemon/plan-print.c daemon/plan-print.h \
	daemon/gates.c daemon/gates.h \
	daemon/state.c daemon/state.h \
	daemon/apply.c daemon/apply.h \
	daemon/invite-mail.c daemon/invite-mail.h \
	daemon/run.c daemon/run.h \
	daemon/run-log.c daemon/run-log.h \
	daemon/control.c daemon/control.h \
	daemon/metrics.c daemon/metrics.h
daemon_libstaffsync_core_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
daemon_libstaffsync_core_la_LIBADD = daemon/libstaffsync-base.la $(YAML_LIBS) $(SQLITE_LIBS) $(JANSSON_LIBS) $(SYSTEMD_LIBS) $(LIBS) -lm

sbin_PROGRAMS += staffsyncd
staffsyncd_SOURCES = daemon/main.c daemon/service.c daemon/service.h
staffsyncd_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
staffsyncd_LDADD = daemon/libstaffsync-core.la

bin_PROGRAMS += staffsyncctl
staffsyncctl_SOURCES = daemon/ctl.c
staffsyncctl_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JANSSON_CFLAGS) $(SYSTEMD_CFLAGS)
staffsyncctl_LDADD = daemon/libstaffsync-core.la
