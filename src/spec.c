/* The OCI spec `ctr run` writes into the container record. Each step below
 * mirrors one of ctr's spec options, applied in ctr's order, because the order
 * shows through: which env value wins, where TERM= lands, what cap-drop sees. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <linux/openat2.h>
#include <math.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#include "spec.h"

#define STOP_SIGNAL_LABEL "io.containerd.image.config.stop-signal"
#define DEFAULT_PATH_ENV "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define CPU_PERIOD 100000
#define LABEL_MAX 4096 /* containerd's limit on key + value */

/* jansson's json_decrefp drops a reference and leaves NULL behind. */
#define cleanup_json __attribute__((cleanup(json_decrefp)))

/* ---- tables ---- */

static const char *const default_caps[] = {
    "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
    "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
    "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
    "CAP_KILL",    "CAP_AUDIT_WRITE",
};

/* Every Linux capability by number, for --privileged and "ALL". */
static const char *const all_caps[] = {
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_DAC_READ_SEARCH",
    "CAP_FOWNER",
    "CAP_FSETID",
    "CAP_KILL",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETPCAP",
    "CAP_LINUX_IMMUTABLE",
    "CAP_NET_BIND_SERVICE",
    "CAP_NET_BROADCAST",
    "CAP_NET_ADMIN",
    "CAP_NET_RAW",
    "CAP_IPC_LOCK",
    "CAP_IPC_OWNER",
    "CAP_SYS_MODULE",
    "CAP_SYS_RAWIO",
    "CAP_SYS_CHROOT",
    "CAP_SYS_PTRACE",
    "CAP_SYS_PACCT",
    "CAP_SYS_ADMIN",
    "CAP_SYS_BOOT",
    "CAP_SYS_NICE",
    "CAP_SYS_RESOURCE",
    "CAP_SYS_TIME",
    "CAP_SYS_TTY_CONFIG",
    "CAP_MKNOD",
    "CAP_LEASE",
    "CAP_AUDIT_WRITE",
    "CAP_AUDIT_CONTROL",
    "CAP_SETFCAP",
    "CAP_MAC_OVERRIDE",
    "CAP_MAC_ADMIN",
    "CAP_SYSLOG",
    "CAP_WAKE_ALARM",
    "CAP_BLOCK_SUSPEND",
    "CAP_AUDIT_READ",
    "CAP_PERFMON",
    "CAP_BPF",
    "CAP_CHECKPOINT_RESTORE",
};

static const struct {
  const char *destination, *type, *source;
  const char *options[7]; /* NULL-terminated */
} default_mounts[] = {
    {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}},
    {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
    {"/dev/pts",
     "devpts",
     "devpts",
     {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
    {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
    {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}},
    {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}},
    {"/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}},
};

/* The cgroup allow rules after deny-all; minor -1 is the wildcard. */
static const struct {
  int major, minor;
} default_devices[] = {
    {1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {5, 1}, {136, -1}, {5, 2},
};

static const char *const default_namespaces[] = {"pid", "ipc", "uts", "mount", "network"};

/* 1.6.20's list: later 1.6 releases add /sys/devices/virtual/powercap. */
static const char *const masked_paths[] = {
    "/proc/acpi",          "/proc/asound",     "/proc/kcore",       "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
    "/sys/firmware",       "/proc/scsi",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* ---- small helpers ---- */

static json_t *
json_strings(const char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
}

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

/* The next '\n'-terminated line of the NUL-terminated text at *p. */
static bool
next_line(const char **p, const char **line, size_t *len)
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
  while (next_line(&p, &line, &len)) {
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
  while (next_line(&p, &line, &len)) {
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

struct user_ids {
  uint32_t uid, gid;
  uint32_t *gids; /* additionalGids */
  size_t n_gids;
};

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
resolve_user(const struct spec_opts *o, const char *userstr, struct user_ids *u, struct error **err)
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
additional_gids(const struct spec_opts *o, const char *userstr, struct user_ids *u,
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

    while (next_line(&p, &line, &len)) {
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

/* ---- the image config ---- */

struct image_config {
  json_t *root; /* owns everything below */
  json_t *env, *entrypoint, *cmd, *labels;
  const char *working_dir, *user, *stop_signal;
};

static void
image_config_release(struct image_config *c)
{
  json_decrefp(&c->root);
  memset(c, 0, sizeof(*c));
}
#define cleanup_image_config __attribute__((cleanup(image_config_release)))

static int
config_strings(json_t *cfg, const char *key, json_t **out, struct error **err)
{
  json_t *v = json_object_get(cfg, key), *s;
  size_t i;

  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_array(v))
    return error_setc(err, ERR_INVALID, "image config: '%s' is not an array of strings", key);
  json_array_foreach(v, i, s)
  {
    if (!json_is_string(s))
      return error_setc(err, ERR_INVALID, "image config: '%s' is not an array of strings", key);
  }
  *out = v;
  return 0;
}

static int
config_string(json_t *cfg, const char *key, const char **out, struct error **err)
{
  json_t *v = json_object_get(cfg, key);

  *out = NULL;
  if (v == NULL || json_is_null(v))
    return 0;
  if (!json_is_string(v))
    return error_setc(err, ERR_INVALID, "image config: '%s' is not a string", key);
  *out = json_string_value(v);
  return 0;
}

static int
image_config_parse(const struct spec_opts *o, struct image_config *c, struct error **err)
{
  json_error_t jerr;
  json_t *cfg, *v;
  const char *k;

  memset(c, 0, sizeof(*c));
  if (o->image_config == NULL)
    return 0;
  if (o->image_config_len > OCI_MAX_DOCUMENT)
    return error_setc(err, ERR_INVALID, "image config is %zu bytes, over the %u byte limit",
                      o->image_config_len, OCI_MAX_DOCUMENT);
  c->root = json_loadb(o->image_config, o->image_config_len, 0, &jerr);
  if (c->root == NULL)
    return error_setc(err, ERR_INVALID, "image config: malformed JSON at line %d column %d: %s",
                      jerr.line, jerr.column, jerr.text);
  if (!json_is_object(c->root))
    return error_setc(err, ERR_INVALID, "image config: not a JSON object");
  cfg = json_object_get(c->root, "config");
  if (cfg == NULL || json_is_null(cfg))
    return 0;
  if (!json_is_object(cfg))
    return error_setc(err, ERR_INVALID, "image config: 'config' is not an object");
  if (config_strings(cfg, "Env", &c->env, err) < 0 ||
      config_strings(cfg, "Entrypoint", &c->entrypoint, err) < 0 ||
      config_strings(cfg, "Cmd", &c->cmd, err) < 0 ||
      config_string(cfg, "WorkingDir", &c->working_dir, err) < 0 ||
      config_string(cfg, "User", &c->user, err) < 0 ||
      config_string(cfg, "StopSignal", &c->stop_signal, err) < 0)
    return -1;
  c->labels = json_object_get(cfg, "Labels");
  if (c->labels != NULL && json_is_null(c->labels))
    c->labels = NULL;
  if (c->labels != NULL && !json_is_object(c->labels))
    return error_setc(err, ERR_INVALID, "image config: 'Labels' is not an object");
  if (c->labels != NULL) {
    json_object_foreach(c->labels, k, v)
    {
      if (!json_is_string(v))
        return error_setc(err, ERR_INVALID, "image config: label '%s' is not a string", k);
    }
  }
  return 0;
}

/* ---- env ---- */

static size_t
env_key_len(const char *e)
{
  const char *eq = strchr(e, '=');
  return eq ? (size_t)(eq - e) : strlen(e);
}

/* containerd's replaceOrAppendEnvValues: an override replaces the last
 * default with its key or is appended; a bare "K" deletes the default K.
 * Only defaults are looked up, so two new values with one key both stay, and
 * empty strings are dropped. The result replaces *defaults. */
static void
env_replace_or_append(struct strv *defaults, char *const *over, size_t n_over)
{
  struct strv out = STRV_INIT;
  size_t nd = defaults->n;

  for (size_t i = 0; i < nd; i++)
    strv_push(&out, defaults->v[i]);
  for (size_t j = 0; j < n_over; j++) {
    const char *v = over[j];
    size_t kl = env_key_len(v);
    bool has_eq = v[kl] == '=';
    size_t hit = SIZE_MAX;

    for (size_t i = nd; i-- > 0;) {
      if (env_key_len(defaults->v[i]) == kl && memcmp(defaults->v[i], v, kl) == 0) {
        hit = i;
        break;
      }
    }
    if (!has_eq) {
      if (hit != SIZE_MAX)
        out.v[hit][0] = '\0';
      continue;
    }
    if (hit != SIZE_MAX) {
      free(out.v[hit]);
      out.v[hit] = xstrdup(v);
    } else {
      strv_push(&out, v);
    }
  }
  strv_release(defaults);
  for (size_t i = 0; i < out.n; i++)
    if (out.v[i][0] != '\0')
      strv_push(defaults, out.v[i]);
  strv_release(&out);
}

int
spec_parse_env(const char *text, size_t len, const char *name, struct strv *out, struct error **err)
{
  struct strv got = STRV_INIT;
  size_t pos = 0, lineno = 0;

  while (pos < len) {
    const char *line = text + pos;
    const char *nl = memchr(line, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - line) : len - pos;
    size_t i = 0;

    pos += n + (nl ? 1 : 0);
    lineno++;
    if (n > 0 && line[n - 1] == '\r')
      n--;
    if (memchr(line, '\0', n) != NULL) {
      strv_release(&got);
      return error_setc(err, ERR_INVALID, "%s:%zu: NUL byte in line", name, lineno);
    }
    while (i < n && (line[i] == ' ' || line[i] == '\t'))
      i++;
    if (i == n || line[i] == '#')
      continue;
    if (memchr(line, '=', n) == NULL) {
      cleanup_free char *l = xstrndup(line, n);
      strv_release(&got);
      return error_setc(err, ERR_INVALID, "%s:%zu: '%s' is not KEY=VALUE", name, lineno, l);
    }
    strv_push_owned(&got, xstrndup(line, n));
  }
  for (size_t i = 0; i < got.n; i++)
    strv_push(out, got.v[i]);
  strv_release(&got);
  return 0;
}

int
spec_read_env_file(const char *path, struct strv *out, struct error **err)
{
  cleanup_buf struct buf b = BUF_INIT;

  if (read_file(path, SPEC_ENV_FILE_MAX, &b) < 0)
    return error_setc(err, ERR_INVALID, "env file '%s': %s", path, strerror(errno));
  return spec_parse_env(b.data, b.len, path, out, err);
}

/* ---- --mount ---- */

/* One CSV record (Go's encoding/csv rules for a single line) into fields. */
static int
csv_split(const char *s, struct strv *fields, struct error **err)
{
  const char *p = s;

  for (;;) {
    struct buf f = BUF_INIT;

    if (*p == '"') {
      p++;
      for (;;) {
        if (*p == '\0') {
          buf_release(&f);
          return error_setc(err, ERR_INVALID, "mount '%s': unterminated quoted field", s);
        }
        if (*p == '"') {
          if (p[1] == '"') {
            buf_add(&f, "\"", 1);
            p += 2;
            continue;
          }
          p++;
          break;
        }
        buf_add(&f, p++, 1);
      }
      if (*p != ',' && *p != '\0') {
        buf_release(&f);
        return error_setc(err, ERR_INVALID, "mount '%s': extraneous \" in field", s);
      }
    } else {
      size_t n = strcspn(p, ",\"\n\r");
      buf_add(&f, p, n);
      p += n;
      if (*p == '"' || *p == '\n' || *p == '\r') {
        buf_release(&f);
        return error_setc(err, ERR_INVALID, "mount '%s': bare %s in field", s,
                          *p == '"' ? "\"" : "newline");
      }
    }
    if (f.data == NULL)
      buf_add(&f, "", 0);
    strv_push_owned(fields, buf_steal(&f));
    if (*p == '\0')
      return 0;
    p++; /* ',' */
  }
}

int
spec_parse_mount(const char *csv, char **type, char **source, char **destination,
                 struct strv *options, struct error **err)
{
  cleanup_strv struct strv fields = STRV_INIT;
  cleanup_strv struct strv opts = STRV_INIT;
  cleanup_free char *t = NULL, *src = NULL, *dst = NULL;

  if (csv[0] == '\0')
    return error_setc(err, ERR_INVALID, "mount '': expected key=value fields");
  if (csv_split(csv, &fields, err) < 0)
    return -1;
  for (size_t i = 0; i < fields.n; i++) {
    char *field = fields.v[i];
    char *eq = strchr(field, '=');
    const char *val;

    if (eq == NULL)
      return error_setc(err, ERR_INVALID, "mount '%s': '%s' is not key=value", csv, field);
    *eq = '\0';
    val = eq + 1;
    if (strcmp(field, "type") == 0) {
      free(t);
      t = xstrdup(val);
    } else if (strcmp(field, "source") == 0 || strcmp(field, "src") == 0) {
      free(src);
      src = xstrdup(val);
    } else if (strcmp(field, "destination") == 0 || strcmp(field, "dst") == 0 ||
               strcmp(field, "target") == 0) {
      free(dst);
      dst = xstrdup(val);
    } else if (strcmp(field, "options") == 0) {
      const char *p = val;
      strv_release(&opts);
      while (*p != '\0') {
        size_t n = strcspn(p, ":");
        if (n > 0)
          strv_push_owned(&opts, xstrndup(p, n));
        p += n;
        if (*p == ':')
          p++;
      }
    } else {
      return error_setc(err, ERR_INVALID, "mount '%s': key '%s' not supported", csv, field);
    }
  }
  if (dst == NULL || dst[0] == '\0')
    return error_setc(err, ERR_INVALID, "mount '%s': no destination", csv);
  for (size_t i = 0; i < opts.n; i++)
    strv_push(options, opts.v[i]);
  *type = steal_pointer(&t);
  *source = steal_pointer(&src);
  *destination = steal_pointer(&dst);
  return 0;
}

static json_t *
mount_json(const char *dst, const char *type, const char *src, const char *const *opts,
           size_t n_opts)
{
  json_t *m = json_object();

  json_object_set_new(m, "destination", json_string(dst));
  if (type != NULL && type[0] != '\0')
    json_object_set_new(m, "type", json_string(type));
  if (src != NULL && src[0] != '\0')
    json_object_set_new(m, "source", json_string(src));
  if (n_opts > 0)
    json_object_set_new(m, "options", json_strings(opts, n_opts));
  return m;
}

/* ---- capabilities ---- */

static void
caps_add(struct strv *caps, const char *c)
{
  if (!strv_contains(caps, c))
    strv_push(caps, c);
}

static void
caps_remove(struct strv *caps, const char *c)
{
  size_t k = 0;
  for (size_t i = 0; i < caps->n; i++) {
    if (strcmp(caps->v[i], c) == 0)
      free(caps->v[i]);
    else
      caps->v[k++] = caps->v[i];
  }
  caps->n = k;
  if (caps->v != NULL)
    caps->v[k] = NULL;
}

static int
caps_check(const struct strv *list, struct error **err)
{
  for (size_t i = 0; list && i < list->n; i++)
    if (strcmp(list->v[i], "ALL") != 0 && !str_has_prefix(list->v[i], "CAP_"))
      return error_setc(err, ERR_INVALID,
                        "capability '%s': capabilities must be specified with 'CAP_' prefix",
                        list->v[i]);
  return 0;
}

static void
caps_apply(const struct spec_opts *o, struct strv *caps)
{
  /* --privileged: what the caller has, not all there are, which a caller
   * with a smaller bounding set could not give (runc: "unable to apply
   * caps"). Bits without a name here are left out, as ctr does. */
  if (o->privileged)
    for (size_t i = 0; i < ARRAY_SIZE(all_caps); i++) {
      if (o->current_caps & ((uint64_t)1 << i))
        caps_add(caps, all_caps[i]);
    }
  else
    for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
      caps_add(caps, default_caps[i]);
  for (size_t i = 0; o->cap_add && i < o->cap_add->n; i++) {
    if (strcmp(o->cap_add->v[i], "ALL") == 0)
      for (size_t k = 0; k < ARRAY_SIZE(all_caps); k++)
        caps_add(caps, all_caps[k]);
    else
      caps_add(caps, o->cap_add->v[i]);
  }
  for (size_t i = 0; o->cap_drop && i < o->cap_drop->n; i++) {
    if (strcmp(o->cap_drop->v[i], "ALL") == 0) {
      strv_release(caps);
      continue;
    }
    caps_remove(caps, o->cap_drop->v[i]);
  }
}

int
spec_parse_cap_eff(const char *status, uint64_t *eff, struct error **err)
{
  const char *p = status, *line;
  size_t len;

  while (status != NULL && next_line(&p, &line, &len)) {
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

/* ---- maps (annotations, labels) ---- */

/* A copy of map with its keys sorted, as Go marshals a map. */
static json_t *
sorted_object(json_t *map)
{
  size_t n = json_object_size(map), i = 0;
  cleanup_free const char **keys = xcalloc(n + 1, sizeof(*keys));
  json_t *out = json_object(), *v;
  const char *k;

  json_object_foreach(map, k, v)
  {
    keys[i++] = k;
  }
  qsort(keys, n, sizeof(*keys), str_ptr_cmp);
  for (i = 0; i < n; i++)
    json_object_set(out, keys[i], json_object_get(map, keys[i]));
  return out;
}

/* --label: "k=v", or "k" meaning "k=true". */
static void
labels_into(const struct strv *labels, json_t *map)
{
  for (size_t i = 0; labels && i < labels->n; i++) {
    const char *l = labels->v[i];
    const char *eq = strchr(l, '=');
    cleanup_free char *k = xstrndup(l, eq ? (size_t)(eq - l) : strlen(l));
    json_object_set_new(map, k, json_string(eq ? eq + 1 : "true"));
  }
}

static int
annotations_json(const struct spec_opts *o, json_t **out, struct error **err)
{
  cleanup_json json_t *map = json_object();

  *out = NULL;
  labels_into(o->labels, map);
  for (size_t i = 0; o->annotations && i < o->annotations->n; i++) {
    const char *a = o->annotations->v[i];
    const char *eq = strchr(a, '=');
    cleanup_free char *k = NULL;

    if (eq == NULL)
      return error_setc(err, ERR_INVALID, "annotation '%s': invalid key=value format", a);
    k = xstrndup(a, (size_t)(eq - a));
    json_object_set_new(map, k, json_string(eq + 1));
  }
  if (json_object_size(map) > 0)
    *out = sorted_object(map);
  return 0;
}

int
spec_container_labels(const struct spec_opts *o, struct strv *out, struct error **err)
{
  cleanup_image_config struct image_config c = {0};
  cleanup_json json_t *map = json_object();
  cleanup_json json_t *sorted = NULL;
  const char *k;
  json_t *v;

  if (image_config_parse(o, &c, err) < 0)
    return -1;
  if (c.labels != NULL) {
    json_object_foreach(c.labels, k, v)
    {
      if (strlen(k) + strlen(json_string_value(v)) <= LABEL_MAX)
        json_object_set(map, k, v);
    }
  }
  labels_into(o->labels, map);
  json_object_set_new(map, STOP_SIGNAL_LABEL,
                      json_string(c.stop_signal && c.stop_signal[0] ? c.stop_signal : "SIGTERM"));
  sorted = sorted_object(map);
  json_object_foreach(sorted, k, v)
  {
    strv_push_owned(out, xasprintf("%s=%s", k, json_string_value(v)));
  }
  return 0;
}

/* ---- the spec ---- */

static void
user_ids_release(struct user_ids *u)
{
  free(u->gids);
}

#define cleanup_user_ids __attribute__((cleanup(user_ids_release)))

/* The user: the image's first (as ctr, even when --user then overrides it). */
static int
process_user(const struct spec_opts *o, const struct image_config *c, struct user_ids *u,
             struct error **err)
{
  if (c->user != NULL && c->user[0] != '\0') {
    cleanup_free char *uid = NULL;
    if (resolve_user(o, c->user, u, err) < 0)
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

/* Env: --env-file, then --env over it, then all that over the image's. */
static int
process_env(const struct spec_opts *o, const struct image_config *c, struct strv *env,
            struct error **err)
{
  cleanup_strv struct strv user_env = STRV_INIT;
  json_t *s;
  size_t i;

  if (o->env_file != NULL) {
    struct strv file = STRV_INIT;
    if (spec_read_env_file(o->env_file, &file, err) < 0)
      return -1;
    env_replace_or_append(&user_env, file.v, file.n);
    strv_release(&file);
  }
  if (o->env != NULL)
    env_replace_or_append(&user_env, o->env->v, o->env->n);
  if (c->env != NULL && json_array_size(c->env) > 0) {
    json_array_foreach(c->env, i, s)
    {
      strv_push(env, json_string_value(s));
    }
  } else {
    strv_push(env, DEFAULT_PATH_ENV);
  }
  env_replace_or_append(env, user_env.v, user_env.n);
  if (o->tty)
    strv_push(env, "TERM=xterm");
  if (o->net_host) {
    cleanup_free char *h = xasprintf("HOSTNAME=%s", o->host_hostname ? o->host_hostname : "");
    env_replace_or_append(env, &h, 1);
  }
  return 0;
}

static json_t *
user_json(const struct user_ids *u)
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

/* The command line, else the image's entrypoint and cmd. */
static int
process_args(const struct spec_opts *o, const struct image_config *c, json_t **out,
             struct error **err)
{
  cleanup_json json_t *j = json_array();

  if (o->n_args > 0) {
    for (size_t i = 0; i < o->n_args; i++)
      json_array_append_new(j, json_string(o->args[i]));
  } else {
    if (c->entrypoint != NULL)
      json_array_extend(j, c->entrypoint);
    if (c->cmd != NULL)
      json_array_extend(j, c->cmd);
  }
  if (json_array_size(j) == 0)
    return error_setc(err, ERR_INVALID, "no command specified");
  *out = steal_pointer(&j);
  return 0;
}

static json_t *
capabilities_json(const struct strv *caps)
{
  json_t *j = json_object();

  if (caps->n > 0) {
    json_object_set_new(j, "bounding", json_strings((const char *const *)caps->v, caps->n));
    json_object_set_new(j, "effective", json_strings((const char *const *)caps->v, caps->n));
    json_object_set_new(j, "permitted", json_strings((const char *const *)caps->v, caps->n));
  }
  return j;
}

static int
build_process(const struct spec_opts *o, const struct image_config *c, json_t *proc,
              struct error **err)
{
  cleanup_user_ids struct user_ids u = {0, 0, NULL, 0};
  cleanup_strv struct strv env = STRV_INIT;
  cleanup_strv struct strv caps = STRV_INIT;
  json_t *args = NULL;
  json_t *j;

  if (process_user(o, c, &u, err) < 0 || process_env(o, c, &env, err) < 0)
    return -1;
  if (caps_check(o->cap_add, err) < 0 || caps_check(o->cap_drop, err) < 0)
    return -1;
  caps_apply(o, &caps);

  if (o->tty)
    json_object_set_new(proc, "terminal", json_true());
  json_object_set_new(proc, "user", user_json(&u));
  if (process_args(o, c, &args, err) < 0)
    return -1;
  json_object_set_new(proc, "args", args);
  if (env.n > 0)
    json_object_set_new(proc, "env", json_strings((const char *const *)env.v, env.n));
  json_object_set_new(proc, "cwd",
                      json_string(o->cwd && o->cwd[0]                   ? o->cwd
                                  : c->working_dir && c->working_dir[0] ? c->working_dir
                                                                        : "/"));
  json_object_set_new(proc, "capabilities", capabilities_json(&caps));
  j = json_object();
  json_object_set_new(j, "type", json_string("RLIMIT_NOFILE"));
  json_object_set_new(j, "hard", json_integer(1024));
  json_object_set_new(j, "soft", json_integer(1024));
  json_object_set_new(proc, "rlimits", json_pack("[o]", j));
  json_object_set_new(proc, "noNewPrivileges", json_true());
  return 0;
}

static int
build_mounts(const struct spec_opts *o, json_t *mounts, struct error **err)
{
  for (size_t i = 0; i < ARRAY_SIZE(default_mounts); i++) {
    const char *const *opts = default_mounts[i].options;
    size_t n = 0;
    json_t *m;

    while (n < ARRAY_SIZE(default_mounts[i].options) && opts[n] != NULL)
      n++;
    m = mount_json(default_mounts[i].destination, default_mounts[i].type, default_mounts[i].source,
                   opts, n);
    /* --privileged makes sysfs writable: its "ro" becomes "rw". */
    if (o->privileged && strcmp(default_mounts[i].type, "sysfs") == 0) {
      json_t *a = json_object_get(m, "options"), *s;
      size_t k;
      json_array_foreach(a, k, s)
      {
        if (strcmp(json_string_value(s), "ro") == 0)
          json_array_set_new(a, k, json_string("rw"));
      }
    }
    json_array_append_new(mounts, m);
  }
  for (size_t i = 0; o->mounts && i < o->mounts->n; i++) {
    cleanup_free char *type = NULL, *src = NULL, *dst = NULL;
    cleanup_strv struct strv opts = STRV_INIT;

    if (spec_parse_mount(o->mounts->v[i], &type, &src, &dst, &opts, err) < 0)
      return -1;
    json_array_append_new(mounts, mount_json(dst, type, src, (const char *const *)opts.v, opts.n));
  }
  if (o->net_host) {
    static const char *const ro_bind[] = {"rbind", "ro"};
    json_array_append_new(mounts, mount_json("/etc/hosts", "bind", "/etc/hosts", ro_bind, 2));
    json_array_append_new(mounts,
                          mount_json("/etc/resolv.conf", "bind", "/etc/resolv.conf", ro_bind, 2));
  }
  return 0;
}

static int
build_linux(const struct spec_opts *o, json_t *linux_, struct error **err)
{
  json_t *res = json_object(), *devs = json_array(), *cpu = json_object(), *ns, *d;
  const char *nsname = o->ns ? o->ns : "", *id = o->id ? o->id : "";

  json_object_set_new(linux_, "resources", res);
  if (o->privileged) {
    json_array_append_new(devs, json_pack("{sbss}", "allow", 1, "access", "rwm"));
  } else {
    json_array_append_new(devs, json_pack("{sbss}", "allow", 0, "access", "rwm"));
    for (size_t i = 0; i < ARRAY_SIZE(default_devices); i++) {
      d = json_object();
      json_object_set_new(d, "allow", json_true());
      json_object_set_new(d, "type", json_string("c"));
      json_object_set_new(d, "major", json_integer(default_devices[i].major));
      if (default_devices[i].minor >= 0)
        json_object_set_new(d, "minor", json_integer(default_devices[i].minor));
      json_object_set_new(d, "access", json_string("rwm"));
      json_array_append_new(devs, d);
    }
  }
  json_object_set_new(res, "devices", devs);
  if (o->memory_limit < 0) {
    json_decref(cpu);
    return error_setc(err, ERR_INVALID, "memory limit %" PRId64 " is negative", o->memory_limit);
  }
  if (o->memory_limit > 0)
    json_object_set_new(res, "memory", json_pack("{sI}", "limit", (json_int_t)o->memory_limit));
  json_object_set_new(cpu, "shares", json_integer(1024));
  json_object_set_new(res, "cpu", cpu);
  if (isnan(o->cpus) || o->cpus < 0 || o->cpus * CPU_PERIOD >= 9.2e18)
    return error_setc(err, ERR_INVALID, "invalid --cpus value %g", o->cpus);
  if (o->cpus > 0) {
    json_object_set_new(cpu, "quota", json_integer((json_int_t)(o->cpus * CPU_PERIOD)));
    json_object_set_new(cpu, "period", json_integer(CPU_PERIOD));
  }

  {
    struct buf p = BUF_INIT;
    if (nsname[0] != '\0')
      buf_addf(&p, "/%s", nsname);
    if (id[0] != '\0')
      buf_addf(&p, "/%s", id);
    if (p.len == 0)
      buf_addstr(&p, "/");
    json_object_set_new(linux_, "cgroupsPath", json_string(p.data));
    buf_release(&p);
  }

  ns = json_array();
  for (size_t i = 0; i < ARRAY_SIZE(default_namespaces); i++) {
    if (o->net_host && strcmp(default_namespaces[i], "network") == 0)
      continue;
    json_array_append_new(ns, json_pack("{ss}", "type", default_namespaces[i]));
  }
  json_object_set_new(linux_, "namespaces", ns);
  if (o->privileged && o->host_devices != NULL && o->host_devices->n > 0) {
    json_t *a = json_array();
    for (size_t i = 0; i < o->host_devices->n; i++) {
      const struct spec_device *v = &o->host_devices->v[i];
      char type[2] = {v->type, '\0'};
      json_array_append_new(a, json_pack("{sssssIsIsIsIsI}", "path", v->path, "type", type, "major",
                                         (json_int_t)v->major, "minor", (json_int_t)v->minor,
                                         "fileMode", (json_int_t)v->file_mode, "uid",
                                         (json_int_t)v->uid, "gid", (json_int_t)v->gid));
    }
    json_object_set_new(linux_, "devices", a);
  }
  if (!o->privileged) {
    json_object_set_new(linux_, "maskedPaths",
                        json_strings(masked_paths, ARRAY_SIZE(masked_paths)));
    json_object_set_new(linux_, "readonlyPaths",
                        json_strings(readonly_paths, ARRAY_SIZE(readonly_paths)));
  }
  return 0;
}

int
spec_build(const struct spec_opts *o, char **json, struct error **err)
{
  cleanup_image_config struct image_config c = {0};
  cleanup_json json_t *spec = json_object();
  cleanup_json json_t *proc = json_object();
  cleanup_json json_t *mounts = json_array();
  cleanup_json json_t *linux_ = json_object();
  cleanup_json json_t *annotations = NULL;
  json_t *root;
  char *out;

  *json = NULL;
  if (image_config_parse(o, &c, err) < 0)
    return -1;
  if (build_process(o, &c, proc, err) < 0 || build_mounts(o, mounts, err) < 0 ||
      annotations_json(o, &annotations, err) < 0 || build_linux(o, linux_, err) < 0)
    return -1;

  json_object_set_new(spec, "ociVersion", json_string("1.0.2-dev"));
  json_object_set(spec, "process", proc);
  root = json_object();
  json_object_set_new(root, "path", json_string("rootfs"));
  if (o->read_only)
    json_object_set_new(root, "readonly", json_true());
  json_object_set_new(spec, "root", root);
  if (o->hostname != NULL && o->hostname[0] != '\0')
    json_object_set_new(spec, "hostname", json_string(o->hostname));
  json_object_set(spec, "mounts", mounts);
  if (annotations != NULL)
    json_object_set(spec, "annotations", annotations);
  json_object_set(spec, "linux", linux_);

  out = json_dumps(spec, JSON_COMPACT);
  if (out == NULL)
    return error_setc(err, ERR_INTERNAL, "encoding the spec");
  *json = xstrdup(out);
  free(out);
  return 0;
}
