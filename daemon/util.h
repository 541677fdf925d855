/* SPDX-License-Identifier: MIT */
/* Small helpers: cleanup attributes, string vectors, checked allocation. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define ELEMENTSOF(a) (sizeof(a) / sizeof((a)[0]))

static inline void freep(void *p) { free(*(void **)p); }
static inline void fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void closep(int *fd) { if (*fd >= 0) close(*fd); }
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Take ownership out of a _cleanup_ variable. */
#define TAKE_PTR(p) ({ __typeof__(p) _t = (p); (p) = NULL; _t; })

static inline bool streq(const char *a, const char *b) { return strcmp(a, b) == 0; }
static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return strcmp(a, b) == 0;
}
static inline bool isempty(const char *s) { return !s || !*s; }
static inline const char *strempty(const char *s) { return s ? s : ""; }

/* NULL-terminated string vectors (char **). */
size_t strv_length(char *const *v);
void strv_free(char **v);
static inline void strv_freep(char ***v) { strv_free(*v); }
#define _cleanup_strv_free_ _cleanup_(strv_freep)
bool strv_contains_case(const char *const *v, const char *s);   /* case-insensitive */
int strv_push(char ***v, const char *s);                        /* copies s */
char **strv_copy(const char *const *v);

/* Case-insensitive comparisons used for emails, facility hints, DNs. */
bool str_endswith_case(const char *s, const char *suffix);
char *str_lower(const char *s);    /* malloc'd lower-case ASCII copy */

/* 64-bit FNV-1a, for compact "seen" sets and plan fingerprints; not for security. */
uint64_t fnv1a64(const void *data, size_t n, uint64_t h);
#define FNV1A64_INIT 0xcbf29ce484222325ULL
static inline uint64_t fnv1a64_str(const char *s, uint64_t h)
{
	/* Include the terminating NUL so "ab","c" and "a","bc" differ. */
	return fnv1a64(s ? s : "", s ? strlen(s) + 1 : 1, h);
}

/* Allocation that aborts on failure is deliberately not provided: callers
 * return -ENOMEM. */
char *strdup_or_null(const char *s);   /* NULL stays NULL; returns NULL on ENOMEM too */
/* Make room in *v (n elements of size used, *cap allocated) for one more,
 * doubling; 0 or -ENOMEM (then *v is as it was). */
int array_grow(void **v, size_t *cap, size_t n, size_t size);

/* Write all of a file atomically (temp + rename). */
int write_file_atomic(const char *path, const char *data, size_t n);
/* Read a whole small file (secrets, tokens) into a NUL-terminated buffer,
 * trailing newline removed. */
int read_file_small(const char *path, size_t max, char **ret);
