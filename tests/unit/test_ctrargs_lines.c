/* ctr's command lines per line of ctr: the flags 1.7 and 2.x added or
 * removed, 2.x parsing nothing after the first positional, 1.7 leaving
 * containers create as it is, flags ctrx does not know, and a ctr whose
 * version is unknown. test_ctrargs.c has 1.6's in detail. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctrargs.h"
#include "util.h"

Suite *ctrargs_lines_suite(void);

#define L16 CTRARGS_1_6
#define L17 CTRARGS_1_7
#define L2 CTRARGS_2
#define ANY CTRARGS_ANY

#define NGINX "docker.io/library/nginx:latest"
#define BUSYBOX "docker.io/library/busybox:latest"
#define A "docker.io/library/a:latest"
#define B "docker.io/library/b:latest"

/* want: NULL for unchanged; ERROR for a failure naming `names` */
static const char error_marker[] = "error";
#define ERROR error_marker

static const struct {
  unsigned lines;
  const char *in;
  const char *want;
  const char *names; /* for ERROR: what the message must name */
} cases[] = {
    /* --local: 1.7's (true by default) and 2.x's, a boolean on both */
    {L17, "images pull --local busybox", "images pull --local " BUSYBOX, NULL},
    {L17, "images pull --local=false busybox", "images pull --local=false " BUSYBOX, NULL},
    {L17, "images pull busybox --local", "images pull " BUSYBOX " --local", NULL},
    {L2, "images pull --local busybox:latest", "images pull --local " BUSYBOX, NULL},
    {L2, "images pull -local busybox", "images pull -local " BUSYBOX, NULL},
    {L2, "images push --local x y",
     "images push --local docker.io/library/x:latest docker.io/library/y:latest", NULL},
    {L2, "images tag --local a b", "images tag --local " A " " B, NULL},
    {L2, "images export --local out.tar a", "images export --local out.tar " A, NULL},
    /* 2.x's other pull flags: --skip-metadata (for 1.x's --all-metadata), --sync-fs */
    {L2, "images pull --skip-metadata busybox", "images pull --skip-metadata " BUSYBOX, NULL},
    {L2, "images pull --sync-fs busybox", "images pull --sync-fs " BUSYBOX, NULL},
    {L2, "i pull --local --skip-metadata --platform linux/amd64 --label a=b busybox",
     "i pull --local --skip-metadata --platform linux/amd64 --label a=b " BUSYBOX, NULL},
    {L2, "content fetch --skip-metadata nginx", "content fetch --skip-metadata " NGINX, NULL},
    {L2, "images mount --sync-fs nginx mnt", "images mount --sync-fs " NGINX " mnt", NULL},
    {L2, "images tag --skip-reference-check a b", "images tag --skip-reference-check " A " " B,
     NULL},
    /* 2.x: images inspect, alias i, so "i i IMAGE" */
    {L2, "images inspect nginx", "images inspect " NGINX, NULL},
    {L2, "i i --content nginx", "i i --content " NGINX, NULL},
    {L17, "i i nginx", NULL, NULL},
    /* 1.7 and 2.x: images usage */
    {L17, "images usage --snapshotter native nginx", "images usage --snapshotter native " NGINX,
     NULL},
    {L2, "images usage nginx", "images usage " NGINX, NULL},
    /* containers create and run: 1.7's and 2.x's value flags */
    {L17, "c create --hostname h nginx c1", "c create --hostname h " NGINX " c1", NULL},
    {L17, "c create --user 1:1 nginx c1", "c create --user 1:1 " NGINX " c1", NULL},
    {L17, "c create -u 1:1 nginx c1", "c create -u 1:1 " NGINX " c1", NULL},
    {L2, "c create --sandbox s nginx c1", "c create --sandbox s " NGINX " c1", NULL},
    {L2, "c create --blockio-config-file f --blockio-class c nginx c1",
     "c create --blockio-config-file f --blockio-class c " NGINX " c1", NULL},
    {L2, "c create --runc-binary /bin/runc --runc-root /r --runc-systemd-cgroup nginx c1",
     "c create --runc-binary /bin/runc --runc-root /r --runc-systemd-cgroup " NGINX " c1", NULL},
    {L2, "run --cpuset-cpus 0 --cpuset-mems 0 nginx id",
     "run --cpuset-cpus 0 --cpuset-mems 0 " NGINX " id", NULL},
    {L2, "run --sync-fs --privileged-without-host-devices --privileged nginx id",
     "run --sync-fs --privileged-without-host-devices --privileged " NGINX " id", NULL},
    {L2, "run --hostname h --user 0 --rm nginx id", "run --hostname h --user 0 --rm " NGINX " id",
     NULL},
    {L17, "run --privileged-without-host-devices --privileged nginx id",
     "run --privileged-without-host-devices --privileged " NGINX " id", NULL},
    /* on 1.6, 2.x's value flag before the image: "0" or nginx, ctrx cannot tell */
    {L16, "run --cpuset-cpus 0 nginx id", ERROR, "--cpuset-cpus"},
    {L17, "c create --runc-root /r nginx c1", ERROR, "--runc-root"},
    /* reordering: 1.6 and 1.7 move flags ahead (and the word after a
     * boolean); 1.7 leaves containers create alone; 2.x moves nothing */
    {L16, "c create nginx --tty c1", "c create nginx --tty docker.io/library/c1:latest", NULL},
    {L17, "c create nginx --tty c1", "c create " NGINX " --tty c1", NULL},
    {L2, "c create nginx --tty c1", "c create " NGINX " --tty c1", NULL},
    {L17, "images tag a --force b", "images tag " A " --force " B, NULL},
    {L2, "images tag a --force b", "images tag " A " --force " B, NULL},
    {L17, "images export out.tar a --all-platforms b",
     "images export docker.io/library/out.tar:latest " A " --all-platforms b", NULL},
    {L2, "images export out.tar a --all-platforms b",
     "images export out.tar " A " --all-platforms " B, NULL},
    {L2, "images pull busybox --platform linux/arm64",
     "images pull " BUSYBOX " --platform linux/arm64", NULL},
    {L2, "images mount nginx --rw t", "images mount " NGINX " --rw t", NULL},
    /* 2.x: "--" ends the flags, as everywhere */
    {L2, "images pull -- busybox", "images pull -- " BUSYBOX, NULL},
    /* a flag a line does not have: ctr refuses it, whichever way it reads */
    {L2, "images pull --all-metadata busybox", "images pull --all-metadata " BUSYBOX, NULL},
    {L16, "images pull --local busybox", "images pull --local " BUSYBOX, NULL},
    /* flags ctrx does not know: names are expanded when every reading agrees */
    {L2, "images pull --new=x busybox", "images pull --new=x " BUSYBOX, NULL},
    {L2, "images tag --new a b", "images tag --new " A " " B, NULL},
    {L2, "images tag a b --new", "images tag " A " " B " --new", NULL},
    {L17, "images pull --new busybox", "images pull --new " BUSYBOX, NULL},
    /* and fail, naming the flag, when they do not */
    {L2, "images tag --new a b c", ERROR, "--new"},
    {L2, "images rm --new a b", ERROR, "--new"},
    {L2, "images rm --new docker.io/library/a:1 b:1", ERROR, "docker.io/library/b:1"},
    {L16, "images tag a b --new", ERROR, "--new"},
    {L2, "run --new=1 --new2 x nginx id", ERROR, "--new2"},
    /* unless the words in question stay as they are */
    {L2, "images rm --new docker.io/library/a:1 docker.io/library/b:1", NULL, NULL},
    {L2, "images rm --new docker.io/library/a:1 Bad", NULL, NULL},
    /* a ctr of unknown version: what all lines agree on */
    {ANY, "images pull busybox", "images pull " BUSYBOX, NULL},
    {ANY, "images pull --local busybox", "images pull --local " BUSYBOX, NULL},
    {ANY, "run --rm -t busybox id sh", "run --rm -t " BUSYBOX " id sh", NULL},
    {ANY, "images tag a --force b", ERROR, "version"},
    {ANY, "c create nginx --tty c1", ERROR, "version"},
    {ANY, "tasks ls", NULL, NULL},
};

static void
split_words(const char *s, struct strv *out)
{
  while (*s) {
    size_t n = strcspn(s, " ");
    strv_push_owned(out, xstrndup(s, n));
    s += n;
    if (*s == ' ')
      s++;
  }
}

START_TEST(test_line)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_buf struct buf got = BUF_INIT;
  struct error *err = NULL;
  int rv;

  split_words(cases[_i].in, &args);
  rv = ctrargs_expand_refs(cases[_i].lines, &args, &err);
  if (cases[_i].want == ERROR) {
    ck_assert_msg(rv == -1 && err != NULL, "%s: no error", cases[_i].in);
    ck_assert_msg(strstr(err->msg, cases[_i].names) != NULL, "%s", err->msg);
    error_free(err);
    return;
  }
  ck_assert_msg(rv == 0, "%s: %s", cases[_i].in, err ? err->msg : "");
  for (size_t i = 0; i < args.n; i++)
    buf_addf(&got, "%s%s", i ? " " : "", args.v[i]);
  ck_assert_str_eq(got.data ? got.data : "", cases[_i].want ? cases[_i].want : cases[_i].in);
}
END_TEST

/* The error says what to do, and names the line. */
START_TEST(test_error_text)
{
  cleanup_strv struct strv args = STRV_INIT;
  struct error *err = NULL;

  split_words("images tag --new a b c", &args);
  ck_assert_int_eq(ctrargs_expand_refs(L2, &args, &err), -1);
  ck_assert_str_eq(err->msg, "images tag: which word is an image depends on --new, a flag ctrx "
                             "does not know for ctr 2.x: give the image as " A
                             ", write the flag as --new=VALUE, or use --no-expand");
  error_free(err);
}
END_TEST

static const struct {
  const char *version;
  unsigned line;
} versions[] = {
    {"ctr github.com/containerd/containerd 1.6.20~ds1\n", L16},
    {"ctr github.com/containerd/containerd v1.5.9", L16},
    {"ctr github.com/containerd/containerd 1.7.29\n", L17},
    {"ctr containerd.io 1.7.27", L17},
    {"ctr github.com/containerd/containerd/v2 2.1.5\n", L2},
    {"ctr github.com/containerd/containerd/v2 v2.0.0-rc.1", L2},
    {"ctr github.com/containerd/containerd 3.0.0", L2},
    {"1.7.0", L17},
    {"ctr 1.6.20\nctr 2.1.5\n", L16},
    {"", ANY},
    {"\n", ANY},
    {"[--version]", ANY},
    {"ctr version unknown", ANY},
    {"ctr 1.", ANY},
    {"ctr .7", ANY},
    {"ctr 0.9.1", ANY},
    {"ctr 99999999999999999999999.1", ANY},
};

START_TEST(test_version)
{
  ck_assert_msg(ctrargs_line_of_version(versions[_i].version) == versions[_i].line, "\"%s\"",
                versions[_i].version);
}
END_TEST

/* Only commands that take images need the line. */
START_TEST(test_takes_images)
{
  static const struct {
    const char *in;
    bool takes;
  } t[] = {
      {"images pull x", true}, {"i i x", true},      {"run x id", true}, {"c create x id", true},
      {"tasks ls", false},     {"images ls", false}, {"", false},        {"content ls", false},
  };

  for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
    cleanup_strv struct strv args = STRV_INIT;
    split_words(t[i].in, &args);
    ck_assert_msg(ctrargs_takes_images(&args) == t[i].takes, "%s", t[i].in);
  }
}
END_TEST

/* The value of a flag as each line reads it. */
START_TEST(test_flag_value_per_line)
{
  cleanup_strv struct strv a = STRV_INIT;
  cleanup_strv struct strv b = STRV_INIT;

  split_words("images pull busybox --snapshotter native", &a);
  ck_assert_str_eq(ctrargs_flag_value(L17, &a, "snapshotter"), "native");
  ck_assert_ptr_null(ctrargs_flag_value(L2, &a, "snapshotter"));
  split_words("run --cpuset-cpus 0 --snapshotter native nginx id", &b);
  ck_assert_str_eq(ctrargs_flag_value(L2, &b, "snapshotter"), "native");
  ck_assert_str_eq(ctrargs_first_ref(L2, &b), "nginx");
  ck_assert_ptr_null(ctrargs_flag_value(L16, &b, "snapshotter"));
  ck_assert_ptr_null(ctrargs_first_ref(L16, &b));
}
END_TEST

Suite *
ctrargs_lines_suite(void)
{
  Suite *s = suite_create("ctrargs_lines");
  TCase *tc = tcase_create("lines");

  tcase_add_loop_test(tc, test_line, 0, ARRAY_SIZE(cases));
  tcase_add_test(tc, test_error_text);
  tcase_add_loop_test(tc, test_version, 0, ARRAY_SIZE(versions));
  tcase_add_test(tc, test_takes_images);
  tcase_add_test(tc, test_flag_value_per_line);
  suite_add_tcase(s, tc);
  return s;
}
