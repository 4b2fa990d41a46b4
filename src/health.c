#include "health.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sys/stat.h>
#include <time.h>

#include "util.h"

/* The file: one "<unix seconds> <endpoint base>" line per endpoint that
 * failed; a first line "ctrx-endpoints 1" names the format. */
#define HEADER "ctrx-endpoints 1"
#define MAX_FILE (1u << 20)

struct entry {
  char *base;
  int64_t failed_at;
};

struct health {
  pthread_mutex_t mu;
  char *path;
  struct entry *v;
  size_t n, cap;
  bool dirty;
  bool foreign; /* the path is not a regular file: never written over */
};

static struct entry *
find(struct health *h, const char *base)
{
  for (size_t i = 0; i < h->n; i++)
    if (strcmp(h->v[i].base, base) == 0)
      return &h->v[i];
  return NULL;
}

static void
set(struct health *h, const char *base, int64_t when)
{
  struct entry *e = find(h, base);

  if (e == NULL) {
    if (h->n == h->cap) {
      h->cap = h->cap ? h->cap * 2 : 8;
      h->v = xrealloc(h->v, h->cap * sizeof(*h->v));
    }
    e = &h->v[h->n++];
    e->base = xstrdup(base);
  }
  e->failed_at = when;
}

static void
clear(struct health *h)
{
  for (size_t i = 0; i < h->n; i++)
    free(h->v[i].base);
  h->n = 0;
}

/* Read the state file without ever blocking: O_NONBLOCK keeps a FIFO from
 * holding the open, and anything but a regular file is refused (1). */
static int
read_state(const char *path, struct buf *out)
{
  cleanup_close int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  struct stat st;

  if (fd < 0)
    return -1;
  if (fstat(fd, &st) < 0)
    return -1;
  if (!S_ISREG(st.st_mode))
    return 1;
  return read_fd(fd, MAX_FILE, out);
}

struct health *
health_load(const char *path, char **warning)
{
  struct health *h = xcalloc(1, sizeof(*h));
  struct buf b = BUF_INIT;
  char *line, *save = NULL;
  size_t lineno = 0;

  *warning = NULL;
  pthread_mutex_init(&h->mu, NULL);
  if (path == NULL)
    return h;
  h->path = xstrdup(path);
  switch (read_state(h->path, &b)) {
  case 0:
    break;
  case 1:
    h->foreign = true;
    *warning = xasprintf("ignoring endpoint state '%s': not a regular file", h->path);
    buf_release(&b);
    return h;
  default:
    if (errno != ENOENT)
      *warning = xasprintf("ignoring endpoint state '%s': %s", h->path, strerror(errno));
    buf_release(&b);
    return h;
  }
  for (line = strtok_r(b.data, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *sp;
    int64_t when;

    lineno++;
    if (lineno == 1) {
      if (strcmp(line, HEADER) != 0)
        goto damaged;
      continue;
    }
    sp = strchr(line, ' ');
    if (sp == NULL || sp[1] == '\0')
      goto damaged;
    *sp = '\0';
    if (parse_int64(line, 10, &when) < 0 || when < 0)
      goto damaged;
    set(h, sp + 1, when);
  }
  if (lineno == 0 && b.len > 0)
    goto damaged;
  buf_release(&b);
  return h;

damaged:
  clear(h);
  *warning = xasprintf("ignoring damaged endpoint state '%s' (line %zu)", h->path, lineno);
  buf_release(&b);
  return h;
}

int64_t
health_failed_ago(struct health *h, const char *base)
{
  int64_t ago = -1;
  struct entry *e;

  pthread_mutex_lock(&h->mu);
  e = find(h, base);
  if (e) {
    int64_t d = (int64_t)time(NULL) - e->failed_at;
    if (d >= 0 && d < HEALTH_WINDOW_S)
      ago = d;
  }
  pthread_mutex_unlock(&h->mu);
  return ago;
}

void
health_order(struct health *h, const char *const *bases, size_t n, size_t *order)
{
  size_t k = 0;

  for (size_t i = 0; i < n; i++)
    if (health_failed_ago(h, bases[i]) < 0)
      order[k++] = i;
  for (size_t i = 0; i < n; i++)
    if (health_failed_ago(h, bases[i]) >= 0)
      order[k++] = i;
}

void
health_failed(struct health *h, const char *base)
{
  pthread_mutex_lock(&h->mu);
  set(h, base, (int64_t)time(NULL));
  h->dirty = true;
  pthread_mutex_unlock(&h->mu);
}

void
health_ok(struct health *h, const char *base)
{
  struct entry *e;

  pthread_mutex_lock(&h->mu);
  e = find(h, base);
  if (e) {
    free(e->base);
    *e = h->v[--h->n];
    h->dirty = true;
  }
  pthread_mutex_unlock(&h->mu);
}

int
health_save(struct health *h, struct error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_buf struct buf b = BUF_INIT;
  int64_t now = (int64_t)time(NULL);
  char *slash;

  pthread_mutex_lock(&h->mu);
  if (!h->dirty || h->foreign || h->path == NULL) {
    pthread_mutex_unlock(&h->mu);
    return 0;
  }
  buf_addstr(&b, HEADER "\n");
  for (size_t i = 0; i < h->n; i++)
    if (now - h->v[i].failed_at < HEALTH_WINDOW_S)
      buf_addf(&b, "%" PRId64 " %s\n", h->v[i].failed_at, h->v[i].base);
  pthread_mutex_unlock(&h->mu);

  dir = xstrdup(h->path);
  slash = strrchr(dir, '/');
  if (slash && slash != dir) {
    *slash = '\0';
    if (mkdir_p(dir, NULL, err) < 0)
      return -1;
  }
  /* 0600, as the file always was */
  if (write_file_atomic(h->path, b.data, b.len, 0600, NULL, err) < 0)
    return -1;
  h->dirty = false;
  return 0;
}

void
health_free(struct health *h)
{
  if (h == NULL)
    return;
  clear(h);
  free(h->v);
  free(h->path);
  pthread_mutex_destroy(&h->mu);
  free(h);
}
