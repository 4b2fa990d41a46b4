/* A TOML 1.0 parser producing a document tree. Tables keep their keys in the
 * order they first appear in the file (hosts.toml tries mirrors in that
 * order), and every value remembers the line and column where it starts, so
 * that callers can report a value of the wrong kind as FILE:LINE:COL. */
#ifndef CTRX_TOML_H
#define CTRX_TOML_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "util.h"

struct stat;

enum toml_type {
  TOML_TABLE,
  TOML_ARRAY,
  TOML_STRING,
  TOML_INTEGER,
  TOML_FLOAT,
  TOML_BOOL,
  TOML_DATETIME,       /* offset date-time, 1979-05-27T07:32:00Z */
  TOML_LOCAL_DATETIME, /* 1979-05-27T07:32:00 */
  TOML_LOCAL_DATE,     /* 1979-05-27 */
  TOML_LOCAL_TIME,     /* 07:32:00.5 */
};

struct toml_value;

struct toml_kv {
  char *key; /* NUL-terminated; a quoted key may also hold NULs, see key_len */
  size_t key_len;
  int line, col; /* where the key is written */
  struct toml_value *value;
};

/* Read-only for callers: build trees with toml_parse only. */
struct toml_value {
  enum toml_type type;
  int line, col;  /* 1-based; where the value (or the table's header) starts */
  unsigned flags; /* the parser's bookkeeping */
  union {
    /* TOML_STRING, and the four date/time kinds as written in the file */
    struct {
      char *ptr; /* NUL-terminated; may hold NULs from \u0000, see len */
      size_t len;
    } str;
    int64_t integer;
    double fp;
    bool boolean;
    struct {
      struct toml_value **items;
      size_t n, cap;
    } array;
    struct {
      struct toml_kv *items; /* in file order */
      size_t n, cap;
      size_t *index; /* the parser's hash index over items, NULL while small */
      size_t index_cap;
    } table;
  } u;
};

/* Parse a whole document. file names the input in error messages
 * ("FILE:LINE:COL: problem"); NULL means "<input>". On success *out is the
 * root table, owned by the caller (toml_free). */
int toml_parse(const char *text, size_t len, const char *file, struct toml_value **out,
               struct error **err);
/* Read a regular file of at most max bytes into out (st_out, if not NULL,
 * receives its stat). Anything else -- a FIFO, a device, a directory -- is
 * refused without blocking. The error's sys_errno tells why a file could not
 * be read (ENOENT for a missing one; EFBIG for one over max). */
int toml_read_file(const char *path, size_t max, struct buf *out, struct stat *st_out,
                   struct error **err);
/* Read and parse a file of at most max bytes. A file that cannot be read is an
 * error whose sys_errno tells why (ENOENT for a missing one). */
int toml_parse_file(const char *path, size_t max, struct toml_value **out, struct error **err);
void toml_free(struct toml_value *v); /* NULL is fine */
void toml_freep(struct toml_value **v);
#define cleanup_toml __attribute__((cleanup(toml_freep)))

/* "table", "array", "string", "integer", "float", "boolean", "datetime", ... */
const char *toml_type_name(enum toml_type t);

/* The value of key in table, or NULL when table is NULL, not a table, or has
 * no such key. */
const struct toml_value *toml_get(const struct toml_value *table, const char *key);
/* Follow a dotted key written as in TOML: `plugins."io.containerd.grpc.v1.cri".registry`.
 * NULL when any part is missing or not a table, or when path is not a valid key. */
const struct toml_value *toml_get_path(const struct toml_value *table, const char *path);

/* Number of items of an array or keys of a table; 0 for anything else. */
size_t toml_len(const struct toml_value *v);
/* Item i of an array, or the value of the i-th key of a table (file order). */
const struct toml_value *toml_at(const struct toml_value *v, size_t i);
/* The i-th key of a table, NULL when out of range or not a table. */
const char *toml_key_at(const struct toml_value *table, size_t i);
/* The text of a string, or NULL when v is not a string. */
const char *toml_str(const struct toml_value *v);

/* Set *err to "FILE:LINE:COL: <fmt>" with the position of at (or just
 * "FILE: <fmt>" when at is NULL). Returns -1. */
int toml_error_at(struct error **err, const char *file, const struct toml_value *at,
                  const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* As toml_error_at, from a va_list; with file NULL as well as at, just <fmt>. */
int toml_verror_at(struct error **err, const char *file, const struct toml_value *at,
                   const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));

#endif
