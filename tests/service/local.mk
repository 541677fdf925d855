# The service: staffsyncd under a fake systemd (NOTIFY_SOCKET, the journal
# socket), the unit's hardening, the installed files.
SERVICE_TESTS = \
	tests/service/notify.sh \
	tests/service/sigterm.sh \
	tests/service/journal.sh \
	tests/service/unit-security.sh \
	tests/service/install.sh \
	tests/service/docs.sh \
	tests/service/backoff.sh \
	tests/service/overrun.sh \
	tests/service/full-every.sh \
	tests/service/secrets.sh \
	tests/service/status-holds.sh
TESTS += $(SERVICE_TESTS)
EXTRA_DIST += $(SERVICE_TESTS) tests/service/lib.sh tests/service/sockrecv.py tests/service/smtpdeny.py
check_DATA = contrib/systemd/staffsyncd.service
