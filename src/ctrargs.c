/* ctr 1.6's command line as ctr itself reads it, so that image references
 * can be found among flags, flag values and other positionals.
 *
 * Checked against the installed ctr 1.6.20 and a throwaway containerd: its
 * urfave/cli (v1.22) moves every known flag, with the word after it when that
 * word is not itself a known flag, ahead of the other words, and "--" with
 * everything after it to the end (ctr run alone skips this). The word after a
 * boolean flag is moved too, so "images tag a --force b" tags b as a. Go's
 * flag package then parses the result. */
#include "ctrargs.h"

#include <stdlib.h>
#include <string.h>

#include "goflag.h"
#include "ref.h"

struct ctrargs_flag {
  const char *names; /* space separated, without dashes */
  bool value;        /* takes a value; otherwise boolean */
};

/* What the positionals are. */
enum ctrargs_role {
  ROLE_FIRST,       /* the first: pull, mount, label, usage, content fetch */
  ROLE_ALL,         /* every one: delete, tag */
  ROLE_FIRST_TWO,   /* push REMOTE [LOCAL], convert SOURCE TARGET */
  ROLE_AFTER_FIRST, /* export OUT IMAGE... */
  ROLE_IMAGE,       /* run, create: IMAGE ID [COMMAND...], unless --rootfs/--config */
};

/* urfave/cli adds it to every command */
static const struct ctrargs_flag help_flags[] = {
    {"help h", false},
    {NULL, false},
};

/* commands.RegistryFlags */
static const struct ctrargs_flag registry_flags[] = {
    {"skip-verify k", false}, {"plain-http", false}, {"user u", true},  {"refresh", true},
    {"hosts-dir", true},      {"tlscacert", true},   {"tlscert", true}, {"tlskey", true},
    {"http-dump", false},     {"http-trace", false}, {NULL, false},
};

static const struct ctrargs_flag pull_flags[] = {
    {"snapshotter", true},
    {"label", true},
    {"platform", true},
    {"all-platforms", false},
    {"all-metadata", false},
    {"print-chainid", false},
    {"max-concurrent-downloads", true},
    {NULL, false},
};

static const struct ctrargs_flag push_flags[] = {
    {"manifest", true},
    {"manifest-type", true},
    {"platform", true},
    {"max-concurrent-uploaded-layers", true},
    {"allow-non-distributable-blobs", false},
    {NULL, false},
};

static const struct ctrargs_flag delete_flags[] = {
    {"sync", false},
    {NULL, false},
};

static const struct ctrargs_flag tag_flags[] = {
    {"force", false},
    {NULL, false},
};

static const struct ctrargs_flag export_flags[] = {
    {"skip-manifest-json", false},
    {"skip-non-distributable", false},
    {"platform", true},
    {"all-platforms", false},
    {NULL, false},
};

static const struct ctrargs_flag mount_flags[] = {
    {"snapshotter", true}, {"label", true}, {"rw", false}, {"platform", true}, {NULL, false},
};

static const struct ctrargs_flag label_flags[] = {
    {"replace-all r", false},
    {NULL, false},
};

static const struct ctrargs_flag convert_flags[] = {
    {"uncompress", false},    {"oci", false}, {"platform", true},
    {"all-platforms", false}, {NULL, false},
};

/* ctr 1.7's "images usage"; ctr 1.6 has no such command and says so */
static const struct ctrargs_flag usage_flags[] = {
    {"snapshotter", true},
    {NULL, false},
};

static const struct ctrargs_flag fetch_flags[] = {
    {"label", true},         {"platform", true},       {"all-platforms", false},
    {"all-metadata", false}, {"metadata-only", false}, {NULL, false},
};

/* commands.SnapshotterFlags, ContainerFlags and the Linux platform flags:
 * what "containers create" and "run" share */
static const struct ctrargs_flag container_flags[] = {
    {"snapshotter", true},
    {"snapshotter-label", true},
    {"config c", true},
    {"cwd", true},
    {"env", true},
    {"env-file", true},
    {"label", true},
    {"annotation", true},
    {"mount", true},
    {"net-host", false},
    {"privileged", false},
    {"read-only", false},
    {"runtime", true},
    {"runtime-config-path", true},
    {"tty t", false},
    {"with-ns", true},
    {"pid-file", true},
    {"gpus", true},
    {"allow-new-privs", false},
    {"memory-limit", true},
    {"device", true},
    {"cap-add", true},
    {"cap-drop", true},
    {"seccomp", false},
    {"seccomp-profile", true},
    {"apparmor-default-profile", true},
    {"apparmor-profile", true},
    {"rdt-class", true},
    {"rootfs", false},
    {"no-pivot", false},
    {"cpu-quota", true},
    {"cpu-period", true},
    {"rootfs-propagation", true},
    {NULL, false},
};

static const struct ctrargs_flag run_flags[] = {
    {"rm", false},
    {"null-io", false},
    {"log-uri", true},
    {"detach d", false},
    {"fifo-dir", true},
    {"cgroup", true},
    {"platform", true},
    {"cni", false},
    {"runc-binary", true},
    {"runc-root", true},
    {"runc-systemd-cgroup", false},
    {"uidmap", true},
    {"gidmap", true},
    {"remap-labels", false},
    {"cpus", true},
    {"cpu-shares", true},
    {NULL, false},
};

#define CTRARGS_MAX_TABLES 3

struct ctrargs_cmd {
  const char *group; /* the command's names; NULL when this row is a top-level command */
  const char *names; /* the sub-command's (or top-level command's) names */
  const struct ctrargs_flag *tables[CTRARGS_MAX_TABLES]; /* help_flags is always added */
  bool reorder;
  enum ctrargs_role role;
  unsigned existing; /* which references name images that must exist already */
};

/* ctrargs_cmd.existing */
#define EX_FIRST 1u /* the first reference */
#define EX_REST 2u  /* the ones after it */

#define IMAGES "images image i"

static const struct ctrargs_cmd ctrargs_cmds[] = {
    {IMAGES, "pull", {registry_flags, pull_flags, NULL}, true, ROLE_FIRST, 0},
    {IMAGES, "push", {registry_flags, push_flags, NULL}, true, ROLE_FIRST_TWO, EX_REST},
    {IMAGES,
     "delete del remove rm",
     {delete_flags, NULL, NULL},
     true,
     ROLE_ALL,
     EX_FIRST | EX_REST},
    {IMAGES, "tag", {tag_flags, NULL, NULL}, true, ROLE_ALL, EX_FIRST},
    {IMAGES, "export", {export_flags, NULL, NULL}, true, ROLE_AFTER_FIRST, EX_FIRST | EX_REST},
    {IMAGES, "mount", {registry_flags, mount_flags, NULL}, true, ROLE_FIRST, EX_FIRST},
    {IMAGES, "label", {label_flags, NULL, NULL}, true, ROLE_FIRST, EX_FIRST},
    {IMAGES, "convert", {convert_flags, NULL, NULL}, true, ROLE_FIRST_TWO, EX_FIRST},
    {IMAGES, "usage", {usage_flags, NULL, NULL}, true, ROLE_FIRST, EX_FIRST},
    {"content", "fetch", {registry_flags, fetch_flags, NULL}, true, ROLE_FIRST, 0},
    {"containers c container", "create", {container_flags, NULL, NULL}, true, ROLE_IMAGE, EX_FIRST},
    {NULL, "run", {container_flags, run_flags, NULL}, false, ROLE_IMAGE, EX_FIRST},
};

static const struct ctrargs_cmd *
find_cmd(const struct strv *args, size_t *start)
{
  if (args->n == 0)
    return NULL;
  for (size_t i = 0; i < ARRAY_SIZE(ctrargs_cmds); i++) {
    const struct ctrargs_cmd *c = &ctrargs_cmds[i];
    if (c->group == NULL) {
      if (goflag_name_in(c->names, args->v[0], strlen(args->v[0]))) {
        *start = 1;
        return c;
      }
    } else if (args->n >= 2 && goflag_name_in(c->group, args->v[0], strlen(args->v[0])) &&
               goflag_name_in(c->names, args->v[1], strlen(args->v[1]))) {
      *start = 2;
      return c;
    }
  }
  return NULL;
}

static const struct ctrargs_flag *
find_flag(const struct ctrargs_cmd *c, const char *name, size_t len)
{
  for (size_t t = 0; t <= CTRARGS_MAX_TABLES; t++) {
    const struct ctrargs_flag *f = t < CTRARGS_MAX_TABLES ? c->tables[t] : help_flags;
    for (; f != NULL && f->names != NULL; f++)
      if (goflag_name_in(f->names, name, len))
        return f;
  }
  return NULL;
}

/* urfave/cli's argIsFlag: up to three leading dashes go, then the name ends
 * at the first '='. */
static bool
arg_is_flag(const struct ctrargs_cmd *c, const char *arg)
{
  const char *name = arg;

  if (arg[0] != '-' || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0)
    return false;
  if (str_has_prefix(name, "--"))
    name += 2;
  if (name[0] == '-')
    name++;
  return find_flag(c, name, strcspn(name, "=")) != NULL;
}

/* urfave/cli's reorderArgs, on indices into words[from, n). */
static void
reorder(const struct ctrargs_cmd *c, char **words, size_t from, size_t n, size_t *order)
{
  size_t *rest = xcalloc(n - from + 1, sizeof(*rest));
  size_t nflags = 0;
  size_t nrest = 0;
  bool value_may_follow = false;

  for (size_t i = from; i < n; i++) {
    const char *arg = words[i];

    if (value_may_follow && !arg_is_flag(c, arg)) {
      value_may_follow = false;
      order[nflags++] = i;
    } else if (strcmp(arg, "--") == 0) {
      /* "--" goes first among the rest, everything after it follows */
      memmove(rest + 1, rest, nrest * sizeof(*rest));
      rest[0] = i;
      nrest++;
      for (size_t j = i + 1; j < n; j++)
        rest[nrest++] = j;
      break;
    } else if (arg_is_flag(c, arg)) {
      order[nflags++] = i;
      value_may_follow = strchr(arg, '=') == NULL;
    } else {
      rest[nrest++] = i;
    }
  }
  memcpy(order + nflags, rest, nrest * sizeof(*rest));
  free(rest);
}

/* What the flags said that changes the positionals' meaning. */
struct ctrargs_state {
  bool rootfs;
  bool config;
  const char *want;  /* a value flag whose value to keep, or NULL */
  const char *value; /* its value, the last one given */
};

/* Go's FlagSet.Parse over the words in order[0, n): on success, sets *first
 * to the position in order of the first positional. Returns -1 where Go would
 * fail (bad syntax, unknown flag, missing value, bad boolean). */
static int
go_flag_parse(const struct ctrargs_cmd *c, char **words, const size_t *order, size_t n,
              size_t *first, struct ctrargs_state *st)
{
  size_t k = 0;

  while (k < n) {
    struct goflag g;
    const struct ctrargs_flag *f;
    enum goflag_kind kind = goflag_split(words[order[k]], &g);

    if (kind == GOFLAG_NONE)
      break;
    if (kind == GOFLAG_END) {
      k++;
      break;
    }
    if (kind == GOFLAG_BAD || (f = find_flag(c, g.name, g.len)) == NULL)
      return -1;
    k++;
    if (!f->value) {
      bool b = true;
      if (g.value != NULL && goflag_parse_bool(g.value, &b) < 0)
        return -1;
      if (goflag_name_in(f->names, "rootfs", 6))
        st->rootfs = b;
      continue;
    }
    if (g.value == NULL) {
      if (k == n)
        return -1;
      k++;
    }
    if (goflag_name_in(f->names, "config", 6))
      st->config = true;
    if (st->want != NULL && goflag_name_in(f->names, st->want, strlen(st->want)))
      st->value = g.value ? g.value : words[order[k - 1]];
  }
  *first = k;
  return 0;
}

static void
expand_word(char **word)
{
  char *n = ref_normalize(*word, NULL);

  if (n == NULL)
    return;
  free(*word);
  *word = n;
}

/* The words ctr reads as image references, in the order ctr reads them;
 * returns how many. refs has room for args->n. *st receives what the flags
 * said. */
static size_t
parse_refs(const struct strv *args, struct ctrargs_ref *refs, struct ctrargs_state *st)
{
  const struct ctrargs_cmd *c;
  cleanup_free size_t *order = NULL;
  size_t start = 0;
  size_t first = 0;
  size_t count;
  size_t npos;
  const size_t *pos;
  size_t n = 0;

  c = find_cmd(args, &start);
  if (c == NULL || start > args->n)
    return 0;
  count = args->n - start;
  order = xcalloc(count + 1, sizeof(*order));
  if (c->reorder) {
    reorder(c, args->v, start, args->n, order);
  } else {
    for (size_t i = 0; i < count; i++)
      order[i] = start + i;
  }
  if (go_flag_parse(c, args->v, order, count, &first, st) < 0) {
    st->value = NULL;
    return 0;
  }
  pos = order + first;
  npos = count - first;

  switch (c->role) {
  case ROLE_FIRST:
    if (npos >= 1)
      refs[n++].index = pos[0];
    break;
  case ROLE_ALL:
    for (size_t i = 0; i < npos; i++)
      refs[n++].index = pos[i];
    break;
  case ROLE_FIRST_TWO:
    for (size_t i = 0; i < npos && i < 2; i++)
      refs[n++].index = pos[i];
    break;
  case ROLE_AFTER_FIRST:
    for (size_t i = 1; i < npos; i++)
      refs[n++].index = pos[i];
    break;
  case ROLE_IMAGE:
    /* with --config the first word is the ID; with --rootfs, a directory */
    if (npos >= 1 && !st->config && !st->rootfs)
      refs[n++].index = pos[0];
    break;
  }
  for (size_t i = 0; i < n; i++)
    refs[i].existing = (c->existing & (i == 0 ? EX_FIRST : EX_REST)) != 0;
  return n;
}

static size_t
find_refs(const struct strv *args, struct ctrargs_ref *refs)
{
  struct ctrargs_state st = {false, false, NULL, NULL};

  return parse_refs(args, refs, &st);
}

size_t
ctrargs_refs(const struct strv *args, struct ctrargs_ref *refs)
{
  return find_refs(args, refs);
}

int
ctrargs_expand_refs(struct strv *args, struct error **err)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));
  size_t n = find_refs(args, refs);

  (void)err;
  for (size_t i = 0; i < n; i++)
    expand_word(&args->v[refs[i].index]);
  return 0;
}

const char *
ctrargs_first_ref(const struct strv *args)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));

  return find_refs(args, refs) > 0 ? args->v[refs[0].index] : NULL;
}

const char *
ctrargs_flag_value(const struct strv *args, const char *flag)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));
  struct ctrargs_state st = {false, false, flag, NULL};

  parse_refs(args, refs, &st);
  return st.value;
}

bool
ctrargs_is_push(const struct strv *args)
{
  return args->n >= 2 && goflag_name_in(IMAGES, args->v[0], strlen(args->v[0])) &&
         strcmp(args->v[1], "push") == 0;
}

bool
ctrargs_is_pull(const struct strv *args)
{
  if (args->n < 2)
    return false;
  return (goflag_name_in(IMAGES, args->v[0], strlen(args->v[0])) &&
          strcmp(args->v[1], "pull") == 0) ||
         (strcmp(args->v[0], "content") == 0 && strcmp(args->v[1], "fetch") == 0);
}

int
ctrargs_insert_flag(struct strv *args, size_t cmd_words, const char *flag, const char *value)
{
  size_t add = value != NULL ? 2 : 1;

  if (cmd_words > args->n)
    return -1;
  for (size_t i = 0; i < add; i++)
    strv_push_owned(args, NULL);
  memmove(args->v + cmd_words + add, args->v + cmd_words,
          (args->n - add - cmd_words) * sizeof(*args->v));
  args->v[cmd_words] = flag[0] == '-' ? xstrdup(flag) : xasprintf("--%s", flag);
  if (value != NULL)
    args->v[cmd_words + 1] = xstrdup(value);
  return 0;
}
