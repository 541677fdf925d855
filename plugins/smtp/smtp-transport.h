/* SPDX-License-Identifier: MIT */
/*
 * The SMTP transport: one module (smtp.so, beside the plugins) that sends
 * invite e-mail with libcurl. daemon/invite-mail.c keeps the outbox, the
 * messages and the retries, and loads this only when it has mail to send:
 * libcurl and what it pulls in (OpenSSL, Kerberos, libssh2, ...) cost 13 ms
 * at every start of a process that links them (measured: an empty program
 * 2.3 ms, linked with libcurl 15.2 ms), which an incremental run of a few
 * tens of milliseconds would otherwise pay each time.
 *
 * This is an internal interface between two parts built together, not the
 * plugin ABI: the version must match exactly.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SMTP_TRANSPORT_SYMBOL "staffsync_smtp_transport"
#define SMTP_TRANSPORT_VERSION 1
#define SMTP_WHY_MAX 320

struct smtp_settings {
	const char *url;             /* smtp://host:587 or smtps://host */
	const char *username;        /* AUTH; NULL: none */
	const char *password;
	const char *ca_file;         /* NULL: the system trust store */
	bool starttls;
	uint64_t timeout_usec;
};

struct smtp_transport;

struct smtp_transport_ops {
	unsigned version;
	int (*open)(const struct smtp_settings *s, struct smtp_transport **ret);
	/* One transaction: 0 sent; -ENOTCONN the server failed (down, TLS,
	 * login: the other mails would fail too); -EIO this mail was refused
	 * or cut off; -ENOMEM. why gets the server's or libcurl's words,
	 * never the password. */
	int (*send)(struct smtp_transport *t, const char *mail_from, const char *rcpt_to,
		    const char *message, char *why, size_t why_size);
	void (*close)(struct smtp_transport *t);
};

typedef const struct smtp_transport_ops *(*smtp_transport_entry_fn)(void);
const struct smtp_transport_ops *staffsync_smtp_transport(void);
