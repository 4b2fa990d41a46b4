#include "toml.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How a table came to exist; TOML forbids defining one twice, and which second
 * definitions count as "twice" depends on how the first happened. */
enum {
  TF_IMPLICIT = 1 << 0, /* only named as a parent in a [a.b] header */
  TF_HEADER = 1 << 1,   /* defined by its own [header] */
  TF_DOTTED = 1 << 2,   /* created by a dotted key (a.b = 1) */
  TF_INLINE = 1 << 3,   /* an inline table, or a table inside one: sealed */
  TF_AOT = 1 << 4,      /* an array made by [[header]]; may grow */
};

/* Nesting limits keep recursion bounded on hostile input. */
#define TOML_MAX_DEPTH 64
#define TOML_MAX_KEY_PARTS 64

struct key_part {
  char *s;
  size_t len;
  int line, col;
};

struct key_path {
  struct key_part parts[TOML_MAX_KEY_PARTS];
  size_t n;
};

struct parser {
  const char *file;
  const char *p;
  const char *end;
  int line;
  const char *line_start;
  /* column cache: counting code points from line_start is linear, and long
   * single-line arrays would make it quadratic */
  const char *col_pos;
  int col_val;
  struct toml_value *root;
  struct toml_value *cur; /* table that key/value lines go into */
  int depth;
  struct error **err;
};

static int
column_of(struct parser *ps, const char *pos)
{
  const char *from = ps->line_start;
  int col = 1;

  if (ps->col_pos != NULL && ps->col_pos >= ps->line_start && ps->col_pos <= pos) {
    from = ps->col_pos;
    col = ps->col_val;
  }
  for (const char *q = from; q < pos; q++)
    if (((unsigned char)*q & 0xC0) != 0x80)
      col++;
  ps->col_pos = pos;
  ps->col_val = col;
  return col;
}

static int __attribute__((format(printf, 3, 4)))
fail_at(struct parser *ps, const char *pos, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start(ap, fmt);
  msg = xvasprintf(fmt, ap);
  va_end(ap);
  return error_setc(ps->err, ERR_INVALID, "%s:%d:%d: %s", ps->file, ps->line, column_of(ps, pos),
                    msg);
}

static int __attribute__((format(printf, 4, 5)))
fail_pos(struct parser *ps, int line, int col, const char *fmt, ...)
{
  va_list ap;
  cleanup_free char *msg = NULL;

  va_start(ap, fmt);
  msg = xvasprintf(fmt, ap);
  va_end(ap);
  return error_setc(ps->err, ERR_INVALID, "%s:%d:%d: %s", ps->file, line, col, msg);
}

#ifdef __clang_analyzer__
/* As in error.h: the analyzer does not follow variadic calls, so tell it. */
#define fail_at(...) (fail_at(__VA_ARGS__), -1)
#define fail_pos(...) (fail_pos(__VA_ARGS__), -1)
#endif

/* Describe the character at p for an error message. */
static char *
describe_char(const char *p, const char *end)
{
  unsigned char c;

  if (p >= end)
    return xstrdup("end of file");
  c = (unsigned char)*p;
  if (c == '\n' || (c == '\r' && p + 1 < end && p[1] == '\n'))
    return xstrdup("end of line");
  if (c < 0x20 || c == 0x7F)
    return xasprintf("control character U+%04X", c);
  if (c >= 0x80) {
    size_t n = 1;
    while (p + n < end && n < 4 && ((unsigned char)p[n] & 0xC0) == 0x80)
      n++;
    return xasprintf("'%.*s'", (int)n, p);
  }
  return xasprintf("'%c'", c);
}

static int
fail_unexpected(struct parser *ps, const char *what)
{
  cleanup_free char *d = describe_char(ps->p, ps->end);
  return fail_at(ps, ps->p, "expected %s, found %s", what, d);
}

/* ---- values ---- */

static struct toml_value *
value_new(enum toml_type t, int line, int col)
{
  struct toml_value *v = xcalloc(1, sizeof(*v));
  v->type = t;
  v->line = line;
  v->col = col;
  return v;
}

void
toml_free(struct toml_value *v)
{
  if (v == NULL)
    return;
  switch (v->type) {
  case TOML_TABLE:
    for (size_t i = 0; i < v->u.table.n; i++) {
      free(v->u.table.items[i].key);
      toml_free(v->u.table.items[i].value);
    }
    free(v->u.table.items);
    free(v->u.table.index);
    break;
  case TOML_ARRAY:
    for (size_t i = 0; i < v->u.array.n; i++)
      toml_free(v->u.array.items[i]);
    free(v->u.array.items);
    break;
  case TOML_STRING:
  case TOML_DATETIME:
  case TOML_LOCAL_DATETIME:
  case TOML_LOCAL_DATE:
  case TOML_LOCAL_TIME:
    free(v->u.str.ptr);
    break;
  default:
    break;
  }
  free(v);
}

void
toml_freep(struct toml_value **v)
{
  toml_free(*v);
  *v = NULL;
}

static void
array_push(struct toml_value *a, struct toml_value *item)
{
  if (a->u.array.n == a->u.array.cap) {
    a->u.array.cap = a->u.array.cap ? a->u.array.cap * 2 : 4;
    a->u.array.items = xrealloc(a->u.array.items, a->u.array.cap * sizeof(*a->u.array.items));
  }
  a->u.array.items[a->u.array.n++] = item;
}

/* Tables past this many keys get a hash index, so that a file with many keys
 * is not quadratic to parse. */
#define TOML_INDEX_MIN 16

static size_t
key_hash(const char *key, size_t len)
{
  uint64_t h = 1469598103934665603ull; /* FNV-1a */
  for (size_t i = 0; i < len; i++) {
    h ^= (unsigned char)key[i];
    h *= 1099511628211ull;
  }
  return (size_t)h;
}

static struct toml_kv *
table_find(const struct toml_value *t, const char *key, size_t len)
{
  if (t->u.table.index != NULL) {
    size_t mask = t->u.table.index_cap - 1;
    for (size_t i = key_hash(key, len) & mask;; i = (i + 1) & mask) {
      size_t slot = t->u.table.index[i];
      struct toml_kv *kv;
      if (slot == 0)
        return NULL;
      kv = &t->u.table.items[slot - 1];
      if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
        return kv;
    }
  }
  for (size_t i = 0; i < t->u.table.n; i++) {
    struct toml_kv *kv = &t->u.table.items[i];
    if (kv->key_len == len && memcmp(kv->key, key, len) == 0)
      return kv;
  }
  return NULL;
}

static void
index_put(struct toml_value *t, size_t item)
{
  const struct toml_kv *kv = &t->u.table.items[item];
  size_t mask = t->u.table.index_cap - 1;
  size_t i = key_hash(kv->key, kv->key_len) & mask;

  while (t->u.table.index[i] != 0)
    i = (i + 1) & mask;
  t->u.table.index[i] = item + 1;
}

/* Called after items[n - 1] was added; keeps the load factor under 1/2. */
static void
index_update(struct toml_value *t)
{
  size_t n = t->u.table.n;

  if (n < TOML_INDEX_MIN)
    return;
  if (t->u.table.index == NULL || n * 2 > t->u.table.index_cap) {
    size_t cap = 64;
    while (cap < n * 4)
      cap *= 2;
    free(t->u.table.index);
    t->u.table.index = xcalloc(cap, sizeof(size_t));
    t->u.table.index_cap = cap;
    for (size_t i = 0; i < n; i++)
      index_put(t, i);
    return;
  }
  index_put(t, n - 1);
}

/* Takes ownership of value; copies the key. */
static void
table_add(struct toml_value *t, const struct key_part *k, struct toml_value *value)
{
  struct toml_kv *kv;

  if (t->u.table.n == t->u.table.cap) {
    t->u.table.cap = t->u.table.cap ? t->u.table.cap * 2 : 4;
    t->u.table.items = xrealloc(t->u.table.items, t->u.table.cap * sizeof(*t->u.table.items));
  }
  kv = &t->u.table.items[t->u.table.n++];
  kv->key = xmalloc(k->len + 1);
  memcpy(kv->key, k->s, k->len);
  kv->key[k->len] = '\0';
  kv->key_len = k->len;
  kv->line = k->line;
  kv->col = k->col;
  kv->value = value;
  index_update(t);
}

/* ---- lexing helpers ---- */

static bool
at_end(const struct parser *ps)
{
  return ps->p >= ps->end;
}

static int
peek(const struct parser *ps, size_t off)
{
  return ps->p + off < ps->end ? (unsigned char)ps->p[off] : -1;
}

static void
skip_ws(struct parser *ps)
{
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
    ps->p++;
}

static bool
at_newline(const struct parser *ps)
{
  return peek(ps, 0) == '\n' || (peek(ps, 0) == '\r' && peek(ps, 1) == '\n');
}

/* Consume one newline (LF or CRLF) at ps->p. */
static void
eat_newline(struct parser *ps)
{
  if (*ps->p == '\r')
    ps->p++;
  ps->p++;
  ps->line++;
  ps->line_start = ps->p;
}

static int
skip_comment(struct parser *ps)
{
  if (peek(ps, 0) != '#')
    return 0;
  ps->p++;
  while (ps->p < ps->end && !at_newline(ps)) {
    unsigned char c = (unsigned char)*ps->p;
    if ((c < 0x20 && c != '\t') || c == 0x7F)
      return fail_unexpected(ps, "comment text");
    ps->p++;
  }
  return 0;
}

/* Whitespace, comments and newlines, as allowed between array items. */
static int
skip_ws_nl_comments(struct parser *ps)
{
  for (;;) {
    skip_ws(ps);
    if (peek(ps, 0) == '#') {
      if (skip_comment(ps) < 0)
        return -1;
      continue;
    }
    if (at_newline(ps)) {
      eat_newline(ps);
      continue;
    }
    return 0;
  }
}

/* After a key/value or header: whitespace, a comment, then a newline or EOF. */
static int
expect_line_end(struct parser *ps)
{
  skip_ws(ps);
  if (skip_comment(ps) < 0)
    return -1;
  if (at_end(ps))
    return 0;
  if (at_newline(ps)) {
    eat_newline(ps);
    return 0;
  }
  return fail_unexpected(ps, "end of line");
}

/* Whole-input check: TOML documents are UTF-8, and a CR only ends a line
 * together with LF. Reports the first offending byte. */
static int
check_encoding(struct parser *ps)
{
  const unsigned char *s = (const unsigned char *)ps->p;
  const unsigned char *e = (const unsigned char *)ps->end;

  while (s < e) {
    unsigned c = *s;
    size_t n;
    uint32_t cp;

    if (c == '\n') {
      ps->line++;
      ps->line_start = (const char *)s + 1;
      s++;
      continue;
    }
    if (c == '\r' && (s + 1 >= e || s[1] != '\n'))
      return fail_at(ps, (const char *)s, "carriage return not followed by a line feed");
    if (c < 0x80) {
      s++;
      continue;
    }
    if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return fail_at(ps, (const char *)s, "invalid UTF-8");
    }
    if ((size_t)(e - s) <= n)
      return fail_at(ps, (const char *)s, "invalid UTF-8");
    for (size_t i = 1; i <= n; i++) {
      if ((s[i] & 0xC0) != 0x80)
        return fail_at(ps, (const char *)s, "invalid UTF-8");
      cp = (cp << 6) | (s[i] & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF))
      return fail_at(ps, (const char *)s, "invalid UTF-8");
    s += n + 1;
  }
  return 0;
}

static void
utf8_put(struct buf *b, uint32_t cp)
{
  char out[4];
  size_t n;

  if (cp < 0x80) {
    out[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    out[0] = (char)(0xE0 | (cp >> 12));
    out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  buf_add(b, out, n);
}

static bool
is_digit(int c)
{
  return c >= '0' && c <= '9';
}

static bool
is_bare_key_char(int c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '_' || c == '-';
}

static int
hex_val(int c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* ---- strings ---- */

static bool
is_forbidden_control(unsigned char c)
{
  return (c < 0x20 && c != '\t') || c == 0x7F;
}

static int
parse_escape(struct parser *ps, struct buf *out)
{
  const char *start = ps->p; /* at the backslash */
  int c = peek(ps, 1);
  int digits = 0;
  uint32_t cp = 0;
  /* the one-character escapes, as pairs: the letter, what it stands for */
  static const char simple[] = "b\bt\tn\nf\fr\r\"\"\\\\";

  for (size_t i = 0; c > 0 && i + 1 < sizeof(simple); i += 2) {
    if (simple[i] == c) {
      buf_add(out, &simple[i + 1], 1);
      ps->p += 2;
      return 0;
    }
  }
  switch (c) {
  case 'u':
    digits = 4;
    break;
  case 'U':
    digits = 8;
    break;
  default: {
    cleanup_free char *d = describe_char(ps->p + 1, ps->end);
    return fail_at(ps, start, "invalid escape sequence \\ followed by %s", d);
  }
  }
  ps->p += 2;
  if (digits == 0)
    return 0;
  for (int i = 0; i < digits; i++) {
    int h = hex_val(peek(ps, 0));
    if (h < 0)
      return fail_at(ps, start, "\\%c needs %d hexadecimal digits", c, digits);
    cp = (cp << 4) | (uint32_t)h;
    ps->p++;
  }
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return fail_at(ps, start, "escape \\%c%.*s is not a Unicode scalar value", c, digits,
                   start + 2);
  utf8_put(out, cp);
  return 0;
}

/* One character of string text at ps->p: an escape in a basic string (q is
 * '"'), else the character itself unless TOML forbids it there. */
static int
string_char(struct parser *ps, char q, struct buf *out)
{
  unsigned char c = (unsigned char)*ps->p;

  if (c == '\\' && q == '"')
    return parse_escape(ps, out);
  if (is_forbidden_control(c))
    return fail_unexpected(ps, "string text");
  buf_add(out, ps->p, 1);
  ps->p++;
  return 0;
}

/* ps->p at the opening quote q: '"' for a basic string (with escapes), '\''
 * for a literal one. */
static int
parse_line_string(struct parser *ps, char q, struct buf *out)
{
  const char *open = ps->p;

  ps->p++;
  for (;;) {
    unsigned char c;
    if (at_end(ps) || at_newline(ps))
      return fail_at(ps, open, "unterminated string");
    c = (unsigned char)*ps->p;
    if (c == (unsigned char)q) {
      ps->p++;
      return 0;
    }
    if (string_char(ps, q, out) < 0)
      return -1;
  }
}

/* ps->p at the first of three quotes (q is '"' or '\''). */
static int
parse_multiline_string(struct parser *ps, char q, struct buf *out)
{
  const char *open = ps->p;
  int open_line = ps->line;
  int open_col = column_of(ps, open);

  ps->p += 3;
  /* a newline right after the opening delimiter is trimmed */
  if (at_newline(ps))
    eat_newline(ps);
  for (;;) {
    unsigned char c;

    if (at_end(ps))
      return fail_pos(ps, open_line, open_col, "unterminated multi-line string");
    c = (unsigned char)*ps->p;
    if (c == (unsigned char)q && peek(ps, 1) == q && peek(ps, 2) == q) {
      size_t run = 3;
      while (peek(ps, run) == q)
        run++;
      if (run > 5)
        return fail_at(ps, ps->p + 5, "too many quotes at the end of a multi-line string");
      buf_add(out, ps->p, run - 3);
      ps->p += run;
      return 0;
    }
    if (at_newline(ps)) {
      buf_add(out, "\n", 1);
      eat_newline(ps);
      continue;
    }
    if (c == '\\' && q == '"') {
      /* a backslash ending a line swallows the newline and the whitespace after it */
      const char *s = ps->p + 1;
      while (s < ps->end && (*s == ' ' || *s == '\t'))
        s++;
      if (s < ps->end && (*s == '\n' || (*s == '\r' && s + 1 < ps->end && s[1] == '\n'))) {
        ps->p = s;
        for (;;) {
          skip_ws(ps);
          if (!at_newline(ps))
            break;
          eat_newline(ps);
        }
        continue;
      }
    }
    if (string_char(ps, q, out) < 0)
      return -1;
  }
}

/* ---- keys ---- */

static void
key_path_release(struct key_path *kp)
{
  for (size_t i = 0; i < kp->n; i++)
    free(kp->parts[i].s);
  kp->n = 0;
}

static int
parse_simple_key(struct parser *ps, struct key_part *out)
{
  struct buf b = BUF_INIT;
  int c = peek(ps, 0);

  out->line = ps->line;
  out->col = column_of(ps, ps->p);
  if (c == '"' || c == '\'') {
    if (peek(ps, 1) == c && peek(ps, 2) == c)
      return fail_at(ps, ps->p, "a multi-line string cannot be a key");
    if (parse_line_string(ps, (char)c, &b) < 0) {
      buf_release(&b);
      return -1;
    }
  } else if (c >= 0 && is_bare_key_char(c)) {
    const char *s = ps->p;
    while (ps->p < ps->end && is_bare_key_char((unsigned char)*ps->p))
      ps->p++;
    buf_add(&b, s, (size_t)(ps->p - s));
  } else {
    return fail_unexpected(ps, "a key");
  }
  out->len = b.len;
  buf_add(&b, "", 0); /* a quoted "" key still gets storage */
  out->s = buf_steal(&b);
  return 0;
}

/* key = simple-key *( ws "." ws simple-key ). On failure kp holds nothing. */
static int
parse_key(struct parser *ps, struct key_path *kp)
{
  kp->n = 0;
  for (;;) {
    if (kp->n == TOML_MAX_KEY_PARTS) {
      key_path_release(kp);
      return fail_at(ps, ps->p, "key has more than %d parts", TOML_MAX_KEY_PARTS);
    }
    if (parse_simple_key(ps, &kp->parts[kp->n]) < 0) {
      key_path_release(kp);
      return -1;
    }
    kp->n++;
    skip_ws(ps);
    if (peek(ps, 0) != '.')
      return 0;
    ps->p++;
    skip_ws(ps);
  }
}

/* Key path as written, for messages: a.b."c d" */
static char *
key_display(const struct key_part *parts, size_t n)
{
  struct buf b = BUF_INIT;

  for (size_t i = 0; i < n; i++) {
    bool bare = parts[i].len > 0;
    if (i > 0)
      buf_add(&b, ".", 1);
    for (size_t j = 0; j < parts[i].len; j++)
      if (!is_bare_key_char((unsigned char)parts[i].s[j]))
        bare = false;
    if (bare) {
      buf_add(&b, parts[i].s, parts[i].len);
      continue;
    }
    buf_add(&b, "\"", 1);
    for (size_t j = 0; j < parts[i].len; j++) {
      unsigned char c = (unsigned char)parts[i].s[j];
      if (c == '"' || c == '\\')
        buf_addf(&b, "\\%c", c);
      else if (c < 0x20 || c == 0x7F)
        buf_addf(&b, "\\u%04X", c);
      else
        buf_add(&b, &parts[i].s[j], 1);
    }
    buf_add(&b, "\"", 1);
  }
  buf_add(&b, "", 0);
  return buf_steal(&b);
}

/* ---- numbers and date/times ---- */

static locale_t
c_locale(void)
{
  /* strtod follows LC_NUMERIC, and TOML's decimal point is always '.' */
  static locale_t loc = (locale_t)0;
  if (loc == (locale_t)0)
    loc = newlocale(LC_ALL_MASK, "C", (locale_t)0);
  return loc;
}

/* Digits of the given base with single underscores between them; appends the
 * digits without underscores to out. Returns the count, or -1 when the
 * underscores are misplaced or a character is not a digit. */
static int
take_digits(const char *s, size_t n, int base, struct buf *out)
{
  int count = 0;
  bool prev_digit = false;

  for (size_t i = 0; i < n; i++) {
    int c = (unsigned char)s[i];
    int v = hex_val(c);
    if (c == '_') {
      if (!prev_digit || i + 1 == n)
        return -1;
      prev_digit = false;
      continue;
    }
    if (v < 0 || v >= base)
      return -1;
    buf_add(out, &s[i], 1);
    prev_digit = true;
    count++;
  }
  return count;
}

/* A hexadecimal, octal or binary integer: s (len bytes) after any sign. */
static int
number_based(struct parser *ps, const char *tok, size_t n, const char *s, size_t len, bool has_sign,
             struct toml_value *v)
{
  cleanup_buf struct buf clean = BUF_INIT;
  int base = s[1] == 'x' ? 16 : s[1] == 'o' ? 8 : 2;
  uint64_t u;

  if (has_sign)
    return fail_at(ps, tok, "a sign is not allowed on a %s integer",
                   base == 16  ? "hexadecimal"
                   : base == 8 ? "octal"
                               : "binary");
  if (take_digits(s + 2, len - 2, base, &clean) <= 0)
    return fail_at(ps, tok, "invalid integer '%.*s'", (int)n, tok);
  if (parse_uint64(clean.data, base, &u) < 0 || u > (uint64_t)INT64_MAX)
    return fail_at(ps, tok, "integer '%.*s' out of range", (int)n, tok);
  v->type = TOML_INTEGER;
  v->u.integer = (int64_t)u;
  return 0;
}

/* Digits (with '_' between them) from s[*i], appended to clean; true when
 * there were some and they were well placed. */
static bool
decimal_digits(const char *s, size_t len, size_t *i, struct buf *clean)
{
  size_t start = *i;

  while (*i < len && (is_digit(s[*i]) || s[*i] == '_'))
    (*i)++;
  return take_digits(s + start, *i - start, 10, clean) > 0;
}

/* int-part [frac] [exp] of s into clean (without '_'); *is_float when there
 * is a fraction or an exponent. */
static int
decimal_text(struct parser *ps, const char *tok, size_t n, const char *s, size_t len,
             struct buf *clean, bool *is_float)
{
  size_t i = 0, start = clean->len;

  if (!decimal_digits(s, len, &i, clean))
    return fail_at(ps, tok, "invalid number '%.*s'", (int)n, tok);
  if (clean->len - start > 1 && s[0] == '0')
    return fail_at(ps, tok, "leading zeros are not allowed in '%.*s'", (int)n, tok);
  if (i < len && s[i] == '.') {
    *is_float = true;
    buf_add(clean, ".", 1);
    i++;
    if (!decimal_digits(s, len, &i, clean))
      return fail_at(ps, tok, "invalid number '%.*s'", (int)n, tok);
  }
  if (i < len && (s[i] == 'e' || s[i] == 'E')) {
    *is_float = true;
    buf_add(clean, "e", 1);
    i++;
    if (i < len && (s[i] == '+' || s[i] == '-'))
      buf_add(clean, &s[i++], 1);
    if (!decimal_digits(s, len, &i, clean))
      return fail_at(ps, tok, "invalid number '%.*s'", (int)n, tok);
  }
  if (i != len)
    return fail_at(ps, tok, "invalid number '%.*s'", (int)n, tok);
  return 0;
}

static int
number_decimal(struct parser *ps, const char *tok, size_t n, const char *s, size_t len, int sign,
               struct toml_value *v)
{
  cleanup_buf struct buf clean = BUF_INIT;
  bool is_float = false;

  if (sign)
    buf_add(&clean, sign < 0 ? "-" : "+", 1);
  if (decimal_text(ps, tok, n, s, len, &clean, &is_float) < 0)
    return -1;
  if (is_float) {
    char *endp = NULL;
    double d;
    locale_t loc = c_locale();
    errno = 0;
    d = loc != (locale_t)0 ? strtod_l(clean.data, &endp, loc) : strtod(clean.data, &endp);
    if (endp == NULL || *endp != '\0')
      return fail_at(ps, tok, "invalid number '%.*s'", (int)n, tok);
    if (errno == ERANGE && isinf(d))
      return fail_at(ps, tok, "float '%.*s' out of range", (int)n, tok);
    v->type = TOML_FLOAT;
    v->u.fp = d;
  } else {
    int64_t iv;
    if (parse_int64(clean.data, 10, &iv) < 0)
      return fail_at(ps, tok, "integer '%.*s' out of range", (int)n, tok);
    v->type = TOML_INTEGER;
    v->u.integer = iv;
  }
  return 0;
}

static int
parse_number_token(struct parser *ps, const char *tok, size_t n, struct toml_value *v)
{
  const char *s = tok;
  size_t len = n;
  int sign = 0;

  if (len > 0 && (s[0] == '+' || s[0] == '-')) {
    sign = s[0] == '-' ? -1 : 1;
    s++;
    len--;
  }
  if ((len == 3 && memcmp(s, "inf", 3) == 0) || (len == 3 && memcmp(s, "nan", 3) == 0)) {
    v->type = TOML_FLOAT;
    if (s[0] == 'i')
      v->u.fp = sign < 0 ? -INFINITY : INFINITY;
    else
      v->u.fp = sign < 0 ? -NAN : NAN;
    return 0;
  }
  if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o' || s[1] == 'b'))
    return number_based(ps, tok, n, s, len, sign != 0, v);
  return number_decimal(ps, tok, n, s, len, sign, v);
}

static bool
digits_at(const char *s, const char *end, size_t n)
{
  if ((size_t)(end - s) < n)
    return false;
  for (size_t i = 0; i < n; i++)
    if (!is_digit((unsigned char)s[i]))
      return false;
  return true;
}

static int
two(const char *s)
{
  return (s[0] - '0') * 10 + (s[1] - '0');
}

/* HH:MM:SS[.frac] at s; returns its length, or 0 when malformed. */
static size_t
scan_time(const char *s, const char *end)
{
  size_t n;
  if (!digits_at(s, end, 2) || end - s < 8 || s[2] != ':' || !digits_at(s + 3, end, 2) ||
      s[5] != ':' || !digits_at(s + 6, end, 2))
    return 0;
  if (two(s) > 23 || two(s + 3) > 59 || two(s + 6) > 60)
    return 0;
  n = 8;
  if (s + n < end && s[n] == '.') {
    size_t f = n + 1;
    while (s + f < end && is_digit((unsigned char)s[f]))
      f++;
    if (f == n + 1)
      return 0;
    n = f;
  }
  return n;
}

static bool
valid_date(const char *s)
{
  static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int year = two(s) * 100 + two(s + 2);
  int month = two(s + 5);
  int day = two(s + 8);
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

  if (month < 1 || month > 12 || day < 1 || day > mdays[month - 1])
    return false;
  if (month == 2 && day == 29 && !leap)
    return false;
  return true;
}

static bool
is_value_end(int c)
{
  return c == -1 || c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '#' || c == ',' ||
         c == ']' || c == '}';
}

/* ps->p at a date (YYYY-) or a time (HH:). */
static int
parse_datetime(struct parser *ps, struct toml_value *v)
{
  const char *s = ps->p;
  const char *end = ps->end;
  size_t n = 0;
  enum toml_type t;

  if (digits_at(s, end, 4) && end - s > 4 && s[4] == '-') {
    if (end - s < 10 || !digits_at(s + 5, end, 2) || s[7] != '-' || !digits_at(s + 8, end, 2) ||
        !valid_date(s))
      return fail_at(ps, s, "invalid date");
    n = 10;
    t = TOML_LOCAL_DATE;
    /* the date and time may be separated by T, t or a single space */
    if (s + n < end &&
        (s[n] == 'T' || s[n] == 't' ||
         (s[n] == ' ' && digits_at(s + n + 1, end, 2) && s + n + 3 < end && s[n + 3] == ':'))) {
      size_t tn = scan_time(s + n + 1, end);
      if (tn == 0)
        return fail_at(ps, s, "invalid date-time");
      n += 1 + tn;
      t = TOML_LOCAL_DATETIME;
      if (s + n < end && (s[n] == 'Z' || s[n] == 'z')) {
        n++;
        t = TOML_DATETIME;
      } else if (s + n < end && (s[n] == '+' || s[n] == '-')) {
        const char *o = s + n + 1;
        if (!digits_at(o, end, 2) || end - o < 5 || o[2] != ':' || !digits_at(o + 3, end, 2) ||
            two(o) > 23 || two(o + 3) > 59)
          return fail_at(ps, s, "invalid date-time offset");
        n += 6;
        t = TOML_DATETIME;
      }
    }
  } else {
    n = scan_time(s, end);
    if (n == 0)
      return fail_at(ps, s, "invalid time");
    t = TOML_LOCAL_TIME;
  }
  if (!is_value_end(s + n < end ? (unsigned char)s[n] : -1)) {
    ps->p = s + n;
    return fail_unexpected(ps, "end of date-time");
  }
  v->type = t;
  v->u.str.ptr = xstrndup(s, n);
  v->u.str.len = n;
  ps->p = s + n;
  return 0;
}

/* ---- values ---- */

static int parse_value(struct parser *ps, struct toml_value **out);
static int parse_keyval(struct parser *ps, struct toml_value *tab);
static int insert_keyval(struct parser *ps, struct toml_value *table, struct key_path *kp,
                         struct toml_value *value, unsigned dotted_flags);

static int
parse_array(struct parser *ps, struct toml_value *arr)
{
  ps->p++; /* [ */
  for (;;) {
    struct toml_value *item = NULL;
    if (skip_ws_nl_comments(ps) < 0)
      return -1;
    if (peek(ps, 0) == ']') {
      ps->p++;
      return 0;
    }
    if (parse_value(ps, &item) < 0)
      return -1;
    array_push(arr, item);
    if (skip_ws_nl_comments(ps) < 0)
      return -1;
    if (peek(ps, 0) == ',') {
      ps->p++;
      continue;
    }
    if (peek(ps, 0) == ']') {
      ps->p++;
      return 0;
    }
    return fail_unexpected(ps, "',' or ']' in array");
  }
}

static void
seal(struct toml_value *v)
{
  if (v->type == TOML_TABLE) {
    v->flags |= TF_INLINE;
    for (size_t i = 0; i < v->u.table.n; i++)
      seal(v->u.table.items[i].value);
  }
}

/* TOML 1.0 inline tables: one line, no trailing comma. */
static int
parse_inline_table(struct parser *ps, struct toml_value *tab)
{
  ps->p++; /* { */
  skip_ws(ps);
  if (peek(ps, 0) == '}') {
    ps->p++;
    seal(tab);
    return 0;
  }
  for (;;) {
    skip_ws(ps);
    if (parse_keyval(ps, tab) < 0)
      return -1;
    skip_ws(ps);
    if (peek(ps, 0) == ',') {
      ps->p++;
      skip_ws(ps);
      if (peek(ps, 0) == '}')
        return fail_at(ps, ps->p, "trailing comma in an inline table");
      continue;
    }
    if (peek(ps, 0) == '}') {
      ps->p++;
      seal(tab);
      return 0;
    }
    return fail_unexpected(ps, "',' or '}' in inline table");
  }
}

static bool
starts_with(const struct parser *ps, const char *lit)
{
  size_t n = strlen(lit);
  return (size_t)(ps->end - ps->p) >= n && memcmp(ps->p, lit, n) == 0;
}

static int
parse_value(struct parser *ps, struct toml_value **out)
{
  int line = ps->line;
  int col = column_of(ps, ps->p);
  struct toml_value *v = value_new(TOML_STRING, line, col);
  int c = peek(ps, 0);
  int r = 0;

  if (c == '"' || c == '\'') {
    struct buf b = BUF_INIT;
    if (peek(ps, 1) == c && peek(ps, 2) == c)
      r = parse_multiline_string(ps, (char)c, &b);
    else
      r = parse_line_string(ps, (char)c, &b);
    v->u.str.len = b.len;
    buf_add(&b, "", 0);
    v->u.str.ptr = buf_steal(&b);
  } else if (c == '[' || c == '{') {
    if (ps->depth >= TOML_MAX_DEPTH) {
      r = fail_at(ps, ps->p, "values nested more than %d deep", TOML_MAX_DEPTH);
    } else {
      ps->depth++;
      if (c == '[') {
        v->type = TOML_ARRAY;
        r = parse_array(ps, v);
      } else {
        v->type = TOML_TABLE;
        r = parse_inline_table(ps, v);
      }
      ps->depth--;
    }
  } else if (starts_with(ps, "true") && is_value_end(peek(ps, 4))) {
    v->type = TOML_BOOL;
    v->u.boolean = true;
    ps->p += 4;
  } else if (starts_with(ps, "false") && is_value_end(peek(ps, 5))) {
    v->type = TOML_BOOL;
    v->u.boolean = false;
    ps->p += 5;
  } else if ((digits_at(ps->p, ps->end, 4) && peek(ps, 4) == '-') ||
             (digits_at(ps->p, ps->end, 2) && peek(ps, 2) == ':')) {
    v->type = TOML_LOCAL_DATE; /* so that toml_free knows about str */
    r = parse_datetime(ps, v);
  } else if (c == '+' || c == '-' || is_digit(c) || c == 'i' || c == 'n') {
    const char *tok = ps->p;
    while (ps->p < ps->end &&
           (is_bare_key_char((unsigned char)*ps->p) || *ps->p == '+' || *ps->p == '.'))
      ps->p++;
    v->type = TOML_INTEGER;
    r = parse_number_token(ps, tok, (size_t)(ps->p - tok), v);
  } else {
    r = fail_unexpected(ps, "a value");
  }
  if (r < 0) {
    toml_free(v);
    return -1;
  }
  *out = v;
  return 0;
}

/* ---- structure ---- */

static const char *
defined_as(const struct toml_value *v)
{
  if (v->type == TOML_TABLE)
    return v->flags & TF_INLINE ? "an inline table" : "a table";
  if (v->type == TOML_ARRAY)
    return v->flags & TF_AOT ? "an array of tables" : "an array";
  return "a value";
}

/* Insert value under the key path kp, relative to table. Parent tables named
 * by the dotted key are created (with dotted_flags) or must have been created
 * by dotted keys themselves. Takes ownership of value in every case. */
static int
insert_keyval(struct parser *ps, struct toml_value *table, struct key_path *kp,
              struct toml_value *value, unsigned dotted_flags)
{
  struct toml_value *t = table;
  struct toml_kv *kv;

  for (size_t i = 0; i + 1 < kp->n; i++) {
    struct key_part *k = &kp->parts[i];
    kv = table_find(t, k->s, k->len);
    if (kv == NULL) {
      struct toml_value *nt = value_new(TOML_TABLE, k->line, k->col);
      nt->flags = dotted_flags;
      table_add(t, k, nt);
      t = nt;
      continue;
    }
    if (kv->value->type != TOML_TABLE || !(kv->value->flags & TF_DOTTED) ||
        (kv->value->flags & TF_INLINE)) {
      cleanup_free char *name = key_display(kp->parts, i + 1);
      toml_free(value);
      return fail_pos(ps, k->line, k->col, "cannot add keys to %s: already defined as %s", name,
                      defined_as(kv->value));
    }
    t = kv->value;
  }
  kv = table_find(t, kp->parts[kp->n - 1].s, kp->parts[kp->n - 1].len);
  if (kv != NULL) {
    cleanup_free char *name = key_display(kp->parts, kp->n);
    struct key_part *k = &kp->parts[kp->n - 1];
    toml_free(value);
    return fail_pos(ps, k->line, k->col, "duplicate key %s (first defined at line %d)", name,
                    kv->line);
  }
  table_add(t, &kp->parts[kp->n - 1], value);
  return 0;
}

/* Walk a header's key path down to the parent of its last part. */
static int
walk_header(struct parser *ps, struct key_path *kp, struct toml_value **out)
{
  struct toml_value *t = ps->root;

  for (size_t i = 0; i + 1 < kp->n; i++) {
    struct key_part *k = &kp->parts[i];
    struct toml_kv *kv = table_find(t, k->s, k->len);
    struct toml_value *v;

    if (kv == NULL) {
      struct toml_value *nt = value_new(TOML_TABLE, k->line, k->col);
      nt->flags = TF_IMPLICIT;
      table_add(t, k, nt);
      t = nt;
      continue;
    }
    v = kv->value;
    if (v->type == TOML_ARRAY && (v->flags & TF_AOT) && v->u.array.n > 0) {
      t = v->u.array.items[v->u.array.n - 1];
      continue;
    }
    if (v->type != TOML_TABLE || (v->flags & TF_INLINE)) {
      cleanup_free char *name = key_display(kp->parts, i + 1);
      return fail_pos(ps, k->line, k->col, "cannot define a table under %s: already defined as %s",
                      name, defined_as(v));
    }
    t = v;
  }
  *out = t;
  return 0;
}

static int
parse_header(struct parser *ps)
{
  struct key_path kp;
  bool aot = peek(ps, 1) == '[';
  const char *open = ps->p;
  int line = ps->line;
  int col = column_of(ps, open);
  struct toml_value *parent = NULL;
  struct toml_kv *kv;
  struct key_part *last;
  int r = -1;

  ps->p += aot ? 2 : 1;
  skip_ws(ps);
  if (parse_key(ps, &kp) < 0)
    return -1;
  skip_ws(ps);
  if (peek(ps, 0) != ']' || (aot && peek(ps, 1) != ']')) {
    fail_unexpected(ps, aot ? "']]' closing the table header" : "']' closing the table header");
    goto out;
  }
  ps->p += aot ? 2 : 1;
  if (walk_header(ps, &kp, &parent) < 0)
    goto out;
  last = &kp.parts[kp.n - 1];
  kv = table_find(parent, last->s, last->len);
  if (aot) {
    struct toml_value *elem = value_new(TOML_TABLE, line, col);
    elem->flags = TF_HEADER;
    if (kv == NULL) {
      struct toml_value *arr = value_new(TOML_ARRAY, line, col);
      arr->flags = TF_AOT;
      table_add(parent, last, arr);
      kv = &parent->u.table.items[parent->u.table.n - 1];
    } else if (kv->value->type != TOML_ARRAY || !(kv->value->flags & TF_AOT)) {
      cleanup_free char *name = key_display(kp.parts, kp.n);
      toml_free(elem);
      fail_pos(ps, line, col, "cannot define [[%s]]: already defined as %s at line %d", name,
               defined_as(kv->value), kv->line);
      goto out;
    }
    array_push(kv->value, elem);
    ps->cur = elem;
  } else {
    if (kv == NULL) {
      struct toml_value *nt = value_new(TOML_TABLE, line, col);
      nt->flags = TF_HEADER;
      table_add(parent, last, nt);
      ps->cur = nt;
    } else if (kv->value->type == TOML_TABLE && kv->value->flags == TF_IMPLICIT) {
      kv->value->flags = TF_HEADER;
      kv->value->line = line;
      kv->value->col = col;
      ps->cur = kv->value;
    } else {
      cleanup_free char *name = key_display(kp.parts, kp.n);
      if (kv->value->type == TOML_TABLE)
        fail_pos(ps, line, col, "table [%s] is already defined (line %d)", name, kv->line);
      else
        fail_pos(ps, line, col, "cannot define table [%s]: already defined as %s at line %d", name,
                 defined_as(kv->value), kv->line);
      goto out;
    }
  }
  r = 0;
out:
  key_path_release(&kp);
  return r;
}

/* KEY = VALUE at ps->p, into tab (ps->cur for a line of a table). */
static int
parse_keyval(struct parser *ps, struct toml_value *tab)
{
  struct key_path kp;
  struct toml_value *val = NULL;
  int r;

  if (parse_key(ps, &kp) < 0)
    return -1;
  skip_ws(ps);
  if (peek(ps, 0) != '=') {
    key_path_release(&kp);
    return fail_unexpected(ps, "'=' after a key");
  }
  ps->p++;
  skip_ws(ps);
  if (parse_value(ps, &val) < 0) {
    key_path_release(&kp);
    return -1;
  }
  r = insert_keyval(ps, tab, &kp, val, TF_DOTTED);
  key_path_release(&kp);
  return r;
}

int
toml_parse(const char *text, size_t len, const char *file, struct toml_value **out,
           struct error **err)
{
  struct parser ps = {0};

  ps.file = file ? file : "<input>";
  ps.p = text;
  ps.end = text + len;
  ps.line = 1;
  ps.line_start = text;
  ps.err = err;
  if (check_encoding(&ps) < 0)
    return -1;
  ps.line = 1;
  ps.line_start = text;
  ps.col_pos = NULL;
  ps.root = value_new(TOML_TABLE, 1, 1);
  ps.root->flags = TF_HEADER;
  ps.cur = ps.root;

  /* a UTF-8 byte order mark is allowed before the document */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    ps.p += 3;
    ps.line_start = ps.p;
  }
  while (!at_end(&ps)) {
    int c;
    skip_ws(&ps);
    c = peek(&ps, 0);
    if (c == -1)
      break;
    if (c == '#' || at_newline(&ps)) {
      if (expect_line_end(&ps) < 0)
        goto fail;
      continue;
    }
    if (c == '[') {
      if (parse_header(&ps) < 0)
        goto fail;
    } else if (parse_keyval(&ps, ps.cur) < 0) {
      goto fail;
    }
    if (expect_line_end(&ps) < 0)
      goto fail;
  }
  *out = ps.root;
  return 0;
fail:
  toml_free(ps.root);
  return -1;
}

int
toml_read_file(const char *path, size_t max, struct buf *out, struct stat *st_out,
               struct error **err)
{
  /* O_NONBLOCK: opening a FIFO must not wait for a writer that never comes */
  cleanup_close int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  struct stat st;
  char chunk[8192];
  int fl;

  if (fd < 0)
    return error_set(err, errno, "read '%s'", path);
  if (fstat(fd, &st) < 0)
    return error_set(err, errno, "read '%s'", path);
  if (!S_ISREG(st.st_mode))
    return error_setc(err, ERR_INVALID, "read '%s': not a regular file", path);
  fl = fcntl(fd, F_GETFL);
  if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) < 0)
    return error_set(err, errno, "read '%s'", path);
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof(chunk));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return error_set(err, errno, "read '%s'", path);
    }
    if (r == 0)
      break;
    if (out->len + (size_t)r > max)
      return error_set(err, EFBIG, "read '%s'", path);
    buf_add(out, chunk, (size_t)r);
  }
  if (out->data == NULL)
    buf_add(out, "", 0);
  if (st_out)
    *st_out = st;
  return 0;
}

int
toml_parse_file(const char *path, size_t max, struct toml_value **out, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;

  if (toml_read_file(path, max, &b, NULL, err) < 0)
    return -1;
  return toml_parse(b.data, b.len, path, out, err);
}

/* ---- queries ---- */

const char *
toml_type_name(enum toml_type t)
{
  switch (t) {
  case TOML_TABLE:
    return "table";
  case TOML_ARRAY:
    return "array";
  case TOML_STRING:
    return "string";
  case TOML_INTEGER:
    return "integer";
  case TOML_FLOAT:
    return "float";
  case TOML_BOOL:
    return "boolean";
  case TOML_DATETIME:
    return "offset date-time";
  case TOML_LOCAL_DATETIME:
    return "local date-time";
  case TOML_LOCAL_DATE:
    return "local date";
  case TOML_LOCAL_TIME:
    return "local time";
  }
  return "unknown";
}

const struct toml_value *
toml_get(const struct toml_value *table, const char *key)
{
  const struct toml_kv *kv;

  if (table == NULL || table->type != TOML_TABLE || key == NULL)
    return NULL;
  kv = table_find(table, key, strlen(key));
  return kv ? kv->value : NULL;
}

const struct toml_value *
toml_get_path(const struct toml_value *table, const char *path)
{
  struct parser ps = {0};
  struct key_path kp;
  const struct toml_value *v = table;

  if (path == NULL)
    return NULL;
  ps.file = "<path>";
  ps.p = path;
  ps.end = path + strlen(path);
  ps.line = 1;
  ps.line_start = path;
  ps.err = NULL;
  if (parse_key(&ps, &kp) < 0)
    return NULL;
  if (!at_end(&ps)) {
    key_path_release(&kp);
    return NULL;
  }
  for (size_t i = 0; i < kp.n && v != NULL; i++) {
    const struct toml_kv *kv;
    if (v->type != TOML_TABLE) {
      v = NULL;
      break;
    }
    kv = table_find(v, kp.parts[i].s, kp.parts[i].len);
    v = kv ? kv->value : NULL;
  }
  key_path_release(&kp);
  return v;
}

size_t
toml_len(const struct toml_value *v)
{
  if (v == NULL)
    return 0;
  if (v->type == TOML_ARRAY)
    return v->u.array.n;
  if (v->type == TOML_TABLE)
    return v->u.table.n;
  return 0;
}

const struct toml_value *
toml_at(const struct toml_value *v, size_t i)
{
  if (v == NULL || i >= toml_len(v))
    return NULL;
  if (v->type == TOML_ARRAY)
    return v->u.array.items[i];
  return v->u.table.items[i].value;
}

const char *
toml_key_at(const struct toml_value *table, size_t i)
{
  if (table == NULL || table->type != TOML_TABLE || i >= table->u.table.n)
    return NULL;
  return table->u.table.items[i].key;
}

const char *
toml_str(const struct toml_value *v)
{
  if (v == NULL || v->type != TOML_STRING)
    return NULL;
  return v->u.str.ptr;
}

int
toml_verror_at(struct error **err, const char *file, const struct toml_value *at, const char *fmt,
               va_list ap)
{
  cleanup_free char *msg = xvasprintf(fmt, ap);

  if (at == NULL && file == NULL)
    return error_setc(err, ERR_INVALID, "%s", msg);
  if (at == NULL)
    return error_setc(err, ERR_INVALID, "%s: %s", file, msg);
  return error_setc(err, ERR_INVALID, "%s:%d:%d: %s", file ? file : "<input>", at->line, at->col,
                    msg);
}

int
toml_error_at(struct error **err, const char *file, const struct toml_value *at, const char *fmt,
              ...)
{
  va_list ap;
  int r;

  va_start(ap, fmt);
  r = toml_verror_at(err, file ? file : "<input>", at, fmt, ap);
  va_end(ap);
  return r;
}
