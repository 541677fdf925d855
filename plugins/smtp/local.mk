# The SMTP transport of invite e-mail (libcurl): loaded by daemon/invite-mail.c
# only when there is mail to send, so no other process start pays for libcurl.
plugin_LTLIBRARIES += plugins/smtp/smtp.la
plugins_smtp_smtp_la_SOURCES = plugins/smtp/smtp-transport.h plugins/smtp/smtp-transport.c
plugins_smtp_smtp_la_CFLAGS = $(AM_CFLAGS) $(CURL_CFLAGS)
plugins_smtp_smtp_la_LDFLAGS = $(PLUGIN_LDFLAGS) -export-symbols-regex "^staffsync_smtp_transport$$"
plugins_smtp_smtp_la_LIBADD = $(CURL_LIBS)
