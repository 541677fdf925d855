/* SPDX-License-Identifier: MIT */
/*
 * The invite e-mail as composed (daemon/invite-mail.c): RFC 2047
 * encoded-words for names and subjects outside ASCII (7-bit headers, lines
 * of at most 76 characters, no character split between two words, decoded
 * back to the same text), quoted display names, no header injection, and
 * the retry delays of a refused mail. Delivery itself is tested against
 * real SMTP servers by tests/scim/smtp*.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "invite-mail.h"
#include "util.h"

#define LONG_NAME "Klinik Süd – Ärztehaus Zürich-Oerlikon, Notfallstation und Tagesklinik"

static struct cfg_facility facility = { .id = (char *)"south", .name = (char *)LONG_NAME };

static char *compose(const char *from, const char *given, const char *family, const char *kind)
{
	struct config cfg = { .facilities = &facility, .n_facilities = 1 };
	cfg.accounts.smtp_conf.from = (char *)from;
	struct state_mail m = { .id = 1, .op_key = "k1", .kind = kind, .facility = "south",
				.person = "E1", .email = "zoe@example.org", .given_name = given,
				.family_name = family };
	char *msg = NULL;
	assert_int_equal(invite_mail_compose(&cfg, &m, 1800000000, &msg), 0);
	assert_non_null(msg);
	return msg;
}

/* The header block (up to the empty line), malloc'd. */
static char *headers_of(const char *msg)
{
	const char *end = strstr(msg, "\r\n\r\n");
	assert_non_null(end);
	return strndup(msg, (size_t)(end - msg) + 2);
}

/* The unfolded value of header name ("Subject"), malloc'd. */
static char *header(const char *msg, const char *name)
{
	_cleanup_free_ char *h = headers_of(msg);
	size_t n = strlen(name);
	for (char *line = h; *line; ) {
		char *eol = strstr(line, "\r\n");
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			char *v = malloc(strlen(line) + 1), *w = v;
			const char *p = line + n + 1;
			while (*p == ' ')
				p++;
			for (; *p; p++) {
				if (p[0] == '\r' && p[1] == '\n' && (p[2] == ' ' || p[2] == '\t')) {
					p += 1;   /* a fold: CRLF goes, the white space stays */
					continue;
				}
				if (p[0] == '\r' && p[1] == '\n')
					break;
				*w++ = *p;
			}
			*w = '\0';
			return v;
		}
		line = eol + 2;
	}
	return NULL;
}

static int b64(char c)
{
	const char *a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const char *p = strchr(a, c);
	return c && p ? (int)(p - a) : -1;
}

/* Valid UTF-8 on its own: no character cut at either end. */
static void assert_utf8_whole(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n; ) {
		size_t len = s[i] < 0x80 ? 1 : (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3
			   : (s[i] & 0xf8) == 0xf0 ? 4 : 0;
		assert_true(len > 0);
		assert_true(i + len <= n);
		for (size_t k = 1; k < len; k++)
			assert_int_equal(s[i + k] & 0xc0, 0x80);
		i += len;
	}
}

/* A decoder as a mail reader has it (RFC 2047 6.2: white space between
 * adjacent encoded-words is dropped), for "B" UTF-8 words. malloc'd. */
static char *decode(const char *v)
{
	char *out = calloc(1, strlen(v) + 1), *w = out;
	const char *p = v;
	bool after_word = false;
	while (*p) {
		if (strncmp(p, "=?UTF-8?B?", 10) == 0) {
			const char *end = strstr(p + 10, "?=");
			assert_non_null(end);
			unsigned char *start = (unsigned char *)w;
			unsigned acc = 0, bits = 0;
			for (const char *q = p + 10; q < end && *q != '='; q++) {
				int d = b64(*q);
				assert_true(d >= 0);
				acc = acc << 6 | (unsigned)d;
				bits += 6;
				if (bits >= 8) {
					bits -= 8;
					*w++ = (char)(acc >> bits & 0xff);
				}
			}
			assert_utf8_whole(start, (size_t)((unsigned char *)w - start));
			p = end + 2;
			after_word = true;
			continue;
		}
		if (after_word && (*p == ' ' || *p == '\t')) {
			const char *q = p;
			while (*q == ' ' || *q == '\t')
				q++;
			if (strncmp(q, "=?", 2) == 0) {
				p = q;
				continue;
			}
		}
		after_word = false;
		*w++ = *p++;
	}
	*w = '\0';
	return out;
}

static void assert_headers_7bit_76(const char *msg)
{
	_cleanup_free_ char *h = headers_of(msg);
	for (char *line = h; *line; ) {
		char *eol = strstr(line, "\r\n");
		assert_non_null(eol);
		assert_true(eol - line <= 76);
		for (char *p = line; p < eol; p++)
			assert_true((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
		line = eol + 2;
	}
}

static void test_names_outside_ascii(void **unused)
{
	(void)unused;
	_cleanup_free_ char *msg = compose("Personalabteilung Süd <accounts@example.org>",
					   "Zoë", "Ångström", "invite");
	assert_headers_7bit_76(msg);
	assert_non_null(strstr(msg, "\r\nTo: =?UTF-8?B?Wm/DqyDDhW5nc3Ryw7Zt?= <zoe@example.org>\r\n"));
	_cleanup_free_ char *to = header(msg, "To"), *to_text = decode(to);
	assert_string_equal(to_text, "Zoë Ångström <zoe@example.org>");
	_cleanup_free_ char *from = header(msg, "From"), *from_text = decode(from);
	assert_string_equal(from_text, "Personalabteilung Süd <accounts@example.org>");
	/* The long subject is folded into several words, each whole UTF-8. */
	_cleanup_free_ char *subject = header(msg, "Subject"), *subject_text = decode(subject);
	assert_string_equal(subject_text, "Your staff account at " LONG_NAME);
	assert_non_null(strstr(msg, "?=\r\n =?UTF-8?B?"));
	/* The body is UTF-8, declared so. */
	assert_non_null(strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n"));
	assert_non_null(strstr(msg, "Hello Zoë Ångström,\r\n"));
}

static void test_polish_name(void **unused)
{
	(void)unused;
	_cleanup_free_ char *msg = compose("accounts@example.org", "Łukasz", "Żółć", "resend");
	assert_headers_7bit_76(msg);
	assert_non_null(strstr(msg, "\r\nTo: =?UTF-8?B?xYF1a2FzeiDFu8OzxYLEhw==?= <zoe@example.org>\r\n"));
	assert_non_null(strstr(msg, "From: <accounts@example.org>\r\n"));
	_cleanup_free_ char *subject = header(msg, "Subject"), *text = decode(subject);
	assert_string_equal(text, "Reminder: your staff account at " LONG_NAME);
}

/* Long runs of 2-, 3- and 4-byte characters: every cut falls between two. */
static void test_no_character_split(void **unused)
{
	(void)unused;
	const char *names[] = { "ŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁŁ",
				"€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€€",
				"😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀😀" };
	for (size_t i = 0; i < ELEMENTSOF(names); i++) {
		_cleanup_free_ char *msg = compose("a@example.org", names[i], "x", "invite");
		assert_headers_7bit_76(msg);
		_cleanup_free_ char *to = header(msg, "To"), *text = decode(to), *want = NULL;
		assert_true(asprintf(&want, "%s x <zoe@example.org>", names[i]) > 0);
		assert_string_equal(text, want);
	}
}

static void test_ascii_quoted_and_plain(void **unused)
{
	(void)unused;
	_cleanup_free_ char *msg = compose("\"Staff accounts\" <accounts@example.org>",
					   "Ada", "O\"Brien \\ Lovelace", "invite");
	assert_non_null(strstr(msg, "\r\nTo: \"Ada O\\\"Brien \\\\ Lovelace\" <zoe@example.org>\r\n"));
	assert_true(strncmp(msg, "From: \"Staff accounts\" <accounts@example.org>\r\n", 47) == 0);
}

static void test_no_header_injection(void **unused)
{
	(void)unused;
	_cleanup_free_ char *msg = compose("a@example.org", "Eve\r\nBcc: spy@example.org", "X",
					   "invite");
	_cleanup_free_ char *h = headers_of(msg);
	assert_null(strstr(h, "\r\nBcc:"));
	assert_non_null(strstr(h, "To: \"EveBcc: spy@example.org X\" <zoe@example.org>\r\n"));
}

/* Text that a reader would take for an encoded-word is encoded itself. */
static void test_lookalike_word_encoded(void **unused)
{
	(void)unused;
	_cleanup_free_ char *msg = compose("a@example.org", "=?UTF-8?B?SGk=?=", "X", "invite");
	_cleanup_free_ char *to = header(msg, "To"), *text = decode(to);
	assert_string_equal(text, "=?UTF-8?B?SGk=?= X <zoe@example.org>");
}

static void test_retry_delays(void **unused)
{
	(void)unused;
	struct cfg_smtp s = { .retry_delay = 15 * 60 * USEC_PER_SEC, .max_attempts = 5 };
	assert_int_equal(invite_mail_retry_at(&s, 1, 1000), 1000 + 900);
	assert_int_equal(invite_mail_retry_at(&s, 2, 1000), 1000 + 1800);
	assert_int_equal(invite_mail_retry_at(&s, 3, 1000), 1000 + 3600);
	assert_int_equal(invite_mail_retry_at(&s, 12, 1000), 1000 + 86400);   /* at most a day */
	assert_int_equal(invite_mail_retry_at(&s, 1000, 1000), 1000 + 86400);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_outside_ascii),
		cmocka_unit_test(test_polish_name),
		cmocka_unit_test(test_no_character_split),
		cmocka_unit_test(test_ascii_quoted_and_plain),
		cmocka_unit_test(test_no_header_injection),
		cmocka_unit_test(test_lookalike_word_encoded),
		cmocka_unit_test(test_retry_delays),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
