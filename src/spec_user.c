/* process.user as ctr sets it: the image's User and --user resolved against
 * the rootfs /etc/passwd and /etc/group the way containerd's oci options do
 * (WithUserConfig, WithUser, WithAdditionalGIDs), and the reading of those two
 * files inside the rootfs. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "spec_internal.h"

/* What go_atoi makes of a string. */
enum { ATOI_OK = 0, ATOI_SYNTAX = -1, ATOI_RANGE = -2 };

/* Go's strconv.Atoi: optional sign, then decimal digits only, in int64 range.
 * ATOI_SYNTAX for anything else (the empty string too), ATOI_RANGE for
 * digits beyond int64, as Go tells the two apart. */
static int
go_atoi(const char *s, size_t n, int64_t *out)
{
  size_t i = 0;
  bool neg = false, range = false;
  uint64_t v = 0;

  if (n > 0 && (s[0] == '+' || s[0] == '-')) {
    neg = s[0] == '-';
    i = 1;
  }
  if (i == n)
    return ATOI_SYNTAX;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return ATOI_SYNTAX;
    if (range || v > (UINT64_MAX - 9) / 10) {
      range = true;
      continue;
    }
    v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > (uint64_t)INT64_MAX + (neg ? 1 : 0))
      range = true;
  }
  if (range)
    return ATOI_RANGE;
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return ATOI_OK;
}

/* The largest uid and gid: runc refuses more than INT32_MAX, and containerd
 * (pkg/oci WithUser, since 2.x) refuses it up front. */
#define ID_MAX INT32_MAX

static bool
id_in_range(int64_t v)
{
  return v >= 0 && v <= ID_MAX;
}

bool
spec_next_line(const char **p, const char **line, size_t *len)
{
  const char *nl;

  if (**p == '\0')
    return false;
  *line = *p;
  nl = strchr(*p, '\n');
  if (nl == NULL) {
    *len = strlen(*p);
    *p += *len;
  } else {
    *len = (size_t)(nl - *p);
    *p = nl + 1;
  }
  return true;
}

/* Split a passwd/group line at ':' into at most max fields (the rest empty). */
static void
split_colon(const char *line, size_t len, const char **f, size_t *flen, size_t max)
{
  size_t k = 0, start = 0;

  for (size_t i = 0; i < max; i++) {
    f[i] = line + len;
    flen[i] = 0;
  }
  for (size_t i = 0; i <= len && k < max; i++) {
    if (i == len || line[i] == ':') {
      f[k] = line + start;
      flen[k] = i - start;
      k++;
      start = i + 1;
    }
  }
}

static bool
field_eq(const char *f, size_t n, const char *s)
{
  return strlen(s) == n && memcmp(f, s, n) == 0;
}

/* A numeric passwd/group field: unparsable counts as 0, as in runc's parser,
 * but digits beyond int64 are out of range (INT64_MIN here), where runc's 0
 * would make root of them. */
static int64_t
field_int(const char *f, size_t n)
{
  int64_t v = 0;
  int r = go_atoi(f, n, &v);

  if (r == ATOI_RANGE)
    return INT64_MIN;
  return r == ATOI_OK ? v : 0;
}

static bool
skip_db_line(const char *line, size_t len)
{
  size_t i = 0;
  while (i < len && (line[i] == ' ' || line[i] == '\t' || line[i] == '\r'))
    i++;
  return i == len || line[i] == '#';
}

/* ---- /etc/passwd and /etc/group ---- */

/* First passwd entry with that name (name != NULL) or uid. */
static bool
passwd_find(const char *passwd, const char *name, int64_t uid, char **name_out, int64_t *uid_out,
            int64_t *gid_out)
{
  const char *p = passwd, *line;
  size_t len;

  if (passwd == NULL)
    return false;
  while (spec_next_line(&p, &line, &len)) {
    const char *f[4];
    size_t fl[4];
    int64_t u;

    if (skip_db_line(line, len))
      continue;
    split_colon(line, len, f, fl, 4);
    u = field_int(f[2], fl[2]);
    if (name != NULL ? field_eq(f[0], fl[0], name) : u == uid) {
      if (name_out != NULL)
        *name_out = xstrndup(f[0], fl[0]);
      if (uid_out != NULL)
        *uid_out = u;
      if (gid_out != NULL)
        *gid_out = field_int(f[3], fl[3]);
      return true;
    }
  }
  return false;
}

static bool
group_find(const char *group, const char *name, int64_t *gid_out)
{
  const char *p = group, *line;
  size_t len;

  if (group == NULL)
    return false;
  while (spec_next_line(&p, &line, &len)) {
    const char *f[4];
    size_t fl[4];

    if (skip_db_line(line, len))
      continue;
    split_colon(line, len, f, fl, 4);
    if (field_eq(f[0], fl[0], name)) {
      *gid_out = field_int(f[2], fl[2]);
      return true;
    }
  }
  return false;
}

/* Whether the comma-separated member list names user. */
static bool
group_lists(const char *list, size_t n, const char *user)
{
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i == n || list[i] == ',') {
      if (field_eq(list + start, i - start, user))
        return true;
      start = i + 1;
    }
  }
  return false;
}

static int
user_not_found(const char *name, const char *passwd, struct error **err)
{
  if (passwd == NULL)
    return error_setc(err, ERR_NOT_FOUND, "user '%s': no /etc/passwd in the rootfs", name);
  return error_setc(err, ERR_NOT_FOUND, "user '%s': no users found in /etc/passwd", name);
}

static int
group_not_found(const char *name, const char *group, struct error **err)
{
  if (group == NULL)
    return error_setc(err, ERR_NOT_FOUND, "group '%s': no /etc/group in the rootfs", name);
  return error_setc(err, ERR_NOT_FOUND, "group '%s': no groups found in /etc/group", name);
}

/* A uid or gid taken from /etc/passwd or /etc/group: one out of range
 * would wrap around (to 0, root, for 4294967296) where containerd casts it;
 * refused instead. */
static int
db_id(int64_t v, const char *what, const char *name, const char *file, uint32_t *out,
      struct error **err)
{
  if (!id_in_range(v))
    return error_setc(err, ERR_INVALID, "%s of '%s' in %s is out of range", what, name, file);
  *out = (uint32_t)v;
  return 0;
}

/* One side of a USER value: a number (*is_name false), or a name, which an
 * empty side also is (then it means "not given"). A number outside
 * 0..ID_MAX, or one beyond int64, is refused as containerd refuses it. */
static int
user_part(const char *userstr, const char *s, size_t n, const char *what, uint32_t *id,
          bool *is_name, struct error **err)
{
  int64_t v = 0;
  int r = go_atoi(s, n, &v);

  *is_name = r == ATOI_SYNTAX;
  if (*is_name)
    return 0;
  if (r == ATOI_RANGE || !id_in_range(v))
    return error_setc(err, ERR_INVALID, "invalid USER value '%s': %s out of range", userstr, what);
  *id = (uint32_t)v;
  return 0;
}

/* ctr's WithUser: "uid", "name", or "a:b" with each side a number or a name.
 * A bare uid takes its passwd entry's gid (0 if there is none); a gid after
 * ':' is used as given, not the user's primary group, and an empty side of
 * "a:b" is 0, not looked up. */
static int
resolve_user(const struct spec_opts *o, const char *userstr, struct spec_user *u,
             struct error **err)
{
  const char *colon = strchr(userstr, ':');
  int64_t uid = 0, gid = 0;
  uint32_t id = 0;
  bool is_name = false;

  if (colon == NULL) {
    if (user_part(userstr, userstr, strlen(userstr), "uid", &id, &is_name, err) < 0)
      return -1;
    if (!is_name) {
      u->uid = id;
      u->gid = 0;
      if (passwd_find(o->passwd, NULL, id, NULL, &uid, &gid))
        return db_id(gid, "gid", userstr, "/etc/passwd", &u->gid, err);
      return 0;
    }
    if (!passwd_find(o->passwd, userstr, 0, NULL, &uid, &gid))
      return user_not_found(userstr, o->passwd, err);
    if (db_id(uid, "uid", userstr, "/etc/passwd", &u->uid, err) < 0 ||
        db_id(gid, "gid", userstr, "/etc/passwd", &u->gid, err) < 0)
      return -1;
    return 0;
  }
  if (strchr(colon + 1, ':') != NULL)
    return error_setc(err, ERR_INVALID, "invalid USER value '%s'", userstr);

  cleanup_free char *uname = xstrndup(userstr, (size_t)(colon - userstr));
  const char *gname = colon + 1;
  uint32_t new_uid = 0, new_gid = 0;

  if (user_part(userstr, uname, strlen(uname), "uid", &new_uid, &is_name, err) < 0)
    return -1;
  if (is_name && uname[0] != '\0') {
    if (!passwd_find(o->passwd, uname, 0, NULL, &uid, NULL))
      return user_not_found(uname, o->passwd, err);
    if (db_id(uid, "uid", uname, "/etc/passwd", &new_uid, err) < 0)
      return -1;
  }
  if (user_part(userstr, gname, strlen(gname), "gid", &new_gid, &is_name, err) < 0)
    return -1;
  if (is_name && gname[0] != '\0') {
    if (!group_find(o->group, gname, &gid))
      return group_not_found(gname, o->group, err);
    if (db_id(gid, "gid", gname, "/etc/group", &new_gid, err) < 0)
      return -1;
  }
  u->uid = new_uid;
  u->gid = new_gid;
  return 0;
}

/* ctr's WithAdditionalGIDs: the groups whose member list names the user
 * (a numeric userstr is first turned into its passwd name; anything else is
 * taken as the name verbatim, so "name:group" matches no member list), in
 * /etc/group order, except a group named like the user; the primary gid is put
 * first when not already among them. */
static int
additional_gids(const struct spec_opts *o, const char *userstr, struct spec_user *u,
                struct error **err)
{
  cleanup_free char *name = NULL;
  int64_t v = 0;
  size_t cap = 0;

  free(u->gids);
  u->gids = NULL;
  u->n_gids = 0;
  if (go_atoi(userstr, strlen(userstr), &v) == ATOI_OK) {
    if (!passwd_find(o->passwd, NULL, v, &name, NULL, NULL))
      name = NULL;
  } else {
    name = xstrdup(userstr);
  }
  if (name != NULL && o->group != NULL) {
    const char *p = o->group, *line;
    size_t len;

    while (spec_next_line(&p, &line, &len)) {
      const char *f[4];
      size_t fl[4];
      cleanup_free char *gname = NULL;

      if (skip_db_line(line, len))
        continue;
      split_colon(line, len, f, fl, 4);
      if (field_eq(f[0], fl[0], name) || !group_lists(f[3], fl[3], name))
        continue;
      if (u->n_gids == cap) {
        cap = cap ? cap * 2 : 4;
        u->gids = xrealloc(u->gids, cap * sizeof(*u->gids));
      }
      gname = xstrndup(f[0], fl[0]);
      if (db_id(field_int(f[2], fl[2]), "gid", gname, "/etc/group", &u->gids[u->n_gids], err) < 0)
        return -1;
      u->n_gids++;
    }
  }
  for (size_t i = 0; i < u->n_gids; i++)
    if (u->gids[i] == u->gid)
      return 0;
  u->gids = xrealloc(u->gids, (u->n_gids + 1) * sizeof(*u->gids));
  memmove(u->gids + 1, u->gids, u->n_gids * sizeof(*u->gids));
  u->gids[0] = u->gid;
  u->n_gids++;
  return 0;
}

/* Open root/<rel> for reading with every symlink resolved inside root (a
 * chroot's view, as runc's user lookup in the container has). Without
 * openat2 (kernels before 5.6, or a seccomp filter), no symlink is followed
 * at all. */
static int
open_in_root(int root, const char *rel)
{
  struct open_how how = {
      .flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
      .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
  };
  long fd = syscall(SYS_openat2, root, rel, &how, sizeof(how));
  const char *slash;
  cleanup_close int dir = -1;

  /* EPERM: seccomp profiles older than openat2 answer so */
  if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
    return (int)fd;
  slash = strchr(rel, '/');
  if (slash == NULL)
    return openat(root, rel, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW | O_CLOEXEC);
  {
    cleanup_free char *first = xstrndup(rel, (size_t)(slash - rel));
    dir = openat(root, first, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  }
  if (dir < 0)
    return -1;
  return open_in_root(dir, slash + 1);
}

static int
read_in_root(int root, const char *root_path, const char *rel, struct buf *out, struct error **err)
{
  cleanup_close int fd = open_in_root(root, rel);
  struct stat st;
  char chunk[8192];

  if (fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR)
      return 0;
    return error_set(err, errno, "open '%s/%s'", root_path, rel);
  }
  if (fstat(fd, &st) < 0)
    return error_set(err, errno, "stat '%s/%s'", root_path, rel);
  if (!S_ISREG(st.st_mode))
    return error_setc(err, ERR_INVALID, "'%s/%s' is not a regular file", root_path, rel);
  for (;;) {
    ssize_t r = read(fd, chunk, sizeof(chunk));
    if (r < 0 && errno == EINTR)
      continue;
    if (r < 0)
      return error_set(err, errno, "read '%s/%s'", root_path, rel);
    if (r == 0)
      break;
    if (out->len + (size_t)r > SPEC_USER_DB_MAX) {
      buf_release(out);
      return error_setc(err, ERR_INVALID, "'%s/%s' is larger than %d bytes", root_path, rel,
                        SPEC_USER_DB_MAX);
    }
    buf_add(out, chunk, (size_t)r);
  }
  if (out->data == NULL)
    buf_add(out, "", 0);
  return 0;
}

int
spec_read_user_db(const char *root, struct buf *passwd, struct buf *group, struct error **err)
{
  cleanup_close int dir = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

  if (dir < 0)
    return error_set(err, errno, "open rootfs '%s'", root);
  if (read_in_root(dir, root, "etc/passwd", passwd, err) < 0 ||
      read_in_root(dir, root, "etc/group", group, err) < 0) {
    buf_release(passwd);
    buf_release(group);
    return -1;
  }
  return 0;
}

void
spec_user_release(struct spec_user *u)
{
  free(u->gids);
}

/* The user: the image's first (as ctr, even when --user then overrides it). */
int
spec_user_resolve(const struct spec_opts *o, const char *image_user, struct spec_user *u,
                  struct error **err)
{
  if (image_user != NULL && image_user[0] != '\0') {
    cleanup_free char *uid = NULL;
    if (resolve_user(o, image_user, u, err) < 0)
      return error_wrap(err, "image config user");
    uid = xasprintf("%" PRIu32, u->uid);
    if (additional_gids(o, uid, u, err) < 0)
      return error_wrap(err, "image config user");
  } else if (additional_gids(o, "root", u, err) < 0) {
    return -1;
  }
  if (o->user != NULL && o->user[0] != '\0') {
    if (resolve_user(o, o->user, u, err) < 0 || additional_gids(o, o->user, u, err) < 0)
      return -1;
  }
  return 0;
}

json_t *
spec_user_json(const struct spec_user *u)
{
  json_t *j = json_object();

  json_object_set_new(j, "uid", json_integer(u->uid));
  json_object_set_new(j, "gid", json_integer(u->gid));
  if (u->n_gids > 0) {
    json_t *g = json_array();
    for (size_t i = 0; i < u->n_gids; i++)
      json_array_append_new(g, json_integer(u->gids[i]));
    json_object_set_new(j, "additionalGids", g);
  }
  return j;
}
