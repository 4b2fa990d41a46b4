#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void __attribute__((noreturn)) oom(void)
{
  static const char msg[] = "ctrx: out of memory\n";
  if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0) {
    /* nothing left to tell anyone */
  }
  abort();
}

void *
xmalloc(size_t n)
{
  void *p = malloc(n ? n : 1);
  if (p == NULL)
    oom();
  return p;
}

void *
xcalloc(size_t n, size_t size)
{
  void *p = calloc(n ? n : 1, size ? size : 1);
  if (p == NULL)
    oom();
  return p;
}

void *
xrealloc(void *p, size_t n)
{
  void *r = realloc(p, n ? n : 1);
  if (r == NULL)
    oom();
  return r;
}

char *
xstrdup(const char *s)
{
  char *r = strdup(s);
  if (r == NULL)
    oom();
  return r;
}

char *
xstrndup(const char *s, size_t n)
{
  char *r = strndup(s, n);
  if (r == NULL)
    oom();
  return r;
}

char *
xvasprintf(const char *fmt, va_list ap)
{
  char *r = NULL;
  if (vasprintf(&r, fmt, ap) < 0)
    oom();
  return r;
}

char *
xasprintf(const char *fmt, ...)
{
  va_list ap;
  char *r;

  va_start(ap, fmt);
  r = xvasprintf(fmt, ap);
  va_end(ap);
  return r;
}

void
freep(void *p)
{
  free(*(void **)p);
}

void
closep(int *fd)
{
  if (*fd >= 0) {
    int saved = errno;
    close(*fd);
    errno = saved;
  }
  *fd = -1;
}

void
fclosep(FILE **f)
{
  if (*f != NULL)
    fclose(*f);
  *f = NULL;
}

static void
buf_grow(struct buf *b, size_t extra)
{
  size_t need = b->len + extra + 1;
  if (b->data != NULL && need <= b->cap)
    return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need)
    cap *= 2;
  b->data = xrealloc(b->data, cap);
  b->cap = cap;
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
  buf_grow(b, n);
  if (n)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void *
buf_append_space(struct buf *b, size_t n)
{
  void *at;

  buf_grow(b, n);
  at = b->data + b->len;
  b->len += n;
  b->data[b->len] = '\0';
  return at;
}

void
buf_addstr(struct buf *b, const char *s)
{
  buf_add(b, s, strlen(s));
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
  va_list ap;
  char *s;

  va_start(ap, fmt);
  s = xvasprintf(fmt, ap);
  va_end(ap);
  buf_addstr(b, s);
  free(s);
}

void
buf_consume(struct buf *b, size_t n)
{
  if (n >= b->len) {
    b->len = 0;
  } else {
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
  }
  if (b->data)
    b->data[b->len] = '\0';
}

char *
buf_steal(struct buf *b)
{
  char *r;

  buf_grow(b, 0);
  b->data[b->len] = '\0';
  r = b->data;
  b->data = NULL;
  b->len = b->cap = 0;
  return r;
}

void
buf_release(struct buf *b)
{
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}

void
strv_push_owned(struct strv *s, char *str)
{
  if (s->n + 2 > s->cap) {
    s->cap = s->cap ? s->cap * 2 : 8;
    s->v = xrealloc(s->v, s->cap * sizeof(char *));
  }
  s->v[s->n++] = str;
  s->v[s->n] = NULL;
}

void
strv_push(struct strv *s, const char *str)
{
  strv_push_owned(s, xstrdup(str));
}

void
strv_release(struct strv *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

bool
strv_contains(const struct strv *s, const char *str)
{
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(s->v[i], str) == 0)
      return true;
  return false;
}

bool
str_has_prefix(const char *s, const char *prefix)
{
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_has_suffix(const char *s, const char *suffix)
{
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && memcmp(s + ls - lx, suffix, lx) == 0;
}

bool
str_eq(const char *a, const char *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  return strcmp(a, b) == 0;
}

/* After strtoll or strtoull: 0 when it took the whole string, else -1 with
 * errno set (its own ERANGE, or EINVAL for what is left over). */
static int
whole_number(const char *end)
{
  if (errno != 0)
    return -1;
  if (*end != '\0') {
    errno = EINVAL;
    return -1;
  }
  return 0;
}

int
parse_int64(const char *s, int base, int64_t *out)
{
  char *end = NULL;
  long long v;

  if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t') {
    errno = EINVAL;
    return -1;
  }
  errno = 0;
  v = strtoll(s, &end, base);
  if (whole_number(end) < 0)
    return -1;
  *out = v;
  return 0;
}

int
parse_uint64(const char *s, int base, uint64_t *out)
{
  char *end = NULL;
  unsigned long long v;

  if (s == NULL || *s < '0' || *s > '9') {
    if (!(s && base == 16 && ((*s >= 'a' && *s <= 'f') || (*s >= 'A' && *s <= 'F')))) {
      errno = EINVAL;
      return -1;
    }
  }
  errno = 0;
  v = strtoull(s, &end, base);
  if (whole_number(end) < 0)
    return -1;
  *out = v;
  return 0;
}

/* Go's leadingInt: digits into *v, refusing what passes 1<<63. */
static int
duration_int(const char **p, uint64_t *v)
{
  uint64_t x = 0;

  for (; **p >= '0' && **p <= '9'; (*p)++) {
    if (x > (UINT64_C(1) << 63) / 10)
      return -1;
    x = x * 10 + (uint64_t)(**p - '0');
    if (x > UINT64_C(1) << 63)
      return -1;
  }
  *v = x;
  return 0;
}

/* Go's leadingFraction: digits after the point; those past int64 precision
 * are read and dropped. */
static void
duration_fraction(const char **p, uint64_t *f, double *scale)
{
  uint64_t x = 0;
  double sc = 1;
  bool overflow = false;

  for (; **p >= '0' && **p <= '9'; (*p)++) {
    uint64_t y;
    if (overflow)
      continue;
    if (x > ((UINT64_C(1) << 63) - 1) / 10) {
      overflow = true;
      continue;
    }
    y = x * 10 + (uint64_t)(**p - '0');
    if (y > UINT64_C(1) << 63) {
      overflow = true;
      continue;
    }
    x = y;
    sc *= 10;
  }
  *f = x;
  *scale = sc;
}

/* The nanoseconds of the unit at *p (advanced past it), 0 when there is
 * none that Go knows. */
static uint64_t
duration_unit(const char **p)
{
  static const struct {
    const char *unit;
    uint64_t ns;
  } units[] = {
      {"ns", 1},
      {"us", 1000},
      {"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
      {"\xce\xbcs", 1000}, /* U+03BC Greek mu */
      {"ms", 1000000},
      {"s", UINT64_C(1000000000)},
      {"m", UINT64_C(60000000000)},
      {"h", UINT64_C(3600000000000)},
  };
  size_t ulen = strcspn(*p, ".0123456789");
  uint64_t unit = 0;

  for (size_t i = 0; ulen > 0 && i < ARRAY_SIZE(units); i++)
    if (strlen(units[i].unit) == ulen && strncmp(*p, units[i].unit, ulen) == 0)
      unit = units[i].ns;
  *p += ulen;
  return unit;
}

/* One number with its unit at *p (advanced past them), in nanoseconds:
 * at most 2^63. -1 with errno EINVAL or ERANGE. */
static int
duration_term(const char **pp, uint64_t *out)
{
  const char *p = *pp;
  uint64_t v = 0, f = 0, unit = 0;
  double scale = 1;
  const char *before = p;
  bool pre, post = false;

  errno = EINVAL;
  if (!(*p == '.' || (*p >= '0' && *p <= '9')))
    return -1;
  if (duration_int(&p, &v) < 0) {
    errno = ERANGE;
    return -1;
  }
  pre = p != before;
  if (*p == '.') {
    p++;
    before = p;
    duration_fraction(&p, &f, &scale);
    post = p != before;
  }
  if ((!pre && !post) || (unit = duration_unit(&p)) == 0)
    return -1;
  errno = ERANGE;
  if (v > (UINT64_C(1) << 63) / unit)
    return -1;
  v *= unit;
  if (f > 0) {
    /* a double is exact enough: f*unit/scale is below 3.6e12 (one hour) */
    v += (uint64_t)((double)f * ((double)unit / scale));
    if (v > UINT64_C(1) << 63)
      return -1;
  }
  *pp = p;
  *out = v;
  return 0;
}

int
parse_duration_ns(const char *s, int64_t *out_ns)
{
  /* time.ParseDuration: [-+]?([0-9]*(\.[0-9]*)?[a-z]+)+ with the units of
   * duration_unit; no exponent, no base prefix, a unit on every number
   * except a lone "0". */
  const char *p = s;
  uint64_t d = 0;
  bool neg = false;

  errno = EINVAL;
  if (s == NULL)
    return -1;
  if (*p == '-' || *p == '+')
    neg = *p++ == '-';
  if (strcmp(p, "0") == 0) {
    *out_ns = 0;
    return 0;
  }
  if (*p == '\0')
    return -1;
  while (*p) {
    uint64_t v = 0;
    if (duration_term(&p, &v) < 0)
      return -1;
    d += v;
    if (d > UINT64_C(1) << 63) {
      errno = ERANGE;
      return -1;
    }
  }
  if (neg) {
    *out_ns = d == UINT64_C(1) << 63 ? INT64_MIN : -(int64_t)d;
    return 0;
  }
  if (d > (uint64_t)INT64_MAX) {
    errno = ERANGE;
    return -1;
  }
  *out_ns = (int64_t)d;
  return 0;
}

int
parse_duration_ms(const char *s, int64_t *out_ms)
{
  int64_t ns;

  if (parse_duration_ns(s, &ns) < 0)
    return -1;
  /* away from zero, so that a duration that is not zero never reads as "none" */
  if (ns >= 0)
    *out_ms = ns / 1000000 + (ns % 1000000 != 0);
  else
    *out_ms = ns / 1000000 - (ns % 1000000 != 0);
  return 0;
}

int64_t
now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
write_all(int fd, const void *p, size_t n)
{
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

int
read_fd(int fd, size_t max, struct buf *out)
{
  char chunk[8192];

  for (;;) {
    ssize_t r = read(fd, chunk, sizeof(chunk));
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    if (r == 0)
      break;
    if (out->len + (size_t)r > max) {
      errno = EFBIG;
      return -1;
    }
    buf_add(out, chunk, (size_t)r);
  }
  if (out->data == NULL)
    buf_add(out, "", 0);
  return 0;
}

int
read_file(const char *path, size_t max, struct buf *out)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return -1;
  return read_fd(fd, max, out);
}

int
str_ptr_cmp(const void *a, const void *b)
{
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}
