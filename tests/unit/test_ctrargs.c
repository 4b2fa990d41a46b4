/* ctr's command lines: which words are image references, as ctr 1.6 reads
 * them (flags moved ahead of positionals by urfave/cli, except for run).
 * test_ctrargs_lines.c has what 1.7 and 2.x read differently. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctrargs.h"
#include "util.h"

Suite *ctrargs_suite(void);

/* Words are separated by single spaces; "" is no word at all. */
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

static char *
join_words(const struct strv *v)
{
  struct buf b = BUF_INIT;

  buf_addstr(&b, "");
  for (size_t i = 0; i < v->n; i++) {
    if (i > 0)
      buf_addstr(&b, " ");
    buf_addstr(&b, v->v[i]);
  }
  return buf_steal(&b);
}

#define NGINX "docker.io/library/nginx:latest"
#define BUSYBOX "docker.io/library/busybox:latest"

static const struct {
  const char *in;
  const char *want; /* NULL: unchanged */
} expand_cases[] = {
    /* images pull and its flags */
    {"images pull nginx", "images pull " NGINX},
    {"image pull nginx", "image pull " NGINX},
    {"i pull --platform linux/amd64 nginx", "i pull --platform linux/amd64 " NGINX},
    {"images pull --platform=linux/amd64 nginx", "images pull --platform=linux/amd64 " NGINX},
    {"images pull -platform linux/amd64 nginx", "images pull -platform linux/amd64 " NGINX},
    {"images pull -k nginx", "images pull -k " NGINX},
    {"images pull --skip-verify --plain-http nginx",
     "images pull --skip-verify --plain-http " NGINX},
    {"images pull -u user:pw nginx", "images pull -u user:pw " NGINX},
    {"images pull --user user:pw --hosts-dir d nginx",
     "images pull --user user:pw --hosts-dir d " NGINX},
    {"images pull --label a=b --snapshotter native nginx",
     "images pull --label a=b --snapshotter native " NGINX},
    {"images pull --max-concurrent-downloads 3 nginx",
     "images pull --max-concurrent-downloads 3 " NGINX},
    {"images pull --all-platforms nginx", "images pull --all-platforms " NGINX},
    {"images pull --all-platforms=false --print-chainid nginx",
     "images pull --all-platforms=false --print-chainid " NGINX},
    {"images pull --tlscacert ca.pem --tlscert c.pem --tlskey k.pem nginx",
     "images pull --tlscacert ca.pem --tlscert c.pem --tlskey k.pem " NGINX},
    {"images pull localhost:5000/app", "images pull localhost:5000/app:latest"},
    {"images pull nginx busybox", "images pull " NGINX " busybox"},
    {"images pull docker.io/library/nginx:latest", NULL},
    {"images pull -h nginx", "images pull -h " NGINX},
    /* flags after the reference are moved ahead of it by ctr */
    {"images pull nginx --platform linux/arm64", "images pull " NGINX " --platform linux/arm64"},
    {"images pull nginx --platform=linux/arm64", "images pull " NGINX " --platform=linux/arm64"},
    /* and the word after a boolean with them: ctr pulls refb */
    {"images pull refa -k refb", "images pull refa -k docker.io/library/refb:latest"},
    {"images pull refa -k=true refb", "images pull docker.io/library/refa:latest -k=true refb"},
    /* "--" ends the flags; after a value flag it is that flag's value */
    {"images pull -- nginx", "images pull -- " NGINX},
    {"images pull --platform -- nginx", "images pull --platform -- " NGINX},
    {"images pull -- -nginx", NULL},
    /* a flag ctrx does not know: the image is nginx whether it is a boolean
     * or takes a value (then ctr refuses a pull with no reference) */
    {"images pull --bogus nginx", "images pull --bogus " NGINX},
    /* command lines ctr refuses, and names that do not normalize */
    {"images pull ---platform x nginx", NULL},
    {"images pull --platform", NULL},
    {"images pull --all-platforms=maybe nginx", NULL},
    {"images pull Nginx", NULL},
    {"images pull - nginx", NULL},
    {"images pull", NULL},
    {"images", NULL},
    {"", NULL},
    /* push REMOTE [LOCAL] */
    {"images push reg/img:1", "images push docker.io/reg/img:1"},
    {"images push example.com/x:1 nginx", "images push example.com/x:1 " NGINX},
    {"images push x y z", "images push docker.io/library/x:latest docker.io/library/y:latest z"},
    {"images push --manifest sha256:abc --manifest-type t example.com/x",
     "images push --manifest sha256:abc --manifest-type t example.com/x:latest"},
    {"images push --plain-http x y",
     "images push --plain-http docker.io/library/x:latest docker.io/library/y:latest"},
    /* delete: every positional */
    {"images rm nginx busybox:1 docker.io/library/alpine:3",
     "images rm " NGINX " docker.io/library/busybox:1 docker.io/library/alpine:3"},
    {"images del --sync nginx", "images del --sync " NGINX},
    {"images remove nginx", "images remove " NGINX},
    {"images delete nginx --sync busybox", "images delete " NGINX " --sync " BUSYBOX},
    /* tag SOURCE TARGET... */
    {"images tag nginx:alpine registry.example.com/x:1",
     "images tag docker.io/library/nginx:alpine registry.example.com/x:1"},
    {"images tag nginx nginx:2 nginx:3",
     "images tag " NGINX " docker.io/library/nginx:2 docker.io/library/nginx:3"},
    {"images tag --force a b",
     "images tag --force docker.io/library/a:latest docker.io/library/b:latest"},
    {"images tag a --force b",
     "images tag docker.io/library/a:latest --force docker.io/library/b:latest"},
    {"images tag a -- b", "images tag docker.io/library/a:latest -- docker.io/library/b:latest"},
    {"images tag -- -a b", "images tag -- -a docker.io/library/b:latest"},
    /* export OUT IMAGE... */
    {"images export out.tar nginx busybox", "images export out.tar " NGINX " " BUSYBOX},
    {"images export --platform linux/amd64 out.tar nginx",
     "images export --platform linux/amd64 out.tar " NGINX},
    {"images export --all-platforms --skip-manifest-json out.tar nginx",
     "images export --all-platforms --skip-manifest-json out.tar " NGINX},
    {"images export out.tar", NULL},
    /* ctr moves "b" (the word after a boolean) first: b is the file, and
     * out.tar and a are the images */
    {"images export out.tar a --all-platforms b",
     "images export docker.io/library/out.tar:latest docker.io/library/a:latest --all-platforms b"},
    /* mount REF TARGET; unmount TARGET */
    {"images mount nginx /mnt", "images mount " NGINX " /mnt"},
    {"images mount nginx mnt", "images mount " NGINX " mnt"},
    {"images mount --rw --platform linux/amd64 nginx mnt",
     "images mount --rw --platform linux/amd64 " NGINX " mnt"},
    {"images mount nginx --rw t", "images mount nginx --rw docker.io/library/t:latest"},
    {"images unmount mnt", NULL},
    {"images unmount --rm mnt", NULL},
    /* check and list take filters, not references */
    {"images check nginx", NULL},
    {"images check name==nginx", NULL},
    {"images ls -q", NULL},
    {"images list nginx", NULL},
    {"images import --base-name foo/bar foobar.tar", NULL},
    /* label REF [KEY=VALUE...] */
    {"images label nginx foo=bar", "images label " NGINX " foo=bar"},
    {"images label -r nginx a=b", "images label -r " NGINX " a=b"},
    {"images label nginx a", "images label " NGINX " a"},
    /* convert SOURCE TARGET */
    {"images convert --oci nginx example.com/nginx:oci",
     "images convert --oci " NGINX " example.com/nginx:oci"},
    {"images convert --uncompress --platform linux/amd64 a b",
     "images convert --uncompress --platform linux/amd64 docker.io/library/a:latest "
     "docker.io/library/b:latest"},
    /* usage and inspect are not 1.6's: "No help topic" */
    {"images usage nginx", NULL},
    {"images inspect nginx", NULL},
    {"i i nginx", NULL},
    /* content fetch REF [OBJECT] */
    {"content fetch nginx", "content fetch " NGINX},
    {"content fetch nginx obj", "content fetch " NGINX " obj"},
    {"content fetch --all-metadata --platform linux/amd64 nginx",
     "content fetch --all-metadata --platform linux/amd64 " NGINX},
    {"content fetch --metadata-only -k --user u nginx",
     "content fetch --metadata-only -k --user u " NGINX},
    {"content ls", NULL},
    {"content get nginx", NULL},
    {"content fetch-object nginx", NULL},
    /* containers create IMAGE ID */
    {"containers create nginx c1", "containers create " NGINX " c1"},
    {"c create --env A=b -t nginx c1", "c create --env A=b -t " NGINX " c1"},
    {"container create --snapshotter native --label a=b nginx c1 sh",
     "container create --snapshotter native --label a=b " NGINX " c1 sh"},
    {"containers create nginx c1 --label a=b", "containers create " NGINX " c1 --label a=b"},
    {"c create --tty nginx c1", "c create --tty " NGINX " c1"},
    /* ctr moves c1 ahead of nginx: c1 is the image */
    {"c create nginx --tty c1", "c create nginx --tty docker.io/library/c1:latest"},
    {"c create --rootfs rootfs c1", NULL},
    {"c create --config spec.json c1", NULL},
    {"c create -c spec.json c1", NULL},
    {"containers delete nginx", NULL},
    {"containers ls", NULL},
    /* run IMAGE ID [COMMAND [ARG...]]: no reordering */
    {"run --rm -t --env A=b busybox t1 sh", "run --rm -t --env A=b " BUSYBOX " t1 sh"},
    {"run busybox t1", "run " BUSYBOX " t1"},
    {"run nginx id --rm", "run " NGINX " id --rm"},
    {"run --rm nginx id sh -c ls", "run --rm " NGINX " id sh -c ls"},
    {"run -d --net-host --privileged nginx id", "run -d --net-host --privileged " NGINX " id"},
    {"run --mount type=bind,src=/,dst=/h --label x=y --cpus 1.5 nginx id",
     "run --mount type=bind,src=/,dst=/h --label x=y --cpus 1.5 " NGINX " id"},
    {"run --uidmap 0:1000:1 --gidmap 0:1000:1 --remap-labels nginx id",
     "run --uidmap 0:1000:1 --gidmap 0:1000:1 --remap-labels " NGINX " id"},
    {"run -- nginx id", "run -- " NGINX " id"},
    {"run --rootfs rootfs id", NULL},
    {"run --rootfs /srv/root id sh", NULL},
    {"run --rootfs=false nginx id", "run --rootfs=false " NGINX " id"},
    {"run --rootfs=true nginx id", NULL},
    {"run --config spec.json id", NULL},
    {"run -c=spec.json id", NULL},
    {"run --env", NULL},
    {"run --bogus nginx id", "run --bogus " NGINX " id"},
    {"run", NULL},
    /* commands and sub-commands with no image references */
    {"tasks start nginx", NULL},
    {"snapshots ls", NULL},
    {"images frobnicate nginx", NULL},
    {"foo bar nginx", NULL},
    {"pull nginx", NULL},
};

START_TEST(test_expand)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_free char *got = NULL;
  const char *want = expand_cases[_i].want ? expand_cases[_i].want : expand_cases[_i].in;
  struct error *err = NULL;

  split_words(expand_cases[_i].in, &args);
  ck_assert_int_eq(ctrargs_expand_refs(CTRARGS_1_6, &args, &err), 0);
  ck_assert_ptr_null(err);
  got = join_words(&args);
  ck_assert_str_eq(got, want);
  if (args.v != NULL)
    ck_assert_ptr_null(args.v[args.n]);
}
END_TEST

static const struct {
  const char *in;
  const char *ref; /* NULL: none */
} first_ref_cases[] = {
    {"images pull nginx", "nginx"},
    {"images pull nginx --platform linux/amd64", "nginx"},
    {"images pull --platform linux/amd64 nginx", "nginx"},
    {"images pull refa -k refb", "refb"},
    {"content fetch nginx obj", "nginx"},
    {"images export out.tar a b", "a"},
    {"images tag a --force b", "b"},
    {"run --rm busybox t1 sh", "busybox"},
    {"run --rootfs rootfs t1", NULL},
    {"images pull --bogus nginx", "nginx"},
    {"images tag --bogus a b c", NULL},
    {"images ls", NULL},
    {"images pull", NULL},
    {"", NULL},
};

START_TEST(test_first_ref)
{
  cleanup_strv struct strv args = STRV_INIT;
  const char *got;

  split_words(first_ref_cases[_i].in, &args);
  got = ctrargs_first_ref(CTRARGS_1_6, &args);
  if (first_ref_cases[_i].ref == NULL) {
    ck_assert_ptr_null(got);
  } else {
    ck_assert_ptr_nonnull(got);
    ck_assert_str_eq(got, first_ref_cases[_i].ref);
  }
}
END_TEST

static const struct {
  const char *in;
  bool pull;
} pull_cases[] = {
    {"images pull nginx", true},
    {"image pull", true},
    {"i pull --all-platforms x", true},
    {"content fetch nginx", true},
    {"images push x", false},
    {"pull nginx", false},
    {"content fetch-object x", false},
    {"images", false},
    {"", false},
    {"run nginx id", false},
    {"containers create x y", false},
};

START_TEST(test_is_pull)
{
  cleanup_strv struct strv args = STRV_INIT;

  split_words(pull_cases[_i].in, &args);
  ck_assert_int_eq(ctrargs_is_pull(&args), pull_cases[_i].pull);
}
END_TEST

static const struct {
  const char *in;
  size_t cmd_words;
  const char *flag, *value;
  int rv;
  const char *want;
} insert_cases[] = {
    {"images pull nginx", 2, "hosts-dir", "/etc/containerd/certs.d", 0,
     "images pull --hosts-dir /etc/containerd/certs.d nginx"},
    {"content fetch --platform linux/amd64 nginx", 2, "--hosts-dir", "d", 0,
     "content fetch --hosts-dir d --platform linux/amd64 nginx"},
    {"images pull nginx", 2, "plain-http", NULL, 0, "images pull --plain-http nginx"},
    {"images pull", 2, "hosts-dir", "d", 0, "images pull --hosts-dir d"},
    {"run nginx id", 1, "-rm", NULL, 0, "run -rm nginx id"},
    {"images", 2, "hosts-dir", "d", -1, "images"},
    {"images pull a b c d e f g h", 2, "hosts-dir", "d", 0,
     "images pull --hosts-dir d a b c d e f g h"},
};

START_TEST(test_insert_flag)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_free char *got = NULL;

  split_words(insert_cases[_i].in, &args);
  ck_assert_int_eq(ctrargs_insert_flag(&args, insert_cases[_i].cmd_words, insert_cases[_i].flag,
                                       insert_cases[_i].value),
                   insert_cases[_i].rv);
  got = join_words(&args);
  ck_assert_str_eq(got, insert_cases[_i].want);
  ck_assert_ptr_null(args.v[args.n]);
}
END_TEST

/* A pull with --hosts-dir added still has its reference found. */
/* Which references must name an image that exists: "E" for those, "N" for
 * new ones, in the order ctr reads them. */
static const struct {
  const char *in;
  const char *want;
} kind_cases[] = {
    {"images pull a", "N"},
    {"images push a", "N"},
    {"images push remote local", "NE"},
    {"images rm a b c", "EEE"},
    {"images tag src dst1 dst2", "ENN"},
    {"images tag --force src dst", "EN"},
    {"images export out.tar a b", "EE"},
    {"images mount a /mnt", "E"},
    {"images label a k=v", "E"},
    {"images convert --oci src dst", "EN"},
    {"images usage a", ""},
    {"content fetch a", "N"},
    {"containers create a id", "E"},
    {"c create --rootfs /dir id", ""},
    {"run --rm a id echo", "E"},
    {"run --config c.json id", ""},
    {"images import --base-name myapp app.tar", ""},
    {"images ls -q", ""},
};

START_TEST(test_ref_kinds)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_free struct ctrargs_ref *refs = NULL;
  char got[16] = "";
  int n;

  split_words(kind_cases[_i].in, &args);
  refs = xcalloc(args.n + 1, sizeof(*refs));
  n = ctrargs_refs(CTRARGS_1_6, &args, refs, NULL);
  ck_assert_int_ge(n, 0);
  ck_assert_int_lt(n, (int)sizeof(got));
  for (int i = 0; i < n; i++)
    got[i] = refs[i].existing ? 'E' : 'N';
  got[n] = '\0';
  ck_assert_msg(strcmp(got, kind_cases[_i].want) == 0, "%s: %s", kind_cases[_i].in, got);
}
END_TEST

START_TEST(test_insert_then_expand)
{
  cleanup_strv struct strv args = STRV_INIT;
  cleanup_free char *got = NULL;

  split_words("i pull --platform linux/amd64 nginx", &args);
  ck_assert(ctrargs_is_pull(&args));
  ck_assert_int_eq(ctrargs_insert_flag(&args, 2, "hosts-dir", "/etc/containerd/certs.d"), 0);
  ck_assert_int_eq(ctrargs_expand_refs(CTRARGS_1_6, &args, NULL), 0);
  got = join_words(&args);
  ck_assert_str_eq(got, "i pull --hosts-dir /etc/containerd/certs.d --platform linux/amd64 " NGINX);
}
END_TEST

Suite *
ctrargs_suite(void)
{
  Suite *s = suite_create("ctrargs");
  TCase *tc = tcase_create("ctrargs");

  tcase_add_loop_test(tc, test_expand, 0, ARRAY_SIZE(expand_cases));
  tcase_add_loop_test(tc, test_first_ref, 0, ARRAY_SIZE(first_ref_cases));
  tcase_add_loop_test(tc, test_is_pull, 0, ARRAY_SIZE(pull_cases));
  tcase_add_loop_test(tc, test_insert_flag, 0, ARRAY_SIZE(insert_cases));
  tcase_add_test(tc, test_insert_then_expand);
  tcase_add_loop_test(tc, test_ref_kinds, 0, ARRAY_SIZE(kind_cases));
  suite_add_tcase(s, tc);
  return s;
}
