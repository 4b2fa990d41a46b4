/* Small helpers every module uses: allocation that dies on OOM in one place,
 * cleanup attributes, a growable buffer, string vectors, checked parsers. */
#ifndef CTRX_UTIL_H
#define CTRX_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Last, after the system headers whose inline bodies use the banned names. */
#include "banned.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation failure is not something a CLI can recover from: print and exit. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* qsort's comparator for arrays of strings (char *): strcmp on the strings. */
int str_ptr_cmp(const void *a, const void *b);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

void freep(void *p);
void closep(int *fd);
void fclosep(FILE **f);
#define cleanup_free __attribute__((cleanup(freep)))
#define cleanup_close __attribute__((cleanup(closep)))
#define cleanup_file __attribute__((cleanup(fclosep)))

/* Hand ownership over: returns *pp and leaves NULL behind. */
static inline void *
steal_ptr(void *pp)
{
  void **p = (void **)pp;
  void *r = *p;
  *p = NULL;
  return r;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_ptr(pp))

static inline int
steal_fd(int *fd)
{
  int r = *fd;
  *fd = -1;
  return r;
}

/* A growable byte buffer, always NUL-terminated so text can be read in place. */
struct buf {
  char *data;
  size_t len;
  size_t cap;
};
#define BUF_INIT                                                                                   \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }
void buf_add(struct buf *b, const void *p, size_t n);
void buf_addstr(struct buf *b, const char *s);
/* Extend by n bytes and return where they start, for the caller to fill. */
void *buf_append_space(struct buf *b, size_t n);
void buf_addf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_consume(struct buf *b, size_t n); /* drop the first n bytes */
char *buf_steal(struct buf *b);            /* caller frees; b is reset */
void buf_release(struct buf *b);
#define cleanup_buf __attribute__((cleanup(buf_release)))

/* A NULL-terminated vector of owned strings. */
struct strv {
  char **v;
  size_t n;
  size_t cap;
};
#define STRV_INIT                                                                                  \
  {                                                                                                \
    NULL, 0, 0                                                                                     \
  }
void strv_push(struct strv *s, const char *str);
void strv_push_owned(struct strv *s, char *str);
void strv_release(struct strv *s);
bool strv_contains(const struct strv *s, const char *str);
#define cleanup_strv __attribute__((cleanup(strv_release)))

bool str_has_prefix(const char *s, const char *prefix);
bool str_has_suffix(const char *s, const char *suffix);
bool str_eq(const char *a, const char *b); /* NULL-safe */

/* Checked number parsers: the whole string must be a number in range.
 * Return 0 on success, -1 (errno EINVAL or ERANGE) otherwise. */
int parse_int64(const char *s, int base, int64_t *out);
int parse_uint64(const char *s, int base, uint64_t *out);
/* A duration exactly as Go's time.ParseDuration reads it ("10s", "1m30s",
 * "1.5h", "-2ms", "0"; no exponent, no hex), in nanoseconds. */
int parse_duration_ns(const char *s, int64_t *out_ns);
/* The same in milliseconds, rounded away from zero: "1ns" is 1 ms, never 0. */
int parse_duration_ms(const char *s, int64_t *out_ms);

/* Monotonic milliseconds, for deadlines. */
int64_t now_ms(void);

/* write() all of it, retrying on EINTR and short writes. */
int write_all(int fd, const void *p, size_t n);
/* Read a whole file, at most max bytes (-1 and errno EFBIG if larger); out
 * holds a NUL-terminated buffer, even when empty. read_fd reads an open fd
 * to its end the same way. */
int read_file(const char *path, size_t max, struct buf *out);
int read_fd(int fd, size_t max, struct buf *out);

struct error;
struct stat;
/* Create directory path and its missing parents (mode 0755). *created
 * (caller frees; created may be NULL) receives the topmost directory this
 * call created, NULL when it created none. A path that exists but is no
 * directory is an error (ENOTDIR). */
int mkdir_p(const char *path, char **created, struct error **err);
/* Remove path and its parents up to created (what mkdir_p created), as long
 * as they are empty. created NULL: nothing. */
void rmdir_created(const char *path, const char *created);
/* Replace file with len bytes of data: a hidden temporary file next to it
 * (".<name>.XXXXXX"), flushed to disk, renamed over file, and the rename
 * made durable. A new file gets mode; st, when not NULL, is the file being
 * replaced, whose mode, owner and group are kept instead. On failure the
 * temporary file is gone and file is as it was. */
int write_file_atomic(const char *file, const char *data, size_t len, mode_t mode,
                      const struct stat *st, struct error **err);

#endif
