/* ctr's command lines, per line, as ctr itself reads them, so that image
 * references can be found among flags, flag values and other positionals.
 *
 * Checked against Debian's ctr 1.6.20 and upstream 1.7.29 and 2.1.5 (their
 * --help, and command lines they accept or refuse): 1.x's urfave/cli v1
 * moves every known flag, with the word after it when that word is not
 * itself a known flag, ahead of the other words, and "--" with everything
 * after it to the end (run, and on 1.7 containers create, skip this). The
 * word after a boolean flag is moved too, so "images tag a --force b" tags b
 * as a. 2.x's urfave/cli v2 moves nothing. Go's flag package then parses the
 * result. */
#include "ctrargs.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "goflag.h"
#include "ref.h"

/* The lines a flag or command is on (enum ctrargs_line bits). */
#define ALL (CTRARGS_1_6 | CTRARGS_1_7 | CTRARGS_2)
#define SINCE_1_7 (CTRARGS_1_7 | CTRARGS_2)
#define UNTIL_1_7 (CTRARGS_1_6 | CTRARGS_1_7)
#define ONLY_2 CTRARGS_2

#define VAL true /* takes a value */
#define BOOL false

struct ctrargs_flag {
  const char *names; /* space separated, without dashes */
  bool value;        /* VAL or BOOL */
  unsigned lines;    /* the lines that have it */
};

/* What the positionals are. */
enum ctrargs_role {
  ROLE_FIRST,       /* the first: pull, mount, label, usage, inspect, content fetch */
  ROLE_ALL,         /* every one: delete, tag */
  ROLE_FIRST_TWO,   /* push REMOTE [LOCAL], convert SOURCE TARGET */
  ROLE_AFTER_FIRST, /* export OUT IMAGE... */
  ROLE_IMAGE,       /* run, create: IMAGE ID [COMMAND...], unless --rootfs/--config */
};

/* urfave/cli adds it to every command */
static const struct ctrargs_flag help_flags[] = {
    {"help h", BOOL, ALL},
    {NULL, BOOL, 0},
};

/* commands.RegistryFlags */
static const struct ctrargs_flag registry_flags[] = {
    {"skip-verify k", BOOL, ALL}, {"plain-http", BOOL, ALL}, {"user u", VAL, ALL},
    {"refresh", VAL, ALL},        {"hosts-dir", VAL, ALL},   {"tlscacert", VAL, ALL},
    {"tlscert", VAL, ALL},        {"tlskey", VAL, ALL},      {"http-dump", BOOL, ALL},
    {"http-trace", BOOL, ALL},    {NULL, BOOL, 0},
};

static const struct ctrargs_flag pull_flags[] = {
    {"snapshotter", VAL, ALL},
    {"label", VAL, ALL},
    {"platform", VAL, ALL},
    {"all-platforms", BOOL, ALL},
    {"all-metadata", BOOL, UNTIL_1_7},
    {"skip-metadata", BOOL, ONLY_2},
    {"print-chainid", BOOL, ALL},
    {"max-concurrent-downloads", VAL, ALL},
    {"local", BOOL, SINCE_1_7}, /* 1.7: a BoolTFlag, true by default; still no value */
    {"sync-fs", BOOL, ONLY_2},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag push_flags[] = {
    {"manifest", VAL, ALL},
    {"manifest-type", VAL, ALL},
    {"platform", VAL, ALL},
    {"max-concurrent-uploaded-layers", VAL, ALL},
    {"local", BOOL, SINCE_1_7},
    {"allow-non-distributable-blobs", BOOL, ALL},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag delete_flags[] = {
    {"sync", BOOL, ALL},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag tag_flags[] = {
    {"force", BOOL, ALL},
    {"local", BOOL, SINCE_1_7},
    {"skip-reference-check", BOOL, ONLY_2},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag export_flags[] = {
    {"skip-manifest-json", BOOL, ALL},
    {"skip-non-distributable", BOOL, ALL},
    {"platform", VAL, ALL},
    {"all-platforms", BOOL, ALL},
    {"local", BOOL, SINCE_1_7},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag mount_flags[] = {
    {"snapshotter", VAL, ALL}, {"label", VAL, ALL},       {"rw", BOOL, ALL},
    {"platform", VAL, ALL},    {"sync-fs", BOOL, ONLY_2}, {NULL, BOOL, 0},
};

static const struct ctrargs_flag label_flags[] = {
    {"replace-all r", BOOL, ALL},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag convert_flags[] = {
    {"uncompress", BOOL, ALL},    {"oci", BOOL, ALL}, {"platform", VAL, ALL},
    {"all-platforms", BOOL, ALL}, {NULL, BOOL, 0},
};

static const struct ctrargs_flag usage_flags[] = {
    {"snapshotter", VAL, ALL},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag inspect_flags[] = {
    {"content", BOOL, ALL},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag fetch_flags[] = {
    {"label", VAL, ALL},
    {"platform", VAL, ALL},
    {"all-platforms", BOOL, ALL},
    {"all-metadata", BOOL, UNTIL_1_7},
    {"skip-metadata", BOOL, ONLY_2},
    {"metadata-only", BOOL, ALL},
    {NULL, BOOL, 0},
};

/* commands.SnapshotterFlags, ContainerFlags and the Linux platform flags:
 * what "containers create" and "run" share */
static const struct ctrargs_flag container_flags[] = {
    {"snapshotter", VAL, ALL},
    {"snapshotter-label", VAL, ALL},
    {"config c", VAL, ALL},
    {"cwd", VAL, ALL},
    {"env", VAL, ALL},
    {"env-file", VAL, ALL},
    {"label", VAL, ALL},
    {"annotation", VAL, ALL},
    {"mount", VAL, ALL},
    {"net-host", BOOL, ALL},
    {"privileged", BOOL, ALL},
    {"read-only", BOOL, ALL},
    {"runtime", VAL, ALL},
    {"runtime-config-path", VAL, ALL},
    {"sandbox", VAL, SINCE_1_7},
    {"tty t", BOOL, ALL},
    {"with-ns", VAL, ALL},
    {"pid-file", VAL, ALL},
    {"gpus", VAL, ALL},
    {"allow-new-privs", BOOL, ALL},
    {"memory-limit", VAL, ALL},
    {"device", VAL, ALL},
    {"cap-add", VAL, ALL},
    {"cap-drop", VAL, ALL},
    {"seccomp", BOOL, ALL},
    {"seccomp-profile", VAL, ALL},
    {"apparmor-default-profile", VAL, ALL},
    {"apparmor-profile", VAL, ALL},
    {"blockio-config-file", VAL, SINCE_1_7},
    {"blockio-class", VAL, SINCE_1_7},
    {"rdt-class", VAL, ALL},
    {"hostname", VAL, SINCE_1_7},
    {"user u", VAL, SINCE_1_7},
    {"rootfs", BOOL, ALL},
    {"no-pivot", BOOL, ALL},
    {"cpu-quota", VAL, ALL},
    {"cpu-period", VAL, ALL},
    {"rootfs-propagation", VAL, ALL},
    {NULL, BOOL, 0},
};

/* the runc flags: run's on every line, containers create's from 2.0 on */
static const struct ctrargs_flag create_flags[] = {
    {"runc-binary", VAL, ONLY_2},
    {"runc-root", VAL, ONLY_2},
    {"runc-systemd-cgroup", BOOL, ONLY_2},
    {NULL, BOOL, 0},
};

static const struct ctrargs_flag run_flags[] = {
    {"rm", BOOL, ALL},
    {"null-io", BOOL, ALL},
    {"log-uri", VAL, ALL},
    {"detach d", BOOL, ALL},
    {"fifo-dir", VAL, ALL},
    {"cgroup", VAL, ALL},
    {"platform", VAL, ALL},
    {"cni", BOOL, ALL},
    {"sync-fs", BOOL, ONLY_2},
    {"runc-binary", VAL, ALL},
    {"runc-root", VAL, ALL},
    {"runc-systemd-cgroup", BOOL, ALL},
    {"uidmap", VAL, ALL},
    {"gidmap", VAL, ALL},
    {"remap-labels", BOOL, ALL},
    {"privileged-without-host-devices", BOOL, SINCE_1_7},
    {"cpus", VAL, ALL},
    {"cpu-shares", VAL, ALL},
    {"cpuset-cpus", VAL, ONLY_2},
    {"cpuset-mems", VAL, ONLY_2},
    {NULL, BOOL, 0},
};

#define CTRARGS_MAX_TABLES 3

struct ctrargs_cmd {
  const char *group; /* the command's names; NULL when this row is a top-level command */
  const char *names; /* the sub-command's (or top-level command's) names */
  unsigned lines;    /* the lines that have it */
  const struct ctrargs_flag *tables[CTRARGS_MAX_TABLES]; /* help_flags is always added */
  unsigned reorder; /* the lines whose urfave/cli moves flags ahead (1.x, unless exempt) */
  enum ctrargs_role role;
  unsigned min;      /* ctr refuses fewer positionals (0: not before connecting) */
  unsigned existing; /* which references name images that must exist already */
};

/* ctrargs_cmd.existing */
#define EX_FIRST 1u /* the first reference */
#define EX_REST 2u  /* the ones after it */

#define IMAGES "images image i"

static const struct ctrargs_cmd ctrargs_cmds[] = {
    {IMAGES, "pull", ALL, {registry_flags, pull_flags, NULL}, UNTIL_1_7, ROLE_FIRST, 1, 0},
    {IMAGES,
     "push",
     ALL,
     {registry_flags, push_flags, NULL},
     UNTIL_1_7,
     ROLE_FIRST_TWO,
     1,
     EX_REST},
    {IMAGES,
     "delete del remove rm",
     ALL,
     {delete_flags, NULL, NULL},
     UNTIL_1_7,
     ROLE_ALL,
     0,
     EX_FIRST | EX_REST},
    {IMAGES, "tag", ALL, {tag_flags, NULL, NULL}, UNTIL_1_7, ROLE_ALL, 2, EX_FIRST},
    {IMAGES,
     "export",
     ALL,
     {export_flags, NULL, NULL},
     UNTIL_1_7,
     ROLE_AFTER_FIRST,
     2,
     EX_FIRST | EX_REST},
    {IMAGES, "mount", ALL, {registry_flags, mount_flags, NULL}, UNTIL_1_7, ROLE_FIRST, 2, EX_FIRST},
    {IMAGES, "label", ALL, {label_flags, NULL, NULL}, UNTIL_1_7, ROLE_FIRST, 0, EX_FIRST},
    {IMAGES, "convert", ALL, {convert_flags, NULL, NULL}, UNTIL_1_7, ROLE_FIRST_TWO, 2, EX_FIRST},
    {IMAGES, "usage", SINCE_1_7, {usage_flags, NULL, NULL}, UNTIL_1_7, ROLE_FIRST, 1, EX_FIRST},
    /* "i i IMAGE" is images inspect */
    {IMAGES, "inspect i", ONLY_2, {inspect_flags, NULL, NULL}, 0, ROLE_FIRST, 0, EX_FIRST},
    {"content", "fetch", ALL, {registry_flags, fetch_flags, NULL}, UNTIL_1_7, ROLE_FIRST, 0, 0},
    {"containers c container",
     "create",
     ALL,
     {container_flags, create_flags, NULL},
     CTRARGS_1_6, /* 1.7 exempts it */
     ROLE_IMAGE,
     2,
     EX_FIRST},
    {NULL, "run", ALL, {container_flags, run_flags, NULL}, 0, ROLE_IMAGE, 2, EX_FIRST},
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

/* How a flag ctrx does not know is read: ctr may not know it either (then
 * urfave/cli leaves it among the positionals and Go's flag package rejects
 * it), or know it as a boolean, or as a flag that takes a value. */
enum ctrargs_unknown { UNKNOWN_NOT_A_FLAG, UNKNOWN_BOOL, UNKNOWN_VALUE };

/* One way ctr may read a command line: its line, and what an unknown flag is. */
struct ctrargs_reading {
  unsigned line;
  enum ctrargs_unknown unknown;
};

static const struct ctrargs_flag *
find_flag(const struct ctrargs_cmd *c, unsigned line, const char *name, size_t len)
{
  for (size_t t = 0; t <= CTRARGS_MAX_TABLES; t++) {
    const struct ctrargs_flag *f = t < CTRARGS_MAX_TABLES ? c->tables[t] : help_flags;
    for (; f != NULL && f->names != NULL; f++)
      if ((f->lines & line) && goflag_name_in(f->names, name, len))
        return f;
  }
  return NULL;
}

/* urfave/cli's argIsFlag: up to three leading dashes go, then the name ends
 * at the first '=' and must be one of the command's flags. */
static bool
arg_is_flag(const struct ctrargs_cmd *c, const struct ctrargs_reading *r, const char *arg)
{
  const char *name = arg;

  if (arg[0] != '-' || strcmp(arg, "-") == 0 || strcmp(arg, "--") == 0)
    return false;
  if (r->unknown != UNKNOWN_NOT_A_FLAG)
    return true;
  if (str_has_prefix(name, "--"))
    name += 2;
  if (name[0] == '-')
    name++;
  return find_flag(c, r->line, name, strcspn(name, "=")) != NULL;
}

/* urfave/cli v1's reorderArgs, on indices into words[from, n). */
static void
reorder(const struct ctrargs_cmd *c, const struct ctrargs_reading *r, char **words, size_t from,
        size_t n, size_t *order)
{
  size_t *rest = xcalloc(n - from + 1, sizeof(*rest));
  size_t nflags = 0;
  size_t nrest = 0;
  bool value_may_follow = false;

  for (size_t i = from; i < n; i++) {
    const char *arg = words[i];

    if (value_may_follow && !arg_is_flag(c, r, arg)) {
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
    } else if (arg_is_flag(c, r, arg)) {
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
go_flag_parse(const struct ctrargs_cmd *c, const struct ctrargs_reading *r, char **words,
              const size_t *order, size_t n, size_t *first, struct ctrargs_state *st)
{
  static const struct ctrargs_flag unknown_bool = {"", BOOL, ALL};
  static const struct ctrargs_flag unknown_value = {"", VAL, ALL};
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
    if (kind == GOFLAG_BAD)
      return -1;
    if ((f = find_flag(c, r->line, g.name, g.len)) == NULL) {
      if (r->unknown == UNKNOWN_NOT_A_FLAG)
        return -1;
      f = r->unknown == UNKNOWN_BOOL ? &unknown_bool : &unknown_value;
    }
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

/* The words one reading of ctr takes as image references, in the order ctr
 * reads them; -1 when ctr would refuse the command line that way. refs has
 * room for args->n. */
static int
parse_reading(const struct ctrargs_cmd *c, const struct ctrargs_reading *r, const struct strv *args,
              size_t start, struct ctrargs_ref *refs, struct ctrargs_state *st)
{
  cleanup_free size_t *order = NULL;
  size_t count = args->n - start;
  size_t first = 0;
  size_t npos;
  const size_t *pos;
  size_t n = 0;

  order = xcalloc(count + 1, sizeof(*order));
  if (c->reorder & r->line) {
    reorder(c, r, args->v, start, args->n, order);
  } else {
    for (size_t i = 0; i < count; i++)
      order[i] = start + i;
  }
  if (go_flag_parse(c, r, args->v, order, count, &first, st) < 0)
    return -1;
  pos = order + first;
  npos = count - first;
  /* with --config the first word is the ID: one positional will do */
  if (npos < c->min - (st->config && c->min > 0 ? 1 : 0))
    return -1;

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
  return (int)n;
}

/* A word that ref_normalize would change. */
static bool
expands(const char *word)
{
  cleanup_free char *n = ref_normalize(word, NULL);

  return n != NULL && strcmp(n, word) != 0;
}

/* The first flag of args[start..] that a line of lines does not know,
 * preferring one without "=VALUE" (which has no word after it to be read
 * either way); NULL when every flag is known. */
static const char *
first_unknown_flag(const struct ctrargs_cmd *c, unsigned lines, const struct strv *args,
                   size_t start)
{
  const char *found = NULL;

  for (size_t i = start; i < args->n && strcmp(args->v[i], "--") != 0; i++) {
    struct goflag g;
    if (goflag_split(args->v[i], &g) != GOFLAG_FLAG)
      continue;
    for (unsigned line = CTRARGS_1_6; line <= CTRARGS_2; line <<= 1) {
      if ((lines & line) && find_flag(c, line, g.name, g.len) == NULL) {
        if (g.value == NULL)
          return args->v[i];
        if (found == NULL)
          found = args->v[i];
      }
    }
  }
  return found;
}

/* The readings disagree on which words are images, and one of those words is
 * a name that would be expanded: say so rather than guess. */
static int
ambiguous(const struct ctrargs_cmd *c, unsigned lines, const struct strv *args, size_t start,
          const char *word, struct error **err)
{
  cleanup_free char *full = ref_normalize(word, NULL);
  cleanup_free char *cmd =
      start == 2 ? xasprintf("%s %s", args->v[0], args->v[1]) : xstrdup(args->v[0]);
  const char *flag = first_unknown_flag(c, lines, args, start);

  if (flag != NULL)
    return error_setc(err, ERR_INVALID,
                      "%s: which word is an image depends on %s, a flag ctrx does not know for "
                      "ctr %s: give the image as %s, write the flag as %.*s=VALUE, or use "
                      "--no-expand",
                      cmd, flag, ctrargs_line_name(lines), full, (int)strcspn(flag, "="), flag);
  return error_setc(err, ERR_INVALID,
                    "%s: which word is an image depends on ctr's version, which ctrx could not "
                    "tell: give the image as %s, or use --no-expand",
                    cmd, full);
}

static bool
same_refs(const struct ctrargs_ref *a, const struct ctrargs_ref *b, int na, int nb)
{
  if (na != nb)
    return false;
  for (int i = 0; i < na; i++)
    if (a[i].index != b[i].index || a[i].existing != b[i].existing)
      return false;
  return true;
}

/* The words ctr reads as image references, in the order ctr reads them:
 * those that every reading of lines that ctr would accept agrees on. When
 * readings differ and a word in question would be expanded, fails; when they
 * differ over words that stay as they are, there are none. refs has room for
 * args->n. *st receives what the flags said (of the first accepted reading). */
static int
parse_refs(unsigned lines, const struct strv *args, struct ctrargs_ref *refs,
           struct ctrargs_state *st, struct error **err)
{
  const struct ctrargs_cmd *c;
  cleanup_free struct ctrargs_ref *tmp = NULL;
  cleanup_free bool *candidate = NULL;
  const struct ctrargs_state start_st = *st;
  size_t start = 0;
  int n = -1;
  bool agree = true;

  c = find_cmd(args, &start);
  if (c == NULL || start > args->n || (c->lines & lines) == 0)
    return 0;
  tmp = xcalloc(args->n + 1, sizeof(*tmp));
  candidate = xcalloc(args->n + 1, sizeof(*candidate));
  for (unsigned line = CTRARGS_1_6; line <= CTRARGS_2; line <<= 1) {
    for (int u = UNKNOWN_NOT_A_FLAG; u <= UNKNOWN_VALUE && (line & lines & c->lines); u++) {
      const struct ctrargs_reading r = {line, (enum ctrargs_unknown)u};
      struct ctrargs_state s = start_st;
      int m = parse_reading(c, &r, args, start, tmp, &s);

      if (m < 0)
        continue;
      for (int i = 0; i < m; i++)
        candidate[tmp[i].index] = true;
      if (n < 0) {
        n = m;
        memcpy(refs, tmp, (size_t)m * sizeof(*refs));
        *st = s;
      } else if (!same_refs(refs, tmp, n, m)) {
        agree = false;
      }
    }
  }
  if (n < 0) {
    st->value = NULL;
    return 0;
  }
  if (agree)
    return n;
  st->value = NULL;
  for (size_t i = 0; i < args->n; i++)
    if (candidate[i] && expands(args->v[i]))
      return ambiguous(c, lines, args, start, args->v[i], err);
  return 0;
}

int
ctrargs_refs(unsigned lines, const struct strv *args, struct ctrargs_ref *refs, struct error **err)
{
  struct ctrargs_state st = {false, false, NULL, NULL};

  return parse_refs(lines, args, refs, &st, err);
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

int
ctrargs_expand_refs(unsigned lines, struct strv *args, struct error **err)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));
  int n = ctrargs_refs(lines, args, refs, err);

  for (int i = 0; i < n; i++)
    expand_word(&args->v[refs[i].index]);
  return n < 0 ? -1 : 0;
}

const char *
ctrargs_first_ref(unsigned lines, const struct strv *args)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));
  struct error *e = NULL;
  int n = ctrargs_refs(lines, args, refs, &e);

  error_free(e);
  return n > 0 ? args->v[refs[0].index] : NULL;
}

const char *
ctrargs_flag_value(unsigned lines, const struct strv *args, const char *flag)
{
  cleanup_free struct ctrargs_ref *refs = xcalloc(args->n + 1, sizeof(*refs));
  struct ctrargs_state st = {false, false, flag, NULL};
  struct error *e = NULL;

  parse_refs(lines, args, refs, &st, &e);
  error_free(e);
  return st.value;
}

bool
ctrargs_takes_images(const struct strv *args)
{
  size_t start = 0;

  return find_cmd(args, &start) != NULL;
}

unsigned
ctrargs_line_of_version(const char *version)
{
  size_t len = strcspn(version, "\n");
  cleanup_free char *first = xstrndup(version, len);
  const char *word = strrchr(first, ' ');
  uint64_t major = 0;
  uint64_t minor = 0;
  cleanup_free char *a = NULL;
  cleanup_free char *b = NULL;
  size_t n;

  /* "ctr github.com/containerd/containerd 1.6.20~ds1": the last word */
  word = word ? word + 1 : first;
  if (*word == 'v')
    word++;
  n = strspn(word, "0123456789");
  a = xstrndup(word, n);
  if (word[n] != '.')
    return CTRARGS_ANY;
  word += n + 1;
  b = xstrndup(word, strspn(word, "0123456789"));
  if (parse_uint64(a, 10, &major) < 0 || parse_uint64(b, 10, &minor) < 0)
    return CTRARGS_ANY;
  if (major == 1)
    return minor <= 6 ? CTRARGS_1_6 : CTRARGS_1_7;
  return major >= 2 ? CTRARGS_2 : CTRARGS_ANY;
}

const char *
ctrargs_line_name(unsigned lines)
{
  switch (lines) {
  case CTRARGS_1_6:
    return "1.6";
  case CTRARGS_1_7:
    return "1.7";
  case CTRARGS_2:
    return "2.x";
  default:
    return "of an unknown version";
  }
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
