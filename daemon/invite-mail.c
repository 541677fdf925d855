/* SPDX-License-Identifier: MIT */
/*
 * Invite e-mail over SMTP with libcurl: STARTTLS required (verified against
 * the system trust store or accounts.smtp.ca_file) unless the URL is
 * smtps:// (implicit TLS) or a loopback server allowed with starttls: false;
 * AUTH when a username is set. The password never reaches a message.
 *
 * At most once: apply.c queues a row in the outbox in the transaction that
 * marks the invite operation done. Here a row is set 'sending' (committed)
 * before the SMTP transaction and 'sent' after it; a row still 'sending'
 * when delivery starts was interrupted by a crash: nobody knows whether the
 * server took it, so it is marked 'unknown' and reported, not sent again.
 */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "invite-mail.h"
#include "log.h"
#include "util.h"

#define SECRET_MAX 4096

static const char default_body[] =
	"Hello {given_name} {family_name},\n"
	"\n"
	"a staff account has been prepared for you at {facility_name}.\n"
	"Sign in at {sign_in_url} with this e-mail address ({email}) to activate it.\n"
	"\n"
	"-- \n"
	"Sent by staffsync for your organisation's IT department.\n";

/* -------------------------------------------------------------- text --- */

struct buf {
	char *s;
	size_t n, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		while (cap < b->n + n + 1)
			cap *= 2;
		char *p = realloc(b->s, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->s = p;
		b->cap = cap;
	}
	memcpy(b->s + b->n, s, n);
	b->n += n;
	b->s[b->n] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* A header value: no line breaks (header injection). */
static void buf_header(struct buf *b, const char *name, const char *value)
{
	buf_str(b, name);
	buf_str(b, ": ");
	for (const char *p = value; *p; p++)
		if (*p != '\r' && *p != '\n')
			buf_add(b, p, 1);
	buf_str(b, "\r\n");
}

struct fields {
	const char *given_name, *family_name, *email, *facility, *facility_name, *sign_in_url;
};

static const char *field(const struct fields *f, const char *name, size_t n)
{
	static const struct { const char *name; size_t off; } map[] = {
		{ "given_name", offsetof(struct fields, given_name) },
		{ "family_name", offsetof(struct fields, family_name) },
		{ "email", offsetof(struct fields, email) },
		{ "facility", offsetof(struct fields, facility) },
		{ "facility_name", offsetof(struct fields, facility_name) },
		{ "sign_in_url", offsetof(struct fields, sign_in_url) },
	};
	for (size_t i = 0; i < ELEMENTSOF(map); i++)
		if (strlen(map[i].name) == n && strncmp(map[i].name, name, n) == 0)
			return strempty(*(const char *const *)((const char *)f + map[i].off));
	return NULL;
}

/* The template with {placeholders} filled, LF turned into CRLF. */
static void buf_template(struct buf *b, const char *tpl, const struct fields *f)
{
	for (const char *p = tpl; *p; p++) {
		if (*p == '{') {
			const char *end = strchr(p, '}');
			const char *v = end ? field(f, p + 1, (size_t)(end - p - 1)) : NULL;
			if (v) {
				buf_str(b, v);
				p = end;
				continue;
			}
		}
		if (*p == '\n')
			buf_str(b, "\r\n");
		else if (*p != '\r')
			buf_add(b, p, 1);
	}
}

/* "Name <a@b>" -> "a@b"; "a@b" stays. malloc'd. */
static char *address_of(const char *from)
{
	const char *lt = strrchr(from, '<'), *gt = lt ? strchr(lt, '>') : NULL;
	if (lt && gt)
		return strndup(lt + 1, (size_t)(gt - lt - 1));
	return strdup(from);
}

static int load_template(const struct cfg_smtp *s, char **ret)
{
	if (!s->template_file) {
		*ret = strdup(default_body);
		return *ret ? 0 : -ENOMEM;
	}
	return read_file_small(s->template_file, 65536, ret);
}

int invite_mail_compose(const struct config *cfg, const struct state_mail *m, int64_t now,
			char **ret)
{
	const struct cfg_smtp *s = &cfg->accounts.smtp_conf;
	const struct cfg_facility *fac = config_facility(cfg, m->facility);
	if (!s->from)
		return -EDESTADDRREQ;
	_cleanup_free_ char *tpl = NULL, *from = address_of(s->from);
	_cleanup_free_ char *sign_in = NULL, *subject = NULL;
	if (!from)
		return -ENOMEM;
	int r = load_template(s, &tpl);
	if (r < 0)
		return r;
	/* {facility} in sign_in_url: the same template as the SCIM base_url. */
	struct fields f = { m->given_name, m->family_name, m->email, m->facility,
			    fac && fac->name ? fac->name : m->facility, NULL };
	struct buf u = {0};
	buf_template(&u, s->sign_in_url ? s->sign_in_url : "your facility's workspace", &f);
	if (u.oom)
		return -ENOMEM;
	sign_in = u.s;
	f.sign_in_url = strempty(sign_in);
	if (asprintf(&subject, "%s %s", streq(m->kind, "resend") ? "Reminder: your staff account at"
		     : "Your staff account at", f.facility_name) < 0)
		return -ENOMEM;

	char date[64];
	time_t t = (time_t)now;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	const char *domain = strchr(from, '@');
	char msgid[160];
	snprintf(msgid, sizeof msgid, "<staffsync.%016llx@%s>",
		 (unsigned long long)fnv1a64_str(m->op_key, FNV1A64_INIT), domain ? domain + 1 : "staffsync.invalid");

	struct buf b = {0};
	buf_header(&b, "From", s->from);
	buf_header(&b, "To", m->email);
	buf_header(&b, "Subject", subject);
	buf_header(&b, "Date", date);
	buf_header(&b, "Message-ID", msgid);
	buf_header(&b, "MIME-Version", "1.0");
	buf_header(&b, "Content-Type", "text/plain; charset=UTF-8");
	buf_header(&b, "Content-Transfer-Encoding", "8bit");
	buf_header(&b, "Auto-Submitted", "auto-generated");
	buf_str(&b, "\r\n");
	buf_template(&b, tpl, &f);
	if (b.oom) {
		free(b.s);
		return -ENOMEM;
	}
	*ret = b.s;
	return 0;
}

/* -------------------------------------------------------------- smtp --- */

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

struct sender {
	CURL *curl;
	char *password;
	char error[CURL_ERROR_SIZE];
};

static int load_password(const struct cfg_smtp *s, char **ret)
{
	if (s->password_file)
		return read_file_small(s->password_file, SECRET_MAX, ret);
	if (!s->password_credential)
		return 0;
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	_cleanup_free_ char *path = NULL;
	if (isempty(dir))
		return -ENOENT;
	if (asprintf(&path, "%s/%s", dir, s->password_credential) < 0)
		return -ENOMEM;
	return read_file_small(path, SECRET_MAX, ret);
}

static int sender_open(const struct cfg_smtp *s, struct sender *out)
{
	*out = (struct sender){0};
	int r = load_password(s, &out->password);
	if (r < 0) {
		log_error("accounts.smtp: cannot read the SMTP password: %s", strerror(-r));
		return r;
	}
	out->curl = curl_easy_init();
	if (!out->curl)
		return -ENOMEM;
	CURL *e = out->curl;
	bool implicit = strncasecmp(s->url, "smtps://", 8) == 0;
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_USE_SSL, (long)(implicit || s->starttls ? CURLUSESSL_ALL : CURLUSESSL_NONE));
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (s->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, s->ca_file);
	if (s->username) {
		curl_easy_setopt(e, CURLOPT_USERNAME, s->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, strempty(out->password));
	}
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(s->timeout / 1000));
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, out->error);
	return 0;
}

static void sender_close(struct sender *s)
{
	if (s->curl)
		curl_easy_cleanup(s->curl);
	if (s->password)
		explicit_bzero(s->password, strlen(s->password));
	free(s->password);
}

/* One SMTP transaction; why gets curl's words (never the password). */
static int send_one(struct sender *snd, const struct cfg_smtp *s, const char *rcpt,
		    const char *message, char *why, size_t why_size)
{
	_cleanup_free_ char *from = address_of(s->from), *mail_from = NULL, *to = NULL;
	if (!from || asprintf(&mail_from, "<%s>", from) < 0 || asprintf(&to, "<%s>", rcpt) < 0)
		return -ENOMEM;
	struct curl_slist *rcpts = curl_slist_append(NULL, to);
	if (!rcpts)
		return -ENOMEM;
	struct upload u = { message, strlen(message) };
	snd->error[0] = '\0';
	curl_easy_setopt(snd->curl, CURLOPT_MAIL_FROM, mail_from);
	curl_easy_setopt(snd->curl, CURLOPT_MAIL_RCPT, rcpts);
	curl_easy_setopt(snd->curl, CURLOPT_READDATA, &u);
	CURLcode rc = curl_easy_perform(snd->curl);
	curl_easy_setopt(snd->curl, CURLOPT_MAIL_RCPT, NULL);
	curl_slist_free_all(rcpts);
	if (rc == CURLE_OK)
		return 0;
	snprintf(why, why_size, "%s", snd->error[0] ? snd->error : curl_easy_strerror(rc));
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
		return -EIO;
	}
}

/* ---------------------------------------------------------- delivery --- */

struct mail {
	long id;
	char *op_key, *kind, *facility, *person, *email, *given_name, *family_name;
};

struct mails {
	struct mail *v;
	size_t n, cap;
};

static void mails_free(struct mails *m)
{
	for (size_t i = 0; i < m->n; i++) {
		struct mail *x = &m->v[i];
		free(x->op_key); free(x->kind); free(x->facility); free(x->person);
		free(x->email); free(x->given_name); free(x->family_name);
	}
	free(m->v);
	*m = (struct mails){0};
}

static int collect(void *ud, const struct state_mail *sm)
{
	struct mails *m = ud;
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct mail *v = reallocarray(m->v, cap, sizeof *v);
		if (!v)
			return -ENOMEM;
		m->v = v;
		m->cap = cap;
	}
	struct mail *x = &m->v[m->n++];
	*x = (struct mail){ sm->id, strdup_or_null(sm->op_key), strdup_or_null(sm->kind),
			    strdup_or_null(sm->facility), strdup_or_null(sm->person),
			    strdup_or_null(sm->email), strdup_or_null(sm->given_name),
			    strdup_or_null(sm->family_name) };
	if (!x->op_key || !x->kind || !x->facility || !x->person || !x->email)
		return -ENOMEM;
	return 0;
}

static int report_interrupted(void *ud, const struct state_mail *m)
{
	state *st = ud;
	log_warning("the %s e-mail to %s (%s in %s) was being sent when staffsyncd stopped; "
		    "whether it left is unknown, so it is not sent again",
		    m->kind, m->email, m->person, m->facility);
	return state_outbox_set(st, m->id, "unknown", "interrupted during the SMTP transaction", 0);
}

/* 0 sent or refused for this mail only; 1 the server failed (stop here). */
static int deliver_one(state *st, const struct config *cfg, struct sender *snd,
		       const struct mail *x, int64_t now)
{
	struct state_mail sm = { x->id, x->op_key, x->kind, x->facility, x->person, x->email,
				 x->given_name, x->family_name, 0 };
	_cleanup_free_ char *msg = NULL;
	int r = invite_mail_compose(cfg, &sm, now, &msg);
	if (r < 0) {
		log_error("cannot write the %s e-mail to %s: %s", x->kind, x->email, strerror(-r));
		return 0;
	}
	/* Committed before the SMTP transaction: a crash from here on leaves
	 * the row 'sending', and it is never sent twice. */
	if ((r = state_outbox_set(st, x->id, "sending", NULL, now)) < 0)
		return r;
	char why[CURL_ERROR_SIZE + 64] = "";
	r = send_one(snd, &cfg->accounts.smtp_conf, x->email, msg, why, sizeof why);
	if (r < 0) {
		log_warning("%s e-mail to %s (%s in %s) not sent: %s; it stays queued for the next run",
			    x->kind, x->email, x->person, x->facility, why[0] ? why : strerror(-r));
		int k = state_outbox_set(st, x->id, "queued", why[0] ? why : strerror(-r), now);
		return k < 0 ? k : r == -ENOTCONN ? 1 : 0;
	}
	log_info("%s e-mail sent to %s (%s in %s)", x->kind, x->email, x->person, x->facility);
	return state_outbox_set(st, x->id, "sent", NULL, now);
}

int invite_mail_deliver(state *st, const struct config *cfg, int64_t now)
{
	struct mails m = {0};
	int r = state_outbox_for_each(st, "sending", report_interrupted, st);
	if (r >= 0)
		r = state_outbox_for_each(st, "queued", collect, &m);
	if (r < 0 || m.n == 0) {
		mails_free(&m);
		return r;
	}
	struct sender snd;
	if (!cfg->accounts.smtp_conf.from) {
		log_error("accounts.smtp.from is not set: %zu invite e-mails stay queued", m.n);
		mails_free(&m);
		return 0;
	}
	if (sender_open(&cfg->accounts.smtp_conf, &snd) < 0) {
		log_warning("%zu invite e-mails stay queued for the next run", m.n);
		sender_close(&snd);
		mails_free(&m);
		return 0;
	}
	size_t i;
	for (i = 0; i < m.n && r == 0; i++)
		r = deliver_one(st, cfg, &snd, &m.v[i], now);
	if (r > 0 && i < m.n)   /* the server is unreachable or refuses us: try the rest next run */
		log_warning("%zu more invite e-mails stay queued for the next run", m.n - i);
	sender_close(&snd);
	mails_free(&m);
	return r < 0 ? r : 0;
}
