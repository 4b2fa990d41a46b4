/* What --privileged takes from the host, as ctr's WithPrivileged and
 * WithHostDevices do: the caller's effective capabilities and the device
 * nodes under /dev. */
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "spec_internal.h"

int
spec_parse_cap_eff(const char *status, uint64_t *eff, struct error **err)
{
  const char *p = status, *line;
  size_t len;

  while (status != NULL && spec_next_line(&p, &line, &len)) {
    cleanup_free char *v = NULL;
    size_t i = 7;

    if (len < 7 || memcmp(line, "CapEff:", 7) != 0)
      continue;
    while (i < len && (line[i] == ' ' || line[i] == '\t'))
      i++;
    v = xstrndup(line + i, len - i);
    if (parse_uint64(v, 16, eff) < 0)
      return error_setc(err, ERR_INVALID, "CapEff '%s' is not a hexadecimal mask", v);
    return 0;
  }
  return error_setc(err, ERR_INVALID, "no CapEff line in the process status");
}

/* ---- host devices ---- */

void
spec_devices_release(struct spec_devices *d)
{
  for (size_t i = 0; i < d->n; i++)
    free(d->v[i].path);
  free(d->v);
  d->v = NULL;
  d->n = 0;
}

static int
host_devices_in(const char *dir, struct spec_devices *out, struct error **err)
{
  static const char *const skip_dirs[] = {"pts",  "shm",         "fd",   "mqueue",
                                          ".lxc", ".lxd-mounts", ".udev"};
  cleanup_strv struct strv names = STRV_INIT;
  DIR *d = opendir(dir);
  struct dirent *e;

  if (d == NULL)
    return error_set(err, errno, "read directory '%s'", dir);
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      strv_push(&names, e->d_name);
  closedir(d);
  if (names.n > 0)
    qsort(names.v, names.n, sizeof(*names.v), str_ptr_cmp);
  for (size_t i = 0; i < names.n; i++) {
    cleanup_free char *path = xasprintf("%s/%s", dir, names.v[i]);
    struct stat st;
    bool skip = false;

    if (lstat(path, &st) < 0) {
      if (errno == ENOENT)
        continue;
      return error_set(err, errno, "stat '%s'", path);
    }
    if (S_ISDIR(st.st_mode)) {
      for (size_t k = 0; k < ARRAY_SIZE(skip_dirs); k++)
        skip = skip || strcmp(names.v[i], skip_dirs[k]) == 0;
      if (!skip && host_devices_in(path, out, err) < 0)
        return -1;
      continue;
    }
    if (strcmp(names.v[i], "console") == 0 || (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) ||
        major(st.st_rdev) == 0)
      continue;
    out->v = xrealloc(out->v, (out->n + 1) * sizeof(*out->v));
    out->v[out->n++] = (struct spec_device){
        .path = steal_pointer(&path),
        .type = S_ISBLK(st.st_mode) ? 'b' : 'c',
        .major = (int64_t)major(st.st_rdev),
        .minor = (int64_t)minor(st.st_rdev),
        .file_mode = (uint32_t)(st.st_mode & ~(mode_t)S_IFMT),
        .uid = (uint32_t)st.st_uid,
        .gid = (uint32_t)st.st_gid,
    };
  }
  return 0;
}

int
spec_host_devices(const char *dir, struct spec_devices *out, struct error **err)
{
  size_t n0 = out->n;

  if (host_devices_in(dir, out, err) < 0) {
    for (size_t i = n0; i < out->n; i++)
      free(out->v[i].path);
    out->n = n0;
    return -1;
  }
  return 0;
}
