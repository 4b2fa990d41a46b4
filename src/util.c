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
  if (errno != 0)
    return -1;
  if (*end != '\0') {
    errno = EINVAL;
    return -1;
  }
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
  if (errno != 0)
    return -1;
  if (*end != '\0') {
    errno = EINVAL;
    return -1;
  }
  *out = v;
  return 0;
}

int
parse_duration_ms(const char *s, int64_t *out_ms)
{
  /* Units as Go's time.ParseDuration; fractions are accepted ("1.5s"). */
  static const struct {
    const char *unit;
    double ms;
  } units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"µs", 1e-3},  {"ms", 1},
               {"s", 1000},  {"m", 60000}, {"h", 3600000}};
  double total = 0;
  const char *p = s;

  if (s == NULL || *s == '\0') {
    errno = EINVAL;
    return -1;
  }
  if (strcmp(s, "0") == 0) {
    *out_ms = 0;
    return 0;
  }
  while (*p) {
    char *end = NULL;
    double v;
    size_t best = 0;
    double mult = 0;

    if (!((*p >= '0' && *p <= '9') || *p == '.')) {
      errno = EINVAL;
      return -1;
    }
    v = strtod(p, &end);
    if (end == p) {
      errno = EINVAL;
      return -1;
    }
    p = end;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
      size_t l = strlen(units[i].unit);
      if (strncmp(p, units[i].unit, l) == 0 && l > best) {
        best = l;
        mult = units[i].ms;
      }
    }
    if (best == 0) {
      errno = EINVAL;
      return -1;
    }
    p += best;
    total += v * mult;
  }
  if (total > (double)INT64_MAX / 2) {
    errno = ERANGE;
    return -1;
  }
  *out_ms = (int64_t)(total + 0.5);
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
read_file(const char *path, size_t max, struct buf *out)
{
  cleanup_close int fd = open(path, O_RDONLY | O_CLOEXEC);
  char chunk[8192];

  if (fd < 0)
    return -1;
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
