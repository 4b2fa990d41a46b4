/* The documentation that ships with ctrx: `make install` puts the binary, the
 * man page and the bash completion in place; the man page renders without
 * warnings and names every flag the --help texts mention (so it cannot fall
 * behind them silently); the bash completion loads and completes commands,
 * flags, and namespaces and images from a live containerd; the zsh one loads.
 * groff, man and zsh are required: a machine without them fails here. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "e2e.h"
#include "util.h"

/* Every shell command runs at the top of the repository: the directory of
 * the binary under test (./ctrx), or the nearest one above it (build-san/ctrx
 * of a sanitized build). */
#define AT_TOP                                                                                     \
  "t=$(dirname \"$CTRX\"); while [ ! -f \"$t/man/ctrx.1\" ] && [ \"$t\" != / ]; do "               \
  "t=$(dirname \"$t\"); done; cd \"$t\" && "

/* TOOL is on PATH; fails the test when it is not. make check installs every
 * tool these tests use (the Makefile's DEB_TESTBED), so a missing one is a
 * broken test machine, not a reason to pass without checking. */
static void
need(const char *tool)
{
  cleanup_e2e_out struct e2e_out o = {0};
  ck_assert_msg(e2e_sh(&o, NULL, "command -v %s >/dev/null 2>&1", tool) == 0,
                "%s is not installed (make deps installs it)", tool);
}

START_TEST(install_puts_everything_in_place)
{
  cleanup_e2e_out struct e2e_out o = {0};
  static const char *const files[] = {
      "bin/ctrx",
      "share/man/man1/ctrx.1",
      "share/bash-completion/completions/ctrx",
      "share/zsh/vendor-completions/_ctrx",
  };

  /* A make of its own (not the flags of a `make check` above it), and -o ctrx:
   * install ./ctrx as it is, never rebuild it, when it is there. */
  e2e_sh(&o, NULL,
         AT_TOP "p=$(mktemp -d /tmp/ctrx-docs-install.XXXXXX) && o= && { [ ! -x ctrx ] || "
                "o='-o ctrx'; } && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u SANITIZE "
                "make -s $o install PREFIX=\"$p\" >&2 && "
                "cmp ctrx \"$p/bin/ctrx\" && cmp man/ctrx.1 \"$p/share/man/man1/ctrx.1\" && "
                "cmp completion/ctrx.bash \"$p/share/bash-completion/completions/ctrx\" && "
                "cmp completion/_ctrx \"$p/share/zsh/vendor-completions/_ctrx\" && "
                "test -x \"$p/bin/ctrx\" && \"$p/bin/ctrx\" --version && "
                "(cd \"$p\" && find . -type f | sort); rc=$?; rm -rf \"$p\"; exit $rc");
  ck_assert_msg(o.status == 0, "make install: status %d\n%.1000s%.2000s", o.status, o.out, o.err);
  ck_assert_msg(strstr(o.out, "ctrx version ") != NULL, "installed ctrx --version: %.2000s", o.out);
  for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
    cleanup_free char *line = xasprintf("./%s\n", files[i]);
    ck_assert_msg(strstr(o.out, line) != NULL, "make install did not install %s:\n%.2000s",
                  files[i], o.out);
  }
}
END_TEST

/* WHAT (the shell command CMD) renders man/ctrx.1 without a warning. */
static void
renders_cleanly(const char *what, const char *cmd)
{
  cleanup_e2e_out struct e2e_out o = {0};

  e2e_sh(&o, NULL, AT_TOP "%s", cmd);
  ck_assert_msg(o.status == 0, "%s: status %d: %s", what, o.status, o.err);
  ck_assert_msg(o.err[0] == '\0', "%s warns:\n%.2000s", what, o.err);
  ck_assert_msg(strstr(o.out, "ctrx - containerd's ctr") != NULL, "%s output has no NAME:\n%.2000s",
                what, o.out);
}

START_TEST(man_page_renders_cleanly)
{
  need("groff");
  need("man");
  renders_cleanly("groff", "groff -ww -man -Tutf8 man/ctrx.1");
  renders_cleanly("man -l", "MANWIDTH=80 man --warnings -l man/ctrx.1");
}
END_TEST

/* The man page's source as text: "\-" is "-", font changes are dropped. */
static char *
man_text(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  char *s, *w;

  ck_assert_int_eq(e2e_sh(&o, NULL, AT_TOP "cat man/ctrx.1"), 0);
  s = w = xstrdup(o.out);
  for (const char *r = o.out; *r;) {
    if (r[0] == '\\' && r[1] == '-') {
      *w++ = '-';
      r += 2;
    } else if (r[0] == '\\' && r[1] == 'f' && r[2] != '\0') {
      r += 3;
    } else if (r[0] == '\\' && r[1] == '&') {
      r += 2;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
  return s;
}

static bool
flag_char(char c)
{
  return islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-';
}

/* flag (such as "--dry-run" or "-q") stands as a word of its own in text */
static bool
mentions(const char *text, const char *flag)
{
  size_t n = strlen(flag);

  for (const char *p = strstr(text, flag); p; p = strstr(p + 1, flag)) {
    bool start = p == text || !(flag_char(p[-1]) || isalpha((unsigned char)p[-1]));
    if (start && !flag_char(p[n]))
      return true;
  }
  return false;
}

/* The flags a help text mentions: words starting with - or -- followed by a
 * letter, at the start of a word ("-n, --namespace NS", "[--ca FILE]"). */
static void
help_flags(const char *help, struct strv *out)
{
  for (const char *p = help; *p; p++) {
    const char *q = p;
    if (*p != '-' || (p > help && !strchr(" \t\n[(,|'", p[-1])))
      continue;
    q++;
    if (*q == '-')
      q++;
    if (!islower((unsigned char)*q))
      continue;
    while (flag_char(*q))
      q++;
    if (*q == '\0' || strchr(" \t\n],=)|'", *q)) {
      cleanup_free char *f = xstrndup(p, (size_t)(q - p));
      if (!strv_contains(out, f))
        strv_push(out, f);
    }
    p = q - 1;
  }
}

/* The i-th help command line: "--help", then every row of the command table
 * and of its sub-tables ("images pull --help"), as ctrx dispatches them.
 * Returns how many there are; *out (when i is one of them) is allocated. */
static int
help_cmd(int i, char **out)
{
  int n = 0;

  if (n++ == i)
    *out = xstrdup("--help");
  for (const struct cmd *c = cmd_table; c->name; c++) {
    if (n++ == i)
      *out = xasprintf("%s --help", c->name);
    for (const struct cmd *s = c->sub; s && s->name; s++)
      if (n++ == i)
        *out = xasprintf("%s %s --help", c->name, s->name);
  }
  return n;
}

START_TEST(man_page_names_every_flag_of_the_help)
{
  cleanup_free char *man = man_text();
  cleanup_e2e_out struct e2e_out o = {0};
  cleanup_strv struct strv flags = STRV_INIT;
  cleanup_buf struct buf missing = BUF_INIT;
  cleanup_free char *cmd = NULL;

  help_cmd(_i, &cmd);
  ck_assert_msg(e2e_sh(&o, NULL, "$CTRX %s", cmd) == 0, "ctrx %s: %s", cmd, o.err);
  help_flags(o.out, &flags);
  if (strcmp(cmd, "--help") == 0)
    ck_assert_msg(flags.n >= 9, "ctrx --help names only %zu flags:\n%.2000s", flags.n, o.out);
  for (size_t i = 0; i < flags.n; i++)
    if (!mentions(man, flags.v[i]))
      buf_addf(&missing, " %s", flags.v[i]);
  buf_add(&missing, "", 1);
  ck_assert_msg(missing.len == 1, "'ctrx %s' mentions flags that man/ctrx.1 does not:%s", cmd,
                missing.data);
}
END_TEST

/* Each command that 'ctrx --help' lists as run by ctrx has its own section. */
START_TEST(man_page_has_every_native_command)
{
  cleanup_free char *man = man_text();
  cleanup_strv struct strv cmds = STRV_INIT;

  e2e_native_commands(&cmds);
  for (size_t i = 0; i < cmds.n; i++) {
    const char *name = cmds.v[i];
    /* images: only its pull is ctrx's, in the section "pull, images pull" */
    cleanup_free char *ss =
        xasprintf("\n.SS %s%s\n", name, strcmp(name, "images") == 0 ? " pull" : "");
    cleanup_free char *ss_q = xasprintf("\n.SS \"%s", name);
    cleanup_free char *ss_alias =
        xasprintf(", %s%s\"\n", name, strcmp(name, "images") == 0 ? " pull" : "");
    ck_assert_msg(strstr(man, ss) || strstr(man, ss_q) || strstr(man, ss_alias),
                  "man/ctrx.1 has no section for the command %s", name);
  }
  ck_assert_msg(cmds.n >= 5, "only %zu native commands found in ctrx --help", cmds.n);
}
END_TEST

/* The completions bash would offer for the line typed so far, one a line. */
static void
complete(struct e2e_out *o, const char *line)
{
  e2e_sh(o, NULL,
         AT_TOP "exec bash --norc --noprofile -c 'source completion/ctrx.bash || exit 9; "
                "PATH=$(pwd):$PATH; COMP_LINE=\"$1\"; COMP_POINT=${#COMP_LINE}; _ctrx; "
                "printf \"%%s\\n\" \"${COMPREPLY[@]}\"' bash '%s'",
         line);
  ck_assert_msg(o->status == 0, "completing '%s': status %d: %s", line, o->status, o->err);
}

START_TEST(bash_completion_loads)
{
  cleanup_e2e_out struct e2e_out o = {0};

  e2e_sh(&o, NULL,
         AT_TOP "bash --norc --noprofile -c 'source completion/ctrx.bash && complete -p ctrx'");
  ck_assert_msg(o.status == 0, "complete -p ctrx: status %d: %s", o.status, o.err);
  ck_assert_msg(strstr(o.out, "complete -F _ctrx ctrx") != NULL, "%.2000s", o.out);
  ck_assert_msg(o.err[0] == '\0', "sourcing the completion said: %s", o.err);
}
END_TEST

/* zsh: the file parses and compinit picks it up. */
START_TEST(zsh_completion_loads)
{
  cleanup_e2e_out struct e2e_out o = {0};

  need("zsh");
  e2e_sh(&o, NULL,
         AT_TOP "zsh -n completion/_ctrx && d=$(mktemp -d) && zsh -fc 'fpath=(completion $fpath); "
                "autoload -U compinit; compinit -u -d '\"$d/zcd\"'; print -r -- $_comps[ctrx]'; "
                "rc=$?; rm -rf \"$d\"; exit $rc");
  ck_assert_msg(o.status == 0 && strcmp(o.out, "_ctrx\n") == 0, "%d: %s%s", o.status, o.out, o.err);
}
END_TEST

START_TEST(bash_completion_commands_and_flags)
{
  static const struct {
    const char *line;
    const char *want; /* each of these, "\n"-separated, must be offered */
  } cases[] = {
      {"ctrx ", "pull\nrun\nref\nhosts\nversion\nimages\ncontainers\ntasks\nnamespaces\n"},
      {"ctrx --", "--address\n--namespace\n--k8s\n--hosts-dir\n--timeout\n--connect-timeout\n"},
      {"ctrx images ", "pull\nls\nrm\ntag\n"},
      {"ctrx hosts ", "add\n"},
      {"ctrx pull --", "--dry-run\n--platform\n--max-concurrent-downloads\n--quiet\n"},
      {"ctrx i pull --pl", "--platform\n--plain-http\n"},
      {"ctrx run --", "--rm\n--detach\n--net-host\n--env-file\n--mount\n--null-io\n"},
      {"ctrx ref --", "--familiar\n"},
      {"ctrx hosts add docker.io https://m --", "--capabilities\n--ca\n--skip-verify\n"},
      {"ctrx hosts add docker.io https://m --capabilities pull,", "pull,resolve\n"},
      {"ctrx --hosts-dir /et", "/etc\n"},
  };

  for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
    cleanup_e2e_out struct e2e_out o = {0};
    complete(&o, cases[i].line);
    for (const char *w = cases[i].want; *w;) {
      size_t len = strcspn(w, "\n");
      cleanup_free char *line = xasprintf("%.*s\n", (int)len, w);
      ck_assert_msg(strstr(o.out, line) != NULL,
                    "'%s<TAB>' does not offer %.*s; it offers:\n%.2000s", cases[i].line, (int)len,
                    w, o.out);
      w += len + (w[len] == '\n');
    }
  }
}
END_TEST

START_TEST(bash_completion_asks_the_daemon)
{
  cleanup_free char *ns = e2e_namespace("docs");
  cleanup_e2e_out struct e2e_out s = {0}, n = {0}, i = {0}, dead = {0};
  cleanup_free char *line = NULL;
  cleanup_free char *want = NULL;
  const char *reg = e2e_env("CTRX_TEST_REGISTRY");

  ck_assert_msg(e2e_sh(&s, NULL,
                       "$CTR -a \"$ADDR\" -n %s images pull --plain-http $REG/test/busybox:oci "
                       ">/dev/null",
                       ns) == 0,
                "setup: %s", s.err);

  line = xasprintf("ctrx -a %s -n ", e2e_env("CTRX_TEST_ADDRESS"));
  complete(&n, line);
  want = xasprintf("%s\n", ns);
  ck_assert_msg(strstr(n.out, want) != NULL, "'%s<TAB>' does not offer %s; it offers:\n%.2000s",
                line, ns, n.out);

  free(line);
  free(want);
  line = xasprintf("ctrx -a %s -n %s images rm ", e2e_env("CTRX_TEST_ADDRESS"), ns);
  complete(&i, line);
  want = xasprintf("%s/test/busybox:oci\n", reg);
  ck_assert_msg(strstr(i.out, want) != NULL, "'%s<TAB>' does not offer %s; it offers:\n%.2000s",
                line, want, i.out);

  /* no daemon: nothing offered, nothing said, no wait */
  complete(&dead, "ctrx -a /nonexistent/containerd.sock -n ");
  ck_assert_str_eq(dead.out, "\n");
  ck_assert_str_eq(dead.err, "");

  e2e_clean_namespace(ns);
  e2e_sh(&s, NULL, "$CTR -a \"$ADDR\" namespaces rm %s >/dev/null 2>&1", ns);
}
END_TEST

Suite *
docs_suite(void)
{
  Suite *s = suite_create("docs");
  TCase *inst = tcase_create("install");
  TCase *man = tcase_create("man");
  TCase *comp = tcase_create("completion");

  tcase_set_timeout(inst, 120);
  tcase_add_test(inst, install_puts_everything_in_place);
  suite_add_tcase(s, inst);

  tcase_set_timeout(man, 60);
  tcase_add_test(man, man_page_renders_cleanly);
  tcase_add_loop_test(man, man_page_names_every_flag_of_the_help, 0, help_cmd(-1, NULL));
  tcase_add_test(man, man_page_has_every_native_command);
  suite_add_tcase(s, man);

  tcase_set_timeout(comp, 60);
  tcase_add_test(comp, bash_completion_loads);
  tcase_add_test(comp, zsh_completion_loads);
  tcase_add_test(comp, bash_completion_commands_and_flags);
  tcase_add_test(comp, bash_completion_asks_the_daemon);
  suite_add_tcase(s, comp);
  return s;
}
