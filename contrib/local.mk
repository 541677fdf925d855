exampledir = $(docdir)/example
dist_example_DATA = contrib/example/staff.csv
EXTRA_DIST += contrib/example/make-staff-csv.py contrib/install-deps.sh contrib/quickstart

# systemd integration: the unit (its paths filled in at build time), the
# service user, the credential files, the journal catalog; installed where
# systemd.pc says (configure --with-systemdsystemunitdir=... etc. override).
systemdunitdir = $(SYSTEMD_UNIT_DIR)
systemdunit_DATA = contrib/systemd/staffsyncd.service
sysusersddir = $(SYSUSERS_DIR)
sysusersd_DATA = contrib/systemd/sysusers.d/staffsync.conf
tmpfilesddir = $(TMPFILES_DIR)
tmpfilesd_DATA = contrib/systemd/tmpfiles.d/staffsync.conf
catalogddir = $(CATALOG_DIR)
dist_catalogd_DATA = contrib/systemd/staffsync.catalog
EXTRA_DIST += contrib/systemd/staffsyncd.service.in contrib/systemd/staffsync.sysusers \
	contrib/systemd/staffsync.tmpfiles
CLEANFILES += $(systemdunit_DATA) $(sysusersd_DATA) $(tmpfilesd_DATA)

contrib/systemd/staffsyncd.service: contrib/systemd/staffsyncd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) $(@D) && \
	sed -e 's|@sbindir[@]|$(sbindir)|g' $(srcdir)/contrib/systemd/staffsyncd.service.in > $@.tmp && mv $@.tmp $@
# Installed under the name systemd looks for (staffsync.conf in each folder).
contrib/systemd/sysusers.d/staffsync.conf: contrib/systemd/staffsync.sysusers
	$(AM_V_GEN)$(MKDIR_P) $(@D) && cp $(srcdir)/contrib/systemd/staffsync.sysusers $@
contrib/systemd/tmpfiles.d/staffsync.conf: contrib/systemd/staffsync.tmpfiles
	$(AM_V_GEN)$(MKDIR_P) $(@D) && cp $(srcdir)/contrib/systemd/staffsync.tmpfiles $@

# Man pages and shell completion.
dist_man_MANS = contrib/man/staffsyncd.8 contrib/man/staffsyncctl.8 contrib/man/staffsync.yaml.5
bashcompletiondir = $(BASH_COMPLETION_DIR)
dist_bashcompletion_DATA = contrib/completion/staffsyncctl
# distcheck installs as a user under its own prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$$(prefix)/lib/systemd/system' \
	--with-sysusersdir='$$(prefix)/lib/sysusers.d' \
	--with-tmpfilesdir='$$(prefix)/lib/tmpfiles.d' \
	--with-catalogdir='$$(prefix)/lib/systemd/catalog' \
	--with-bashcompletiondir='$$(datadir)/bash-completion/completions'
