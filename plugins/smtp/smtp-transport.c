/* SPDX-License-Identifier: MIT */
/*
 * SMTP over libcurl: STARTTLS required unless the URL is smtps:// (implicit
 * TLS), the certificate verified (against ca_file or the system store),
 * AUTH when a username is set. One easy handle serves every mail of a
 * delivery round, so the connection is reused.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "smtp-transport.h"

struct smtp_transport {
	CURL *curl;
	char error[CURL_ERROR_SIZE];
};

struct upload {
	const char *data;
	size_t left;
};

static size_t on_read(char *dst, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t k = size * n < u->left ? size * n : u->left;
	memcpy(dst, u->data, k);
	u->data += k;
	u->left -= k;
	return k;
}

static void transport_close(struct smtp_transport *t)
{
	if (!t)
		return;
	if (t->curl)
		curl_easy_cleanup(t->curl);
	free(t);
}

static int transport_open(const struct smtp_settings *s, struct smtp_transport **ret)
{
	struct smtp_transport *t = calloc(1, sizeof(*t));
	if (!t || !(t->curl = curl_easy_init())) {
		transport_close(t);
		return -ENOMEM;
	}
	CURL *e = t->curl;
	bool implicit = strncasecmp(s->url, "smtps://", 8) == 0;
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(implicit || s->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
	if (s->username) {
		/* libcurl copies both: the caller may wipe its password now. */
		curl_easy_setopt(e, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, s->password ? s->password : "");
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s->timeout_usec / 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
	*ret = t;
	return 0;
}

static int transport_send(struct smtp_transport *t, const char *mail_from, const char *rcpt_to,
			  const char *message, char *why, size_t why_size)
{
	struct curl_slist *rcpts = curl_slist_append(NULL, rcpt_to);
	if (!rcpts)
		return -ENOMEM;
	struct upload u = { message, strlen(message) };
	t->error[0] = '\0';
	curl_easy_setopt(t->curl, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(t->curl, CURLOPT_READDATA, &u);
	CURLcode rc = curl_easy_perform(t->curl);
	curl_easy_setopt(t->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	if (rc == CURLE_OK)
		return 0;
	snprintf(why, why_size, "%s", t->error[0] ? t->error : curl_easy_strerror(rc));
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_LOGIN_DENIED:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_CACERT_BADFILE:
		return -ENOTCONN;   /* the server, not this mail: the others would fail too */
	default:
		return -EIO;        /* this mail: refused (4xx, 5xx) or cut off */
	}
}

static const struct smtp_transport_ops ops = {
	.version = SMTP_TRANSPORT_VERSION,
	.open = transport_open,
	.send = transport_send,
	.close = transport_close,
};

const struct smtp_transport_ops *staffsync_smtp_transport(void)
{
	return &ops;
}
