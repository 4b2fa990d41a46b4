#include "config.h"

#include "toml.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* Config files are small; anything bigger is a mistake worth reporting. */
#define CONFIG_MAX_BYTES (1u << 20)

static int
want_string(const char *file, const char *key, const struct toml_value *v, const char **out,
            struct error **err)
{
  if (v->type != TOML_STRING)
    return toml_error_at(err, file, v, "%s must be a string, not %s", key, toml_type_name(v->type));
  if (v->u.str.len != strlen(v->u.str.ptr) || v->u.str.len == 0)
    return toml_error_at(err, file, v, "%s must not be empty or hold NUL characters", key);
  *out = v->u.str.ptr;
  return 0;
}

static int
set_string(const char *file, const char *key, const struct toml_value *v, char **slot,
           struct error **err)
{
  const char *s = NULL;

  if (want_string(file, key, v, &s, err) < 0)
    return -1;
  free(*slot);
  *slot = xstrdup(s);
  return 0;
}

static int
set_duration(const char *file, const char *key, const struct toml_value *v, int64_t *slot,
             struct error **err)
{
  const char *s = NULL;
  int64_t ms;

  if (want_string(file, key, v, &s, err) < 0)
    return -1;
  if (parse_duration_ms(s, &ms) < 0 || ms < 0)
    return toml_error_at(err, file, v, "%s: invalid duration \"%s\" (want e.g. \"5s\", \"500ms\")",
                         key, s);
  *slot = ms;
  return 0;
}

static int
set_hosts_dirs(const char *file, const struct toml_value *v, struct strv *dirs, struct error **err)
{
  cleanup_strv struct strv list = STRV_INIT;
  const char *s = NULL;

  if (v->type == TOML_STRING) {
    if (want_string(file, "hosts_dir", v, &s, err) < 0)
      return -1;
    strv_push(&list, s);
  } else if (v->type == TOML_ARRAY) {
    for (size_t i = 0; i < toml_len(v); i++) {
      if (want_string(file, "hosts_dir", toml_at(v, i), &s, err) < 0)
        return -1;
      strv_push(&list, s);
    }
  } else {
    return toml_error_at(err, file, v, "hosts_dir must be a string or an array of strings, not %s",
                         toml_type_name(v->type));
  }
  /* a later file replaces the whole list, as with any other key */
  strv_release(dirs);
  *dirs = list;
  list = (struct strv)STRV_INIT;
  return 0;
}

static int
apply_mirror(const char *file, const struct toml_value *m, struct ctrx_config *cfg,
             struct error **err)
{
  static const struct {
    const char *key;
    size_t off;
  } keys[] = {
      {"connect_timeout", offsetof(struct ctrx_config, connect_timeout_ms)},
      {"first_byte_timeout", offsetof(struct ctrx_config, first_byte_timeout_ms)},
      {"stall_timeout", offsetof(struct ctrx_config, stall_timeout_ms)},
  };

  if (m->type != TOML_TABLE)
    return toml_error_at(err, file, m, "mirror must be a table, not %s", toml_type_name(m->type));
  for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
    const struct toml_value *v = toml_get(m, keys[i].key);
    cleanup_free char *name = xasprintf("mirror.%s", keys[i].key);
    if (v && set_duration(file, name, v, (int64_t *)((char *)cfg + keys[i].off), err) < 0)
      return -1;
  }
  return 0;
}

/* Unknown keys are ignored so that an older ctrx can read a newer file. */
static int
apply_file(const char *file, const struct toml_value *root, struct ctrx_config *cfg,
           struct error **err)
{
  const struct toml_value *v;

  if ((v = toml_get(root, "namespace")) &&
      set_string(file, "namespace", v, &cfg->namespace, err) < 0)
    return -1;
  if ((v = toml_get(root, "hosts_dir")) && set_hosts_dirs(file, v, &cfg->hosts_dirs, err) < 0)
    return -1;
  if ((v = toml_get(root, "containerd_config")) &&
      set_string(file, "containerd_config", v, &cfg->containerd_config, err) < 0)
    return -1;
  if ((v = toml_get(root, "ctr")) && set_string(file, "ctr", v, &cfg->ctr, err) < 0)
    return -1;
  if ((v = toml_get(root, "mirror")) && apply_mirror(file, v, cfg, err) < 0)
    return -1;
  return 0;
}

static void
config_init(struct ctrx_config *cfg)
{
  memset(cfg, 0, sizeof(*cfg));
  cfg->connect_timeout_ms = -1;
  cfg->first_byte_timeout_ms = -1;
  cfg->stall_timeout_ms = -1;
}

static int
load_one(const char *path, struct ctrx_config *cfg, struct error **err)
{
  cleanup_toml struct toml_value *root = NULL;
  cleanup_error struct error *e = NULL;

  if (toml_parse_file(path, CONFIG_MAX_BYTES, &root, &e) < 0) {
    if (e->sys_errno == ENOENT || e->sys_errno == ENOTDIR)
      return 0;
    *err = steal_pointer(&e);
    return error_wrap(err, "ctrx config");
  }
  strv_push(&cfg->files, path);
  if (apply_file(path, root, cfg, err) < 0)
    return error_wrap(err, "ctrx config");
  return 0;
}

#define CONFIG_SYSTEM_FILE "/etc/ctrx/config.toml"

static const char *system_file = CONFIG_SYSTEM_FILE;

void
config_set_system_file(const char *path)
{
  system_file = path ? path : CONFIG_SYSTEM_FILE;
}

int
config_load(struct ctrx_config *cfg, struct error **err)
{
  const char *only = getenv("CTRX_CONFIG");
  const char *xdg = getenv("XDG_CONFIG_HOME");
  const char *home = getenv("HOME");
  cleanup_free char *user = NULL;
  int r;

  config_init(cfg);
  if (only != NULL) {
    r = *only ? load_one(only, cfg, err) : 0;
  } else {
    /* the XDG spec says a relative XDG_CONFIG_HOME is to be ignored */
    if (xdg && xdg[0] == '/')
      user = xasprintf("%s/ctrx/config.toml", xdg);
    else if (home && *home)
      user = xasprintf("%s/.config/ctrx/config.toml", home);
    r = load_one(system_file, cfg, err);
    if (r == 0 && user)
      r = load_one(user, cfg, err);
  }
  if (r < 0)
    config_release(cfg);
  return r;
}

int
config_load_paths(struct ctrx_config *cfg, const char *const *paths, size_t n, struct error **err)
{
  config_init(cfg);
  for (size_t i = 0; i < n; i++) {
    if (load_one(paths[i], cfg, err) < 0) {
      config_release(cfg);
      return -1;
    }
  }
  return 0;
}

void
config_release(struct ctrx_config *cfg)
{
  free(cfg->namespace);
  cfg->namespace = NULL;
  strv_release(&cfg->hosts_dirs);
  free(cfg->containerd_config);
  cfg->containerd_config = NULL;
  free(cfg->ctr);
  cfg->ctr = NULL;
  strv_release(&cfg->files);
  cfg->connect_timeout_ms = cfg->first_byte_timeout_ms = cfg->stall_timeout_ms = -1;
}

void
config_read_env(struct ctrx_env *env, const char *(*get)(const char *name))
{
  env->address = get("CONTAINERD_ADDRESS");
  env->namespace = get("CONTAINERD_NAMESPACE");
  env->snapshotter = get("CONTAINERD_SNAPSHOTTER");
  env->no_expand = get("CTRX_NO_EXPAND");
  env->ctr = get("CTRX_CTR");
  env->containerd_config = get("CTRX_CONTAINERD_CONFIG");
  env->path = get("PATH");
  env->state_dir = get("CTRX_STATE_DIR");
  env->xdg_state_home = get("XDG_STATE_HOME");
  env->home = get("HOME");
}

char *
config_state_dir(const struct ctrx_env *env, bool root)
{
  if (env->state_dir && *env->state_dir)
    return xstrdup(env->state_dir);
  if (env->xdg_state_home && *env->xdg_state_home)
    return xasprintf("%s/ctrx", env->xdg_state_home);
  if (root || env->home == NULL || *env->home == '\0')
    return xstrdup("/var/lib/ctrx");
  return xasprintf("%s/.local/state/ctrx", env->home);
}

const char *
config_pick(const char *flag, const char *env, const char *cfg, const char *def)
{
  if (flag && *flag)
    return flag;
  if (env && *env)
    return env;
  if (cfg && *cfg)
    return cfg;
  return def;
}
