/* The flag parser follows Go's flag package as ctr uses it; and the small
 * parsers of util.c and the gRPC framing. */
#include <check.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "ctrargs.h"
#include "goflag.h"
#include "grpc.h"
#include "passthru.h"
#include "util.h"

enum { F_A, F_N, F_DEBUG, F_T };
static const struct flag flags[] = {
    {"a address", FLAG_VALUE, F_A}, {"n namespace", FLAG_VALUE, F_N},
    {"debug", FLAG_BOOL, F_DEBUG},  {"t tty", FLAG_BOOL, F_T},
    {NULL, FLAG_BOOL, 0},
};

static int
record(int id, const char *value, void *data, struct error **err)
{
  struct buf *b = data;
  buf_addf(b, "%d=%s;", id, value);
  return 0;
}

struct flag_case {
  const char *argv; /* space separated */
  const char *seen;
  int rv;
  int stop; /* index of the first argument left, or of the unknown flag */
};

static const struct flag_case cases[] = {
    {"x -a s1 run", "0=s1;", 0, 3},
    {"x --address s1 run", "0=s1;", 0, 3},
    {"x -address=s1 run", "0=s1;", 0, 2},
    {"x --address=s1 run", "0=s1;", 0, 2},
    {"x -n=ns --debug run", "1=ns;2=true;", 0, 3},
    {"x -debug=false run", "2=false;", 0, 2},
    {"x --debug run -a s", "2=true;", 0, 2},
    {"x -- -a s", "", 0, 2},
    {"x - -a s", "", 0, 1},
    {"x --bogus run", "", 1, 1},
    {"x -a s --bogus=1 run", "0=s;", 1, 3},
    {"x ---a s", "", 1, 1},
    {"x -t -n k8s.io images", "3=true;1=k8s.io;", 0, 4},
    {"x -a", "", -1, 1},
    {"x", "", 0, 1},
    {"x run -a s", "", 0, 1},
    {"x -a= run", "0=;", 0, 2},
};

START_TEST(go_flag_rules)
{
  const struct flag_case *c = &cases[_i];
  cleanup_free char *copy = xstrdup(c->argv);
  char *argv[16];
  int argc = 0, optind = 1, unknown = -1, rv;
  struct buf seen = BUF_INIT;
  struct error *err = NULL;

  for (char *p = copy, *save = NULL, *t; (t = strtok_r(p, " ", &save)); p = NULL)
    argv[argc++] = t;
  argv[argc] = NULL;
  buf_addstr(&seen, "");
  rv = cli_parse_flags(flags, argc, argv, &optind, record, &seen, &unknown, &err);
  ck_assert_msg(rv == c->rv, "%s: rv %d", c->argv, rv);
  ck_assert_str_eq(seen.data, c->seen);
  if (rv == 1)
    ck_assert_int_eq(unknown, c->stop);
  else if (rv == 0)
    ck_assert_int_eq(optind, c->stop);
  else
    ck_assert_ptr_nonnull(err);
  error_free(err);
  buf_release(&seen);
}
END_TEST

START_TEST(bools)
{
  bool b;
  ck_assert(cli_parse_bool("true", &b) == 0 && b);
  ck_assert(cli_parse_bool("T", &b) == 0 && b);
  ck_assert(cli_parse_bool("0", &b) == 0 && !b);
  ck_assert(cli_parse_bool("False", &b) == 0 && !b);
  ck_assert(cli_parse_bool("yes", &b) < 0);
}
END_TEST

struct dur_case {
  const char *in;
  int64_t ms;
  int rv;
};
static const struct dur_case durs[] = {
    {"0", 0, 0},
    {"10s", 10000, 0},
    {"1m30s", 90000, 0},
    {"1h30m", 5400000, 0},
    {"500ms", 500, 0},
    {"1.5s", 1500, 0},
    {"2h", 7200000, 0},
    {"", 0, -1},
    {"10", 0, -1},
    {"s", 0, -1},
    {"-1s", -1000, 0},
    {"+1s", 1000, 0},
    {"-0", 0, 0},
    {"+0", 0, 0},
    {"1x", 0, -1},
    {"3000us", 3, 0},
    /* a nonzero duration never rounds to 0, which would mean "no timeout" */
    {"1ns", 1, 0},
    {"100us", 1, 0},
    {"100\u00b5s", 1, 0},
    {"100\u03bcs", 1, 0},
    {"1500us", 2, 0},
    {"-1ns", -1, 0},
    {".5s", 500, 0},
    {"5.s", 5000, 0},
    {"1.0000001s", 1001, 0},
    {"1.0000000001s", 1000, 0}, /* below 1 ns, dropped as Go does */
    {"0.000001ms", 1, 0},
    {"1h1m1s1ms1us1ns", 3661002, 0},
    {"1s1s", 2000, 0},
    /* what Go refuses */
    {"1e3s", 0, -1},
    {"0x10s", 0, -1},
    {"1.5e1s", 0, -1},
    {".s", 0, -1},
    {".", 0, -1},
    {"-", 0, -1},
    {"+", 0, -1},
    {"--1s", 0, -1},
    {"1s ", 0, -1},
    {" 1s", 0, -1},
    {"1S", 0, -1},
    {"1d", 0, -1},
    {"1sec", 0, -1},
    {"00", 0, -1},
    {"1.2.3s", 0, -1},
    {"inf", 0, -1},
    {"nan", 0, -1},
    /* int64 nanoseconds at the edges */
    {"9223372036854775807ns", 9223372036855, 0},
    {"9223372036854775808ns", 0, -1},
    {"-9223372036854775808ns", -9223372036855, 0},
    {"2562047h", 9223369200000, 0},
    {"2562048h", 0, -1},
    {"99999999999999999999s", 0, -1},
};

START_TEST(durations_ns)
{
  int64_t ns = -1;

  ck_assert_int_eq(parse_duration_ns("1ns", &ns), 0);
  ck_assert_int_eq(ns, 1);
  ck_assert_int_eq(parse_duration_ns("1.5us", &ns), 0);
  ck_assert_int_eq(ns, 1500);
  ck_assert_int_eq(parse_duration_ns("1.000000001s", &ns), 0);
  ck_assert_int_eq(ns, 1000000001);
  ck_assert_int_eq(parse_duration_ns("-9223372036854775808ns", &ns), 0);
  ck_assert(ns == INT64_MIN);
  ck_assert_int_eq(parse_duration_ns("0.1234567891h", &ns), 0);
  ck_assert_int_eq(ns, 444444440760);
}
END_TEST

START_TEST(durations)
{
  int64_t ms = -1;
  int rv = parse_duration_ms(durs[_i].in, &ms);
  ck_assert_msg(rv == durs[_i].rv, "%s", durs[_i].in);
  if (rv == 0)
    ck_assert_int_eq(ms, durs[_i].ms);
}
END_TEST

/* A buffer's storage is its data pointer: one released by hand (data NULL)
 * with a stale capacity still grows before it is written. */
/* What --debug prints of the ctr command line: every word joined by "|". */
struct redact_case {
  const char *in;
  const char *want;
};
static const struct redact_case redacts[] = {
    {"ctr|images|pull|-u|alice:s3cret|img", "ctr|images|pull|-u|alice:***|img"},
    {"ctr|images|pull|--user|alice:s3cret|img", "ctr|images|pull|--user|alice:***|img"},
    {"ctr|images|pull|-user|alice:s3cret|img", "ctr|images|pull|-user|alice:***|img"},
    {"ctr|images|pull|--user=alice:s3cret|img", "ctr|images|pull|--user=alice:***|img"},
    {"ctr|images|pull|-u=alice:a:b|img", "ctr|images|pull|-u=alice:***|img"},
    {"ctr|images|pull|-u|:s3cret|img", "ctr|images|pull|-u|:***|img"},
    {"ctr|images|pull|-u|alice|img", "ctr|images|pull|-u|alice|img"},
    {"ctr|images|pull|-u|-alice:s3cret|img", "ctr|images|pull|-u|-alice:***|img"},
    {"ctr|x|--password|s3cret|y", "ctr|x|--password|***|y"},
    {"ctr|x|--password=s3cret|y", "ctr|x|--password=***|y"},
    {"ctr|x|-registry-token|s3cret", "ctr|x|-registry-token|***"},
    {"ctr|x|--auth=s3cret", "ctr|x|--auth=***"},
    {"ctr|x|--password-stdin|--debug", "ctr|x|--password-stdin|--debug"},
    {"ctr|x|https://alice:s3cret@reg.example.com/v2/", "ctr|x|https://***@reg.example.com/v2/"},
    {"ctr|x|--url=http://a:s3cret@h:5000", "ctr|x|--url=http://***@h:5000"},
    {"ctr|x|https://reg.example.com/a@b", "ctr|x|https://reg.example.com/a@b"},
    {"ctr|--address|/run/c.sock|images|ls", "ctr|--address|/run/c.sock|images|ls"},
    {"ctr|i|pull|--", "ctr|i|pull|--"},
};

static void
split_words(const char *s, struct strv *out)
{
  while (*s) {
    size_t n = strcspn(s, "|");
    strv_push_owned(out, xstrndup(s, n));
    s += n;
    if (*s == '|')
      s++;
  }
}

START_TEST(redacted_exec_line)
{
  cleanup_strv struct strv in = STRV_INIT;
  cleanup_strv struct strv out = STRV_INIT;
  cleanup_buf struct buf got = BUF_INIT;

  split_words(redacts[_i].in, &in);
  passthru_redact_argv(&in, &out);
  for (size_t i = 0; i < out.n; i++)
    buf_addf(&got, "%s%s", i ? "|" : "", out.v[i]);
  ck_assert_str_eq(got.data ? got.data : "", redacts[_i].want);
  ck_assert(got.data == NULL || strstr(got.data, "s3cret") == NULL);
}
END_TEST

START_TEST(buf_without_storage)
{
  struct buf b = {NULL, 0, 4096};

  buf_addstr(&b, "abc");
  ck_assert_ptr_nonnull(b.data);
  ck_assert_str_eq(b.data, "abc");
  buf_release(&b);
  b.cap = 4096;
  buf_add(&b, "", 0);
  ck_assert_ptr_nonnull(b.data);
  ck_assert_str_eq(b.data, "");
  buf_release(&b);
}
END_TEST

START_TEST(numbers)
{
  int64_t v;
  uint64_t u;
  ck_assert(parse_int64("42", 10, &v) == 0 && v == 42);
  ck_assert(parse_int64("-7", 10, &v) == 0 && v == -7);
  ck_assert(parse_int64("4x", 10, &v) < 0 && errno == EINVAL);
  ck_assert(parse_int64("", 10, &v) < 0);
  ck_assert(parse_int64("99999999999999999999", 10, &v) < 0 && errno == ERANGE);
  ck_assert(parse_uint64("ff", 16, &u) == 0 && u == 255);
  ck_assert(parse_uint64("-1", 10, &u) < 0);
}
END_TEST

START_TEST(grpc_frames)
{
  static const uint8_t two[] = {0, 0, 0, 0, 2, 'h', 'i', 0, 0, 0};
  static const uint8_t zip[] = {1, 0, 0, 0, 0};
  static const uint8_t huge[] = {0, 0x7f, 0xff, 0xff, 0xff};
  const uint8_t *m = NULL;
  size_t ml = 0;
  struct error *err = NULL;

  ck_assert_int_eq(grpc_frame_parse(two, 4, &m, &ml, &err), 0);
  ck_assert_int_eq(grpc_frame_parse(two, 6, &m, &ml, &err), 0);
  ck_assert_int_eq(grpc_frame_parse(two, 7, &m, &ml, &err), 1);
  ck_assert_uint_eq(ml, 2);
  ck_assert(memcmp(m, "hi", 2) == 0);
  ck_assert_int_eq(grpc_frame_parse(zip, 5, &m, &ml, &err), -1);
  error_freep(&err);
  ck_assert_int_eq(grpc_frame_parse(huge, 5, &m, &ml, &err), -1);
  ck_assert(error_is(err, ERR_EXHAUSTED));
  error_freep(&err);
}
END_TEST

START_TEST(grpc_messages)
{
  char *d = grpc_percent_decode("image %22x%22: not found%", 25);
  struct error *err = NULL;

  ck_assert_str_eq(d, "image \"x\": not found%");
  free(d);
  grpc_status_error(&err, 5, "image \"x\": not found", "/p");
  ck_assert(error_is(err, ERR_NOT_FOUND));
  ck_assert_str_eq(err->msg, "image \"x\": not found");
  error_freep(&err);
  grpc_status_error(&err, 14, "", "/containerd.services.images.v1.Images/Get");
  ck_assert_str_eq(err->msg, "/containerd.services.images.v1.Images/Get: gRPC status 14");
  error_freep(&err);
}
END_TEST

START_TEST(error_chain)
{
  struct error *err = NULL;
  ck_assert_int_eq(error_set(&err, ENOENT, "open '%s'", "/x"), -1);
  ck_assert_int_eq(error_wrap(&err, "load config"), -1);
  ck_assert_str_eq(err->msg, "load config: open '/x': No such file or directory");
  /* the first error is the cause; a later one does not replace it */
  error_setc(&err, ERR_INVALID, "later");
  ck_assert_str_eq(err->msg, "load config: open '/x': No such file or directory");
  error_freep(&err);
}
END_TEST

/* Rows are found by name or by any space-separated alias; a row may leave
 * aliases out (NULL) as well as spell it "". */
static const struct cmd alias_table[] = {
    {.name = "images", .aliases = "image i"},
    {.name = "tasks", .aliases = " t  task "},
    {.name = "plain", .aliases = ""},
    {.name = "bare"},
    {NULL},
};
static const struct {
  const char *word;
  const char *found; /* NULL: no row */
} alias_cases[] = {
    {"images", "images"}, {"image", "images"}, {"i", "images"},  {"im", NULL},
    {"t", "tasks"},       {"task", "tasks"},   {"", NULL},       {"plain", "plain"},
    {"bare", "bare"},     {"b", NULL},         {"tasks ", NULL},
};

START_TEST(cmd_aliases)
{
  const struct cmd *c = cmd_find(alias_table, alias_cases[_i].word);

  if (alias_cases[_i].found == NULL)
    ck_assert_msg(c == NULL, "'%s' found %s", alias_cases[_i].word, c ? c->name : "");
  else
    ck_assert_msg(c != NULL && strcmp(c->name, alias_cases[_i].found) == 0, "'%s' found %s",
                  alias_cases[_i].word, c ? c->name : "nothing");
}
END_TEST

/* One word as Go's FlagSet.parseOne reads it; both ctrx's own parser and
 * ctrargs (what ctr will make of a command line) go through it. */
static const struct {
  const char *word;
  enum goflag_kind kind;
  const char *name; /* the name, without the value */
  const char *value;
} words[] = {
    {"x", GOFLAG_NONE, NULL, NULL},
    {"-", GOFLAG_NONE, NULL, NULL},
    {"", GOFLAG_NONE, NULL, NULL},
    {"--", GOFLAG_END, NULL, NULL},
    {"---a", GOFLAG_BAD, NULL, NULL},
    {"-=a", GOFLAG_BAD, NULL, NULL},
    {"--=a", GOFLAG_BAD, NULL, NULL},
    {"-a", GOFLAG_FLAG, "a", NULL},
    {"--address", GOFLAG_FLAG, "address", NULL},
    {"-address=s", GOFLAG_FLAG, "address", "s"},
    {"--address=", GOFLAG_FLAG, "address", ""},
    {"--a=b=c", GOFLAG_FLAG, "a", "b=c"},
    {"-a==", GOFLAG_FLAG, "a", "="},
};

START_TEST(goflag_words)
{
  struct goflag g = {NULL, 0, NULL};
  enum goflag_kind k = goflag_split(words[_i].word, &g);

  ck_assert_int_eq(k, words[_i].kind);
  if (k != GOFLAG_FLAG)
    return;
  ck_assert_int_eq(g.len, strlen(words[_i].name));
  ck_assert(strncmp(g.name, words[_i].name, g.len) == 0);
  if (words[_i].value == NULL)
    ck_assert_ptr_null(g.value);
  else
    ck_assert_str_eq(g.value, words[_i].value);
}
END_TEST

/* The i-th row of the command tables (the sub-tables after their group) and
 * its path ("images pull"); the number of rows. */
static int
table_row(int i, const struct cmd **row, char **path)
{
  int n = 0;

  for (const struct cmd *c = cmd_table; c->name; c++) {
    if (n++ == i) {
      *row = c;
      *path = xstrdup(c->name);
    }
    for (const struct cmd *s = c->sub; s && s->name; s++)
      if (n++ == i) {
        *row = s;
        *path = xasprintf("%s %s", c->name, s->name);
      }
  }
  return n;
}

/* Every row's --help: its summary and usage, and a line for every flag of
 * its flag table (so a flag cannot be added without its help). */
START_TEST(help_of_every_row)
{
  const struct cmd *c = NULL;
  cleanup_free char *path = NULL;
  cleanup_free char *text = NULL;
  cleanup_free char *head = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  table_row(_i, &c, &path);
  ck_assert_ptr_nonnull(f);
  cmd_print_help(f, c, path);
  fclose(f);
  head = xasprintf("ctrx %s - %s\n\n%s", path, c->summary, c->usage);
  ck_assert_msg(str_has_prefix(text, head), "%s --help:\n%s", path, text);
  ck_assert_msg(strstr(c->usage, "Usage: ctrx ") == c->usage, "%s: usage line", path);
  for (const struct flag *fl = c->flags; fl && fl->names; fl++) {
    const char *lname = strrchr(fl->names, ' ');
    cleanup_free char *want = xasprintf("--%s", lname ? lname + 1 : fl->names);
    ck_assert_msg(fl->help != NULL, "%s: flag %s has no help", path, fl->names);
    ck_assert_msg(strstr(text, want), "%s --help does not list %s:\n%s", path, want, text);
  }
  for (const struct cmd *s = c->sub; s && s->name; s++)
    ck_assert_msg(strstr(text, s->summary), "%s --help does not list %s", path, s->name);
}
END_TEST

/* 'ctrx --help' lists every command and every global flag. */
START_TEST(top_help_lists_everything)
{
  cleanup_free char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);

  ck_assert_ptr_nonnull(f);
  cmd_print_top_help(f);
  fclose(f);
  for (const struct cmd *c = cmd_table; c->name; c++) {
    cleanup_free char *want = xasprintf("\n  %-10s %s\n", c->name, c->summary);
    ck_assert_msg(strstr(text, want), "ctrx --help lacks %s", c->name);
  }
  for (const struct flag *fl = cmd_global_flags; fl->names; fl++) {
    const char *lname = strrchr(fl->names, ' ');
    cleanup_free char *want = xasprintf("--%s", lname ? lname + 1 : fl->names);
    ck_assert_msg(fl->help != NULL && strstr(text, want), "ctrx --help lacks %s", want);
  }
  /* a help of several lines continues at the help column */
  ck_assert(strstr(text, "      --hosts-dir DIR     registry hosts directory (repeatable; default: "
                         "ctrx config,\n                          containerd's CRI"));
}
END_TEST

/* passthru is pure: a command line in, ctr's command line out. Image names
 * come from the caller: here "local" exists as typed, every other name
 * expands to "docker.io/x/<name>". */
static char *
fake_existing(const char *typed, bool *local, void *data)
{
  bool is_local = strcmp(typed, "local") == 0;

  (void)data;
  if (local)
    *local = is_local;
  return is_local ? xstrdup(typed) : xasprintf("docker.io/x/%s", typed);
}

static char *
fake_created(const char *typed, void *data)
{
  (void)data;
  return xasprintf("docker.io/x/%s", typed);
}

static const struct {
  const char *in;  /* space separated */
  const char *out; /* after passthru_rewrite_names and the hosts dir */
} passthru_cases[] = {
    {"images pull nginx", "images pull --hosts-dir /h docker.io/x/nginx"},
    {"images pull --hosts-dir /o nginx", "images pull --hosts-dir /o docker.io/x/nginx"},
    {"i rm local other", "i rm local docker.io/x/other"},
    {"images push local", "images push docker.io/x/local local"},
    {"images push other", "images push docker.io/x/other"},
    {"images tag local new", "images tag local docker.io/x/new"},
    {"tasks ls", "tasks ls"},
    {"run --rm local id", "run --rm local id"},
};

/* words of a space-separated line */
static void
split_spaced(const char *line, struct strv *out)
{
  cleanup_free char *bars = xstrdup(line);

  for (char *p = bars; *p; p++)
    if (*p == ' ')
      *p = '|';
  split_words(bars, out);
}

START_TEST(passthru_rewrites)
{
  const struct passthru_names names = {fake_existing, fake_created, NULL};
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv want = STRV_INIT;
  cleanup_strv struct strv chain = STRV_INIT;
  cleanup_free char *registry = NULL;
  cleanup_free char *root = xasprintf("/tmp/ctrx-unit-passthru.%d", (int)getpid());
  cleanup_free char *host = xasprintf("%s/docker.io", root);

  ck_assert_int_eq(mkdir(root, 0700) == 0 || errno == EEXIST, 1);
  ck_assert_int_eq(mkdir(host, 0700) == 0 || errno == EEXIST, 1);
  strv_push(&chain, root);
  split_spaced(passthru_cases[_i].in, &args);
  split_spaced(passthru_cases[_i].out, &want);
  ck_assert_int_eq(passthru_rewrite_names(CTRARGS_1_6, &args, &names, NULL), 0);
  if ((registry = passthru_pull_registry(CTRARGS_1_6, &args)) != NULL)
    passthru_add_hosts_dir(&args, registry, &chain);
  rmdir(host);
  rmdir(root);
  /* the hosts dir found is the chain directory, here root for "/h" */
  for (size_t i = 0; i < want.n; i++)
    if (strcmp(want.v[i], "/h") == 0) {
      free(want.v[i]);
      want.v[i] = xstrdup(root);
    }
  ck_assert_int_eq(args.n, want.n);
  for (size_t i = 0; i < want.n; i++)
    ck_assert_str_eq(args.v[i], want.v[i]);
}
END_TEST

START_TEST(passthru_ctr_argv)
{
  const struct passthru_globals g = {"/run/c.sock", "ns", "30s", NULL, true};
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_strv struct strv out = STRV_INIT;
  cleanup_error struct error *err = NULL;
  cleanup_free char *ctr = NULL;
  const char *want[] = {"/bin/ctr",  "--address", "/run/c.sock", "--namespace", "ns",
                        "--timeout", "30s",       "--debug",     "tasks",       "ls"};

  split_spaced("tasks ls", &args);
  passthru_build_argv(&g, "/bin/ctr", &args, &out);
  ck_assert_int_eq(out.n, ARRAY_SIZE(want));
  for (size_t i = 0; i < out.n; i++)
    ck_assert_str_eq(out.v[i], want[i]);
  /* the environment's ctr first, then the config's, then PATH's */
  ck_assert_int_eq(passthru_find_ctr("/bin/sh", "/bin/true", "/nonexistent", &ctr, &err), 0);
  ck_assert_str_eq(ctr, "/bin/sh");
  free(ctr);
  ck_assert_int_eq(passthru_find_ctr(NULL, "/bin/true", "/nonexistent", &ctr, &err), 0);
  ck_assert_str_eq(ctr, "/bin/true");
  free(ctr);
  ctr = NULL;
  ck_assert_int_lt(passthru_find_ctr("", NULL, "/nonexistent", &ctr, &err), 0);
  ck_assert(strstr(err->msg, "no ctr found on PATH"));
  error_freep(&err);
  ck_assert_int_lt(passthru_find_ctr("/nonexistent/ctr", NULL, NULL, &ctr, &err), 0);
  ck_assert_str_eq(err->msg, "CTRX_CTR='/nonexistent/ctr' is not an executable file");
}
END_TEST

Suite *
cli_suite(void)
{
  Suite *s = suite_create("cli");
  TCase *t = tcase_create("parse");

  tcase_add_loop_test(t, go_flag_rules, 0, (int)ARRAY_SIZE(cases));
  tcase_add_test(t, bools);
  tcase_add_loop_test(t, durations, 0, (int)ARRAY_SIZE(durs));
  tcase_add_test(t, durations_ns);
  tcase_add_loop_test(t, redacted_exec_line, 0, (int)ARRAY_SIZE(redacts));
  tcase_add_test(t, numbers);
  tcase_add_test(t, buf_without_storage);
  tcase_add_test(t, grpc_frames);
  tcase_add_test(t, grpc_messages);
  tcase_add_test(t, error_chain);
  tcase_add_loop_test(t, cmd_aliases, 0, (int)ARRAY_SIZE(alias_cases));
  tcase_add_loop_test(t, goflag_words, 0, (int)ARRAY_SIZE(words));
  tcase_add_loop_test(t, help_of_every_row, 0, table_row(-1, NULL, NULL));
  tcase_add_test(t, top_help_lists_everything);
  tcase_add_loop_test(t, passthru_rewrites, 0, (int)ARRAY_SIZE(passthru_cases));
  tcase_add_test(t, passthru_ctr_argv);
  suite_add_tcase(s, t);
  return s;
}
