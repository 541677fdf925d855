/* SPDX-License-Identifier: MIT */
/*
 * Invite e-mail over SMTP: STARTTLS required (verified against the system
 * trust store or accounts.smtp.ca_file) unless the URL is smtps:// (implicit
 * TLS) or a loopback server allowed with starttls: false; AUTH when a
 * username is set. The password never reaches a message. The transaction
 * itself is plugins/smtp (libcurl), loaded only when there is mail to send.
 *
 * At most once: apply.c queues a row in the outbox in the transaction that
 * marks the invite operation done. Here a row is set 'sending' (committed)
 * before the SMTP transaction and 'sent' after it; a row still 'sending'
 * when delivery starts was interrupted by a crash: nobody knows whether the
 * server took it, so it is marked 'unknown' and reported, not sent again.
 *
 * Bounded: a mail the server refuses (or that is cut off) is retried after
 * accounts.smtp.retry_delay, doubled per attempt, and is 'failed' after
 * max_attempts; an unusable server (down, TLS, login) is no attempt of any
 * mail, which stays queued for the next run. Headers outside ASCII are
 * RFC 2047 encoded-words (UTF-8, "B"); the body is UTF-8, 8bit.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include "invite-mail.h"
#include "log.h"
#include "plugin-loader.h"
#include "smtp/smtp-transport.h"
#include "util.h"

#define SECRET_MAX 4096
#define RETRY_DELAY_MAX (24 * 3600ULL)   /* seconds: the longest wait between two attempts */

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

/* ---------------------------------------------------------- RFC 2047 --- */

/* A line that holds encoded-words is at most 76 characters (RFC 2047 2). */
#define WORDS_LINE_MAX 76
#define WORD_OVERHEAD (sizeof "=?UTF-8?B?" - 1 + 2)   /* and "?=" */

/* Non-ASCII or control characters, or text that would read as an
 * encoded-word: the value must be encoded. */
static bool needs_words(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p >= 0x7f || (*p < 0x20 && *p != '\t'))
			return true;
	return strstr(s, "=?") != NULL;
}

static void buf_base64(struct buf *b, const unsigned char *s, size_t n)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)s[i] << 16 | (i + 1 < n ? (unsigned)s[i + 1] << 8 : 0) |
			     (i + 2 < n ? s[i + 2] : 0);
		char q[4] = { alphabet[v >> 18 & 63], alphabet[v >> 12 & 63],
			      i + 1 < n ? alphabet[v >> 6 & 63] : '=', i + 2 < n ? alphabet[v & 63] : '=' };
		buf_add(b, q, 4);
	}
}

/* s (UTF-8, one line) as "B" encoded-words from column col on, folded
 * between words so that no line is longer than WORDS_LINE_MAX; a word never
 * splits a character (each must decode on its own). Returns the column
 * after the last word. */
static size_t buf_words(struct buf *b, const unsigned char *s, size_t col)
{
	size_t n = strlen((const char *)s);
	while (n > 0) {
		if (col + WORD_OVERHEAD + 8 > WORDS_LINE_MAX) {   /* no room for a 4-byte character */
			buf_str(b, "\r\n ");
			col = 1;
		}
		size_t room = (WORDS_LINE_MAX - col - WORD_OVERHEAD) / 4 * 3;
		size_t k = n < room ? n : room;
		while (k < n && k > 0 && (s[k] & 0xc0) == 0x80)   /* a continuation byte */
			k--;
		if (k == 0)   /* not UTF-8 after all: cut anywhere rather than loop */
			k = n < room ? n : room;
		buf_str(b, "=?UTF-8?B?");
		buf_base64(b, s, k);
		buf_str(b, "?=");
		col += WORD_OVERHEAD + (k + 2) / 3 * 4;
		s += k;
		n -= k;
	}
	return col;
}

/* The value without line breaks (header injection). malloc'd. */
static char *one_line(const char *value)
{
	char *v = strdup(strempty(value)), *w = v;
	if (!v)
		return NULL;
	for (const char *p = v; *p; p++)
		if (*p != '\r' && *p != '\n')
			*w++ = *p;
	*w = '\0';
	return v;
}

/* An unstructured header (Subject): as it is when plain ASCII, else
 * encoded-words. */
static void buf_header(struct buf *b, const char *name, const char *value)
{
	_cleanup_free_ char *v = one_line(value);
	if (!v) {
		b->oom = true;
		return;
	}
	buf_str(b, name);
	buf_str(b, ": ");
	if (needs_words(v))
		buf_words(b, (const unsigned char *)v, strlen(name) + 2);
	else
		buf_str(b, v);
	buf_str(b, "\r\n");
}

/* An address header: "Display Name" <address>, the name quoted when plain
 * ASCII and encoded-words otherwise (RFC 2047 5(3): a phrase). */
static void buf_address(struct buf *b, const char *name, const char *display, const char *address)
{
	_cleanup_free_ char *d = one_line(display), *a = one_line(address);
	if (!d || !a) {
		b->oom = true;
		return;
	}
	buf_str(b, name);
	buf_str(b, ": ");
	if (!isempty(d) && needs_words(d)) {
		size_t col = buf_words(b, (const unsigned char *)d, strlen(name) + 2);
		/* The address on a line of its own when it would make this one too long. */
		buf_str(b, col + 1 + strlen(a) + 2 > WORDS_LINE_MAX ? "\r\n " : " ");
	} else if (!isempty(d)) {
		buf_str(b, "\"");
		for (const char *p = d; *p; p++) {
			if (*p == '"' || *p == '\\')
				buf_str(b, "\\");
			buf_add(b, p, 1);
		}
		buf_str(b, "\" ");
	}
	buf_str(b, "<");
	buf_str(b, a);
	buf_str(b, ">\r\n");
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

/* "Name <a@b>" or "\"Name\" <a@b>" -> "Name"; "a@b" -> NULL. malloc'd. */
static char *display_of(const char *from)
{
	const char *lt = strrchr(from, '<');
	if (!lt)
		return NULL;
	const char *p = from, *end = lt;
	while (*p == ' ' || *p == '\t')
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	bool quoted = end - p >= 2 && *p == '"' && end[-1] == '"';
	if (quoted) {
		p++;
		end--;
	}
	char *d = strndup(p, (size_t)(end - p)), *w = d;
	if (!d || !quoted)
		return d;
	for (const char *q = d; *q; q++) {   /* a quoted-pair stands for its character */
		if (*q == '\\' && q[1])
			q++;
		*w++ = *q;
	}
	*w = '\0';
	return d;
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
	_cleanup_free_ char *sign_in = NULL, *subject = NULL, *to_name = NULL;
	_cleanup_free_ char *from_name = display_of(s->from);
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

	if (asprintf(&to_name, "%s%s%s", strempty(m->given_name),
		     !isempty(m->given_name) && !isempty(m->family_name) ? " " : "",
		     strempty(m->family_name)) < 0)
		return -ENOMEM;

	struct buf b = {0};
	buf_address(&b, "From", from_name, from);
	buf_address(&b, "To", to_name, m->email);
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

/* The transport module, loaded once for the life of the process. */
static const struct smtp_transport_ops *transport_load(const struct config *cfg)
{
	static const struct smtp_transport_ops *ops;
	if (ops)
		return ops;
	_cleanup_free_ char *why = NULL, *path = NULL;
	void *h = plugin_dlopen(cfg, "smtp", &path, &why);
	smtp_transport_entry_fn entry = h ? (smtp_transport_entry_fn)dlsym(h, SMTP_TRANSPORT_SYMBOL) : NULL;
	const struct smtp_transport_ops *o = entry ? entry() : NULL;
	if (!o || o->version != SMTP_TRANSPORT_VERSION) {
		log_error("cannot load the SMTP transport: %s", why ? why : !h ? "smtp.so is not in the plugin path" :
			  "smtp.so was built for another version of staffsyncd");
		if (!h)
			log_error("the plugin path searched: %s", strempty(path));
		return NULL;
	}
	return ops = o;
}

struct sender {
	const struct smtp_transport_ops *ops;
	struct smtp_transport *t;
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

static void password_wipep(char **p)
{
	if (*p)
		explicit_bzero(*p, strlen(*p));
	free(*p);
}

static int sender_open(const struct config *cfg, struct sender *out)
{
	const struct cfg_smtp *s = &cfg->accounts.smtp_conf;
	_cleanup_(password_wipep) char *password = NULL;
	*out = (struct sender){0};
	int r = load_password(s, &password);
	if (r < 0) {
		log_error("accounts.smtp: cannot read the SMTP password: %s", strerror(-r));
		return r;
	}
	if (!(out->ops = transport_load(cfg)))
		return -ENOENT;
	struct smtp_settings set = { .url = s->url, .username = s->username, .password = password,
				     .ca_file = s->ca_file, .starttls = s->starttls, .timeout_usec = s->timeout };
	return out->ops->open(&set, &out->t);
}

static void sender_close(struct sender *s)
{
	if (s->ops && s->t)
		s->ops->close(s->t);
}

/* One SMTP transaction; why gets the transport's words (never the password). */
static int send_one(struct sender *snd, const struct cfg_smtp *s, const char *rcpt,
		    const char *message, char *why, size_t why_size)
{
	_cleanup_free_ char *from = address_of(s->from), *mail_from = NULL, *to = NULL;
	if (!from || asprintf(&mail_from, "<%s>", from) < 0 || asprintf(&to, "<%s>", rcpt) < 0)
		return -ENOMEM;
	return snd->ops->send(snd->t, mail_from, to, message, why, why_size);
}

/* ---------------------------------------------------------- delivery --- */

struct mail {
	long id;
	char *op_key, *kind, *facility, *person, *email, *given_name, *family_name;
	unsigned long attempts;
};

struct mails {
	struct mail *v;
	size_t n, cap;
	int64_t now;
	size_t waiting;       /* refused before, not due again yet */
};

/* What one delivery did, for its summary line. */
struct tally {
	size_t sent, retry, failed;
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
	if (sm->next_at > m->now) {
		m->waiting++;
		return 0;
	}
	if (array_grow((void **)&m->v, &m->cap, m->n, sizeof *m->v) < 0)
		return -ENOMEM;
	struct mail *x = &m->v[m->n++];
	*x = (struct mail){ sm->id, strdup_or_null(sm->op_key), strdup_or_null(sm->kind),
			    strdup_or_null(sm->facility), strdup_or_null(sm->person),
			    strdup_or_null(sm->email), strdup_or_null(sm->given_name),
			    strdup_or_null(sm->family_name), sm->attempts };
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

int64_t invite_mail_retry_at(const struct cfg_smtp *s, unsigned long attempts, int64_t now)
{
	uint64_t d = s->retry_delay / USEC_PER_SEC;
	for (unsigned long i = 1; i < attempts && d < RETRY_DELAY_MAX; i++)
		d *= 2;
	if (d > RETRY_DELAY_MAX)
		d = RETRY_DELAY_MAX;
	return now + (int64_t)d;
}

/* The mail was not delivered and its attempts are used up: failed for
 * good, said once at error level with the fields an operator filters on. */
static int give_up(state *st, const struct mail *x, unsigned long attempts, const char *why)
{
	char f_fac[300], f_person[300];
	snprintf(f_fac, sizeof f_fac, "STAFFSYNC_FACILITY=%s", x->facility);
	snprintf(f_person, sizeof f_person, "STAFFSYNC_PERSON=%s", x->person);
	log_fields(LOG_ERR, (const char *const[]){ SS_MID_OP_FAILED, f_fac, f_person,
						   "STAFFSYNC_OP=invite_mail", NULL },
		   "%s e-mail to %s (%s in %s) failed after %lu attempts: %s; it is not tried again "
		   "(outbox row %ld, state 'failed')", x->kind, x->email, x->person, x->facility,
		   attempts, why, x->id);
	return state_outbox_set(st, x->id, "failed", why, 0);
}

/* A refused or cut-off mail: tried again later, or failed once
 * accounts.smtp.max_attempts transactions did not deliver it. */
static int refused(state *st, const struct cfg_smtp *s, const struct mail *x, const char *why,
		   int64_t now, struct tally *t)
{
	unsigned long attempts = x->attempts + 1;
	if (attempts >= s->max_attempts) {
		t->failed++;
		return give_up(st, x, attempts, why);
	}
	int64_t at = invite_mail_retry_at(s, attempts, now);
	char when[64];
	time_t tt = (time_t)at;
	struct tm tm;
	strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&tt, &tm));
	log_warning("%s e-mail to %s (%s in %s) not sent (attempt %lu of %lu): %s; "
		    "tried again from %s", x->kind, x->email, x->person, x->facility, attempts,
		    s->max_attempts, why, when);
	t->retry++;
	return state_outbox_retry(st, x->id, why, attempts, at);
}

/* 0 sent or refused for this mail only; 1 the server failed (stop here). */
static int deliver_one(state *st, const struct config *cfg, struct sender *snd,
		       const struct mail *x, int64_t now, struct tally *t)
{
	const struct cfg_smtp *s = &cfg->accounts.smtp_conf;
	struct state_mail sm = { .id = x->id, .op_key = x->op_key, .kind = x->kind,
				 .facility = x->facility, .person = x->person, .email = x->email,
				 .given_name = x->given_name, .family_name = x->family_name,
				 .attempts = x->attempts };
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
	char why[SMTP_WHY_MAX] = "";
	r = send_one(snd, s, x->email, msg, why, sizeof why);
	if (r == -ENOTCONN || r == -ENOMEM) {
		/* The server's fault (down, TLS, login) or ours: not this mail's attempt. */
		const char *w = why[0] ? why : strerror(-r);
		log_warning("%s e-mail to %s (%s in %s) not sent: %s; it stays queued for the next run",
			    x->kind, x->email, x->person, x->facility, w);
		int k = state_outbox_retry(st, x->id, w, x->attempts, 0);
		return k < 0 ? k : 1;
	}
	if (r < 0)
		return refused(st, s, x, why[0] ? why : strerror(-r), now, t);
	log_info("%s e-mail sent to %s (%s in %s)", x->kind, x->email, x->person, x->facility);
	t->sent++;
	return state_outbox_set(st, x->id, "sent", NULL, now);
}

static void log_tally(const struct tally *t, size_t waiting)
{
	if (t->failed)
		log_error("invite e-mail: %zu sent, %zu failed for good, %zu to be tried again, "
			  "%zu waiting for a later retry", t->sent, t->failed, t->retry, waiting);
	else if (t->retry || waiting)
		log_warning("invite e-mail: %zu sent, %zu to be tried again, %zu waiting for a later retry",
			    t->sent, t->retry, waiting);
	else if (t->sent)
		log_info("invite e-mail: %zu sent", t->sent);
}

int invite_mail_deliver(state *st, const struct config *cfg, int64_t now, unsigned long *failed)
{
	struct mails m = { .now = now };
	struct tally t = {0};
	int r = state_outbox_for_each(st, "sending", report_interrupted, st);
	if (r >= 0)
		r = state_outbox_for_each(st, "queued", collect, &m);
	if (r < 0 || m.n == 0) {
		if (r >= 0)
			log_tally(&t, m.waiting);
		mails_free(&m);
		return r;
	}
	struct sender snd;
	if (!cfg->accounts.smtp_conf.from) {
		log_error("accounts.smtp.from is not set: %zu invite e-mails stay queued", m.n);
		mails_free(&m);
		return 0;
	}
	if (sender_open(cfg, &snd) < 0) {
		log_warning("%zu invite e-mails stay queued for the next run", m.n);
		sender_close(&snd);
		mails_free(&m);
		return 0;
	}
	size_t i;
	for (i = 0; i < m.n && r == 0; i++)
		r = deliver_one(st, cfg, &snd, &m.v[i], now, &t);
	if (r > 0 && i < m.n)   /* the server is unreachable or refuses us: try the rest next run */
		log_warning("%zu more invite e-mails stay queued for the next run", m.n - i);
	if (r >= 0)
		log_tally(&t, m.waiting);
	*failed += t.failed;
	sender_close(&snd);
	mails_free(&m);
	return r < 0 ? r : 0;
}
