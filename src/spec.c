/* The OCI spec `ctr run` writes into the container record. Each step below
 * mirrors one of ctr's spec options, applied in ctr's order, because the order
 * shows through: which env value wins, where TERM= lands, what cap-drop sees. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>

#include "spec_internal.h"

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

/* Every Linux capability by number, for --privileged. */
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

/* 1.7's and 2.x's list, on every line: 1.6.20's lacks the powercap mask
 * (its energy counters leak what other tenants compute), which later 1.6
 * releases added too, so it is hardening that ctrx gives 1.6 as well. */
static const char *const masked_paths[] = {
    "/proc/acpi",          "/proc/asound",
    "/proc/kcore",         "/proc/keys",
    "/proc/latency_stats", "/proc/timer_list",
    "/proc/timer_stats",   "/proc/sched_debug",
    "/sys/firmware",       "/sys/devices/virtual/powercap",
    "/proc/scsi",
};

static const char *const readonly_paths[] = {
    "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger",
};

/* ociVersion: the runtime-spec version each line's containerd was built with. */
static const char *const oci_versions[] = {
    [SPEC_LINE_1_6] = "1.0.2-dev",
    [SPEC_LINE_1_7] = "1.1.0",
    [SPEC_LINE_2] = "1.2.1",
};

/* ---- small helpers ---- */

/* Decimal digits at *p into *v (saturating); false when there are none. */
static bool
version_number(const char **p, unsigned *v)
{
  const char *s = *p;

  *v = 0;
  for (; **p >= '0' && **p <= '9'; (*p)++)
    *v = *v > 100000 ? *v : *v * 10 + (unsigned)(**p - '0');
  return *p != s;
}

enum spec_line
spec_line_of(const char *version)
{
  const char *p = version;
  unsigned major = 0, minor = 0;

  if (p == NULL)
    return SPEC_LINE_2;
  if (*p == 'v')
    p++;
  if (!version_number(&p, &major) || *p++ != '.' || !version_number(&p, &minor))
    return SPEC_LINE_2;
  if (major >= 2)
    return SPEC_LINE_2;
  return major == 1 && minor >= 7 ? SPEC_LINE_1_7 : SPEC_LINE_1_6;
}

static json_t *
json_strings(const char *const *v, size_t n)
{
  json_t *a = json_array();
  for (size_t i = 0; i < n; i++)
    json_array_append_new(a, json_string(v[i]));
  return a;
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

/* ctr of every line refuses a name without CAP_, "ALL" too, before it
 * creates anything. */
static int
caps_check(const struct strv *list, struct error **err)
{
  for (size_t i = 0; list && i < list->n; i++)
    if (!str_has_prefix(list->v[i], "CAP_"))
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
  for (size_t i = 0; o->cap_add && i < o->cap_add->n; i++)
    caps_add(caps, o->cap_add->v[i]);
  for (size_t i = 0; o->cap_drop && i < o->cap_drop->n; i++)
    caps_remove(caps, o->cap_drop->v[i]);
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
  cleanup_spec_user struct spec_user u = {0, 0, NULL, 0};
  cleanup_strv struct strv env = STRV_INIT;
  cleanup_strv struct strv caps = STRV_INIT;
  json_t *args = NULL;
  json_t *j;

  if (spec_user_resolve(o, c->user, &u, err) < 0 || process_env(o, c, &env, err) < 0)
    return -1;
  if (caps_check(o->cap_add, err) < 0 || caps_check(o->cap_drop, err) < 0)
    return -1;
  caps_apply(o, &caps);

  if (o->tty)
    json_object_set_new(proc, "terminal", json_true());
  json_object_set_new(proc, "user", spec_user_json(&u));
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

  if ((unsigned)o->line >= ARRAY_SIZE(oci_versions))
    return error_setc(err, ERR_INVALID, "unknown containerd line %d", (int)o->line);
  json_object_set_new(spec, "ociVersion", json_string(oci_versions[o->line]));
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
