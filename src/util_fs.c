/* The file helpers of util.h: mkdir_p, rmdir_created, write_file_atomic. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "util.h"

static bool
is_directory(const char *path)
{
  struct stat st;

  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
mkdir_p(const char *path, char **created, struct error **err)
{
  cleanup_free char *p = xstrdup(path);
  char *top = NULL;
  int rv = 0;

  for (char *s = p + 1;; s++) {
    bool last = *s == '\0';
    if (!last && *s != '/')
      continue;
    *s = '\0';
    if (mkdir(p, 0755) == 0) {
      if (top == NULL)
        top = xstrdup(p);
    } else if (errno != EEXIST) {
      rv = error_set(err, errno, "create directory '%s'", p);
      break;
    }
    if (last)
      break;
    *s = '/';
  }
  if (rv == 0 && !is_directory(p))
    rv = error_set(err, ENOTDIR, "create directory '%s'", p);
  if (created)
    *created = top;
  else
    free(top);
  return rv;
}

void
rmdir_created(const char *path, const char *created)
{
  cleanup_free char *p = xstrdup(path);

  if (created == NULL)
    return;
  for (;;) {
    char *slash;
    if (rmdir(p) < 0 || strcmp(p, created) == 0)
      return;
    slash = strrchr(p, '/');
    if (slash == NULL || slash == p)
      return;
    *slash = '\0';
  }
}

/* The directory of file and a mkostemp template for a hidden file beside it. */
static void
atomic_names(const char *file, char **dir, char **tmp)
{
  const char *slash = strrchr(file, '/');

  if (slash == NULL) {
    *dir = xstrdup(".");
    *tmp = xasprintf(".%s.XXXXXX", file);
  } else {
    *dir = slash == file ? xstrdup("/") : xstrndup(file, (size_t)(slash - file));
    *tmp = xasprintf("%.*s.%s.XXXXXX", (int)(slash - file + 1), file, slash + 1);
  }
}

int
write_file_atomic(const char *file, const char *data, size_t len, mode_t mode,
                  const struct stat *st, struct error **err)
{
  cleanup_free char *dir = NULL;
  cleanup_free char *tmp = NULL;
  cleanup_close int fd = -1;
  cleanup_close int dfd = -1;

  atomic_names(file, &dir, &tmp);
  fd = mkostemp(tmp, O_CLOEXEC);
  if (fd < 0)
    return error_set(err, errno, "create temporary file in '%s'", dir);
  if (fchmod(fd, st ? st->st_mode & 07777 : mode) < 0 ||
      (st && (st->st_uid != geteuid() || st->st_gid != getegid()) &&
       fchown(fd, st->st_uid, st->st_gid) < 0) ||
      write_all(fd, data, len) < 0 || fsync(fd) < 0 || close(steal_fd(&fd)) < 0) {
    int saved = errno;
    unlink(tmp);
    return error_set(err, saved, "write '%s'", tmp);
  }
  if (rename(tmp, file) < 0) {
    int saved = errno;
    unlink(tmp);
    return error_set(err, saved, "rename '%s' to '%s'", tmp, file);
  }
  /* make the rename itself durable */
  dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0)
    fsync(dfd);
  return 0;
}
