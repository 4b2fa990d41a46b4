/* The OCI spec ctr run generates (PROTOCOL.md §4.4): the default spec byte
 * for byte, each flag's effect, user and group resolution against the rootfs
 * /etc/passwd and /etc/group, env files, --mount CSV, labels, bad input. */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "spec.h"
#include "spec_golden.h"
#include "unit.h"
#include "util.h"

Suite *spec_suite(void);

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
                             "# a comment line\n"
                             "\n"
                             "alice:x:1000:1000:Alice:/home/alice:/bin/sh\n"
                             "bob:x:1001:100::/home/bob:/bin/sh\n"
                             "nobody:x:65534:65534:nobody:/home:/bin/false\n";

static const char group[] = "root:x:0:\n"
                            "wheel:x:10:root,alice\n"
                            "audio:x:29:alice,bob\n"
                            "users:x:100:bob\n"
                            "alice:x:1000:alice\n"
                            "nogroup:x:65534:\n";

static char tmpdir[] = "/tmp/ctrx-spec-test-XXXXXX";

static void
setup(void)
{
  unit_tmpdir_make(tmpdir);
}

static void
teardown(void)
{
  unit_tmpdir_remove(tmpdir);
}

static char *
write_tmp(const char *name, const char *text)
{
  return unit_write(tmpdir, name, text);
}

static void
opts_init(struct spec_opts *o, const char *config)
{
  memset(o, 0, sizeof(*o));
  o->ns = "default";
  o->id = "c1";
  o->image_config = config;
  o->image_config_len = config ? strlen(config) : 0;
  o->passwd = passwd;
  o->group = group;
  o->host_hostname = "myhost";
}

/* The spec for o, parsed back; fails the test if spec_build fails. */
static json_t *
build(const struct spec_opts *o)
{
  cleanup_free char *text = NULL;
  struct error *err = NULL;
  json_error_t jerr;
  json_t *j;

  if (spec_build(o, &text, &err) < 0) {
    ck_abort_msg("spec_build failed: %s", err->msg);
    error_free(err);
  }
  ck_assert_ptr_null(err);
  j = json_loads(text, 0, &jerr);
  ck_assert_msg(j != NULL, "spec is not JSON: %s", jerr.text);
  return j;
}

/* spec_build must fail with code and a message containing want. */
static void
build_fails(const struct spec_opts *o, int code, const char *want)
{
  char *text = NULL;
  struct error *err = NULL;

  ck_assert_int_eq(spec_build(o, &text, &err), -1);
  ck_assert_ptr_null(text);
  ck_assert_ptr_nonnull(err);
  ck_assert_msg(strstr(err->msg, want) != NULL, "error '%s' lacks '%s'", err->msg, want);
  ck_assert_int_eq(err->code, code);
  error_free(err);
}

/* The value at a dotted path ("process.env", "mounts.7"), or NULL. */
static json_t *
at(json_t *j, const char *path)
{
  cleanup_free char *p = xstrdup(path);
  char *seg = p;

  while (j != NULL && seg != NULL) {
    char *dot = strchr(seg, '.');
    if (dot)
      *dot = '\0';
    if (json_is_array(j)) {
      int64_t i = 0;
      ck_assert_int_eq(parse_int64(seg, 10, &i), 0);
      j = json_array_get(j, (size_t)i);
    } else {
      j = json_object_get(j, seg);
    }
    seg = dot ? dot + 1 : NULL;
  }
  return j;
}

static void
assert_at(json_t *spec, const char *path, const char *want)
{
  json_t *got = at(spec, path);

  if (want == NULL) {
    ck_assert_msg(got == NULL, "%s should be absent", path);
    return;
  }
  json_error_t jerr;
  json_t *w = json_loads(want, JSON_DECODE_ANY, &jerr);
  ck_assert_msg(w != NULL, "bad expectation %s: %s", want, jerr.text);
  if (got == NULL || !json_equal(got, w)) {
    cleanup_free char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(w);
    ck_abort_msg("%s: got %s, want %s", path, g ? g : "(absent)", want);
  }
  json_decref(w);
}

/* ---- the default spec ---- */

START_TEST(test_default_fields)
{
  struct spec_opts o;
  opts_init(&o, BUSYBOX_CONFIG);
  json_t *s = build(&o);

  assert_at(s, "ociVersion", "\"1.0.2-dev\"");
  assert_at(s, "process.args", "[\"/bin/sh\"]");
  assert_at(s, "process.env", "[\"PATH=/bin\"]");
  assert_at(s, "process.cwd", "\"/\"");
  /* root is listed in wheel: ctr adds it even with no user given */
  assert_at(s, "process.user", "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]}");
  assert_at(s, "process.terminal", NULL);
  assert_at(s, "process.capabilities.bounding", DEFAULT_CAPS);
  assert_at(s, "process.capabilities.effective", DEFAULT_CAPS);
  assert_at(s, "process.capabilities.permitted", DEFAULT_CAPS);
  assert_at(s, "process.capabilities.inheritable", NULL);
  assert_at(s, "process.capabilities.ambient", NULL);
  assert_at(s, "process.rlimits", "[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}]");
  assert_at(s, "process.noNewPrivileges", "true");
  assert_at(s, "root", "{\"path\":\"rootfs\"}");
  assert_at(s, "hostname", NULL);
  assert_at(s, "annotations", NULL);
  assert_at(s, "mounts", "[" DEFAULT_MOUNTS "]");
  assert_at(s, "linux.cgroupsPath", "\"/default/c1\"");
  assert_at(s, "linux.namespaces", "[" DEFAULT_NAMESPACES "]");
  assert_at(s, "linux.resources.cpu", "{\"shares\":1024}");
  assert_at(s, "linux.resources.memory", NULL);
  assert_at(s, "linux.resources.devices", "[" DEFAULT_DEVICES "]");
  assert_at(s, "linux.maskedPaths", "[" MASKED_PATHS "]");
  assert_at(s, "linux.readonlyPaths", "[" READONLY_PATHS "]");
  json_decref(s);
}
END_TEST

/* Entrypoint + Cmd, WorkingDir, Env from the image; PATH default without Env. */
START_TEST(test_image_config_fields)
{
  static const char cfg[] = "{\"config\":{\"Entrypoint\":[\"/entry\",\"-x\"],\"Cmd\":[\"serve\"],"
                            "\"WorkingDir\":\"/srv\",\"Env\":[\"A=1\",\"B=2\"]}}";
  static const char bare[] = "{\"config\":{\"Cmd\":[\"run\"]}}";
  struct spec_opts o;
  json_t *s;

  opts_init(&o, cfg);
  s = build(&o);
  assert_at(s, "process.args", "[\"/entry\",\"-x\",\"serve\"]");
  assert_at(s, "process.cwd", "\"/srv\"");
  assert_at(s, "process.env", "[\"A=1\",\"B=2\"]");
  json_decref(s);

  /* command-line args replace the entrypoint too */
  char *const args[] = {(char *)"/bin/true"};
  o.args = args;
  o.n_args = 1;
  s = build(&o);
  assert_at(s, "process.args", "[\"/bin/true\"]");
  json_decref(s);

  opts_init(&o, bare);
  s = build(&o);
  assert_at(s, "process.env",
            "[\"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"]");
  json_decref(s);
}
END_TEST

START_TEST(test_no_command)
{
  struct spec_opts o;

  opts_init(&o, "{\"config\":{\"Env\":[\"PATH=/bin\"]}}");
  build_fails(&o, ERR_INVALID, "no command specified");
  opts_init(&o, "{\"config\":{\"Entrypoint\":[],\"Cmd\":null}}");
  build_fails(&o, ERR_INVALID, "no command specified");
  opts_init(&o, NULL);
  build_fails(&o, ERR_INVALID, "no command specified");
}
END_TEST

/* ---- one flag at a time ---- */

static const struct strv *
sv(const char *a, const char *b, const char *c)
{
  static struct strv pool[8];
  static size_t next;
  struct strv *s = &pool[next++ % ARRAY_SIZE(pool)];

  strv_release(s);
  if (a)
    strv_push(s, a);
  if (b)
    strv_push(s, b);
  if (c)
    strv_push(s, c);
  return s;
}

static void
release_sv(void)
{
  struct strv *s;
  /* sv()'s pool: release every slot so valgrind sees no leak */
  for (int i = 0; i < 8; i++) {
    s = (struct strv *)sv(NULL, NULL, NULL);
    strv_release(s);
  }
}

#define ALL_CAPS                                                                                   \
  "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_DAC_READ_SEARCH\",\"CAP_FOWNER\",\"CAP_FSETID\","     \
  "\"CAP_KILL\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETPCAP\",\"CAP_LINUX_IMMUTABLE\","            \
  "\"CAP_NET_BIND_SERVICE\",\"CAP_NET_BROADCAST\",\"CAP_NET_ADMIN\",\"CAP_NET_RAW\","              \
  "\"CAP_IPC_LOCK\",\"CAP_IPC_OWNER\",\"CAP_SYS_MODULE\",\"CAP_SYS_RAWIO\",\"CAP_SYS_CHROOT\","    \
  "\"CAP_SYS_PTRACE\",\"CAP_SYS_PACCT\",\"CAP_SYS_ADMIN\",\"CAP_SYS_BOOT\",\"CAP_SYS_NICE\","      \
  "\"CAP_SYS_RESOURCE\",\"CAP_SYS_TIME\",\"CAP_SYS_TTY_CONFIG\",\"CAP_MKNOD\",\"CAP_LEASE\","      \
  "\"CAP_AUDIT_WRITE\",\"CAP_AUDIT_CONTROL\",\"CAP_SETFCAP\",\"CAP_MAC_OVERRIDE\","                \
  "\"CAP_MAC_ADMIN\",\"CAP_SYSLOG\",\"CAP_WAKE_ALARM\",\"CAP_BLOCK_SUSPEND\",\"CAP_AUDIT_READ\","  \
  "\"CAP_PERFMON\",\"CAP_BPF\",\"CAP_CHECKPOINT_RESTORE\"]"

static void
set_tty(struct spec_opts *o)
{
  o->tty = true;
}
static void
set_net_host(struct spec_opts *o)
{
  o->net_host = true;
}
static void
set_read_only(struct spec_opts *o)
{
  o->read_only = true;
}
static void
set_hostname(struct spec_opts *o)
{
  o->hostname = "box";
}
static void
set_cwd(struct spec_opts *o)
{
  o->cwd = "/tmp";
}
/* A caller with every capability there is (41 bits, kernel 5.9 and later). */
static void
set_privileged(struct spec_opts *o)
{
  o->privileged = true;
  o->current_caps = 0x1ffffffffff;
}
/* CapEff of a caller whose bounding set lacks CAP_SYS_MODULE (16) and
 * CAP_SYS_RESOURCE (24), plus bits no kernel names yet (41, 63). */
static void
set_privileged_partial(struct spec_opts *o)
{
  o->privileged = true;
  o->current_caps = ((uint64_t)1 << 63) | ((uint64_t)1 << 41) | 0x1fffefeffffULL;
}
static void
set_privileged_none(struct spec_opts *o)
{
  o->privileged = true;
  o->current_caps = 0;
}
static const struct spec_device fake_devices[] = {
    {(char *)"/dev/null", 'c', 1, 3, 0666, 0, 0},
    {(char *)"/dev/sda", 'b', 8, 0, 0660, 0, 6},
};
static const struct spec_devices fake_host_devices = {(struct spec_device *)fake_devices, 2};
static void
set_privileged_devices(struct spec_opts *o)
{
  set_privileged(o);
  o->host_devices = &fake_host_devices;
}
static void
set_devices_unprivileged(struct spec_opts *o)
{
  o->host_devices = &fake_host_devices;
}
static void
set_cap_add(struct spec_opts *o)
{
  o->cap_add = sv("CAP_SYS_ADMIN", "CAP_CHOWN", NULL);
}
static void
set_cap_drop(struct spec_opts *o)
{
  o->cap_drop = sv("CAP_CHOWN", "CAP_KILL", "CAP_NOT_THERE");
}
static void
set_cap_drop_all(struct spec_opts *o)
{
  o->cap_drop = sv("ALL", NULL, NULL);
}
static void
set_cap_add_all(struct spec_opts *o)
{
  o->cap_add = sv("ALL", NULL, NULL);
}
static void
set_cap_add_then_drop_all(struct spec_opts *o)
{
  o->cap_add = sv("CAP_NET_ADMIN", NULL, NULL);
  o->cap_drop = sv("ALL", NULL, NULL);
}
static void
set_cap_add_cap_all(struct spec_opts *o)
{
  o->cap_add = sv("CAP_ALL", NULL, NULL);
}
static void
set_cpus(struct spec_opts *o)
{
  o->cpus = 1.5;
}
static void
set_cpus_small(struct spec_opts *o)
{
  o->cpus = 0.25;
}
static void
set_memory(struct spec_opts *o)
{
  o->memory_limit = 268435456;
}
static void
set_mounts(struct spec_opts *o)
{
  o->mounts = sv("type=bind,src=/some/dir,dst=/host,options=rbind:ro", "dst=/t,type=tmpfs", NULL);
}
static void
set_mounts_net_host(struct spec_opts *o)
{
  o->mounts = sv("type=bind,src=/a,dst=/b", NULL, NULL);
  o->net_host = true;
}
static void
set_annotations(struct spec_opts *o)
{
  o->annotations = sv("z=last", "a=b=c", "dup=annotation");
  o->labels = sv("lbl", "dup=label", "m=1");
}
static void
set_env(struct spec_opts *o)
{
  o->env = sv("FOO=bar", "PATH=/x", "E=");
}
static void
set_env_tty_net_host(struct spec_opts *o)
{
  o->env = sv("A=1", NULL, NULL);
  o->tty = true;
  o->net_host = true;
}
static void
set_ns_id(struct spec_opts *o)
{
  o->ns = "research";
  o->id = "web-1";
}

static const struct {
  const char *what;
  void (*set)(struct spec_opts *o);
  const char *path, *want; /* want NULL: absent */
} flag_cases[] = {
    {"-t terminal", set_tty, "process.terminal", "true"},
    {"-t TERM", set_tty, "process.env", "[\"PATH=/bin\",\"TERM=xterm\"]"},
    {"--net-host namespaces", set_net_host, "linux.namespaces",
     "[{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"}]"},
    {"--net-host hosts", set_net_host, "mounts.7",
     "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"/etc/hosts\","
     "\"options\":[\"rbind\",\"ro\"]}"},
    {"--net-host resolv.conf", set_net_host, "mounts.8",
     "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"/etc/resolv.conf\","
     "\"options\":[\"rbind\",\"ro\"]}"},
    {"--net-host env", set_net_host, "process.env", "[\"PATH=/bin\",\"HOSTNAME=myhost\"]"},
    {"--read-only", set_read_only, "root", "{\"path\":\"rootfs\",\"readonly\":true}"},
    {"--hostname", set_hostname, "hostname", "\"box\""},
    {"--cwd", set_cwd, "process.cwd", "\"/tmp\""},
    {"--privileged caps", set_privileged, "process.capabilities.bounding", ALL_CAPS},
    {"--privileged permitted", set_privileged, "process.capabilities.permitted", ALL_CAPS},
    {"--privileged, caller without SYS_MODULE and SYS_RESOURCE", set_privileged_partial,
     "process.capabilities.effective",
     "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_DAC_READ_SEARCH\",\"CAP_FOWNER\",\"CAP_FSETID\","
     "\"CAP_KILL\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETPCAP\",\"CAP_LINUX_IMMUTABLE\","
     "\"CAP_NET_BIND_SERVICE\",\"CAP_NET_BROADCAST\",\"CAP_NET_ADMIN\",\"CAP_NET_RAW\","
     "\"CAP_IPC_LOCK\",\"CAP_IPC_OWNER\",\"CAP_SYS_RAWIO\",\"CAP_SYS_CHROOT\","
     "\"CAP_SYS_PTRACE\",\"CAP_SYS_PACCT\",\"CAP_SYS_ADMIN\",\"CAP_SYS_BOOT\",\"CAP_SYS_NICE\","
     "\"CAP_SYS_TIME\",\"CAP_SYS_TTY_CONFIG\",\"CAP_MKNOD\",\"CAP_LEASE\","
     "\"CAP_AUDIT_WRITE\",\"CAP_AUDIT_CONTROL\",\"CAP_SETFCAP\",\"CAP_MAC_OVERRIDE\","
     "\"CAP_MAC_ADMIN\",\"CAP_SYSLOG\",\"CAP_WAKE_ALARM\",\"CAP_BLOCK_SUSPEND\",\"CAP_AUDIT_READ\","
     "\"CAP_PERFMON\",\"CAP_BPF\",\"CAP_CHECKPOINT_RESTORE\"]"},
    {"--privileged, caller without capabilities", set_privileged_none, "process.capabilities",
     "{}"},
    {"--privileged host devices", set_privileged_devices, "linux.devices",
     "[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3,\"fileMode\":438,"
     "\"uid\":0,\"gid\":0},{\"path\":\"/dev/sda\",\"type\":\"b\",\"major\":8,\"minor\":0,"
     "\"fileMode\":432,\"uid\":0,\"gid\":6}]"},
    {"--privileged without host devices", set_privileged, "linux.devices", NULL},
    {"host devices only with --privileged", set_devices_unprivileged, "linux.devices", NULL},
    {"--privileged masked", set_privileged, "linux.maskedPaths", NULL},
    {"--privileged readonly", set_privileged, "linux.readonlyPaths", NULL},
    {"--privileged devices", set_privileged, "linux.resources.devices",
     "[{\"allow\":true,\"access\":\"rwm\"}]"},
    {"--privileged sysfs rw", set_privileged, "mounts.5.options",
     "[\"nosuid\",\"noexec\",\"nodev\",\"rw\"]"},
    {"--cap-add", set_cap_add, "process.capabilities.effective",
     "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
     "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
     "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\","
     "\"CAP_SYS_ADMIN\"]"},
    {"--cap-drop", set_cap_drop, "process.capabilities.bounding",
     "[\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","
     "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","
     "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_AUDIT_WRITE\"]"},
    /* CAP_ALL means nothing to ctr: a name like any other */
    {"--cap-add CAP_ALL", set_cap_add_cap_all, "process.capabilities.bounding.14", "\"CAP_ALL\""},
    {"--cpus", set_cpus, "linux.resources.cpu",
     "{\"shares\":1024,\"quota\":150000,\"period\":100000}"},
    {"--cpus fraction", set_cpus_small, "linux.resources.cpu.quota", "25000"},
    {"--memory-limit", set_memory, "linux.resources.memory", "{\"limit\":268435456}"},
    {"--memory-limit keeps cpu", set_memory, "linux.resources.cpu", "{\"shares\":1024}"},
    {"--mount", set_mounts, "mounts.7",
     "{\"destination\":\"/host\",\"type\":\"bind\",\"source\":\"/some/dir\","
     "\"options\":[\"rbind\",\"ro\"]}"},
    {"--mount second", set_mounts, "mounts.8", "{\"destination\":\"/t\",\"type\":\"tmpfs\"}"},
    {"--mount count", set_mounts, "mounts.9", NULL},
    {"--mount before net-host binds", set_mounts_net_host, "mounts.7.destination", "\"/b\""},
    {"--mount then /etc/hosts", set_mounts_net_host, "mounts.8.destination", "\"/etc/hosts\""},
    {"--mount then resolv.conf", set_mounts_net_host, "mounts.9.destination",
     "\"/etc/resolv.conf\""},
    {"--annotation and --label", set_annotations, "annotations",
     "{\"a\":\"b=c\",\"dup\":\"annotation\",\"lbl\":\"true\",\"m\":\"1\",\"z\":\"last\"}"},
    {"--env", set_env, "process.env", "[\"PATH=/x\",\"FOO=bar\",\"E=\"]"},
    {"--env, -t, --net-host order", set_env_tty_net_host, "process.env",
     "[\"PATH=/bin\",\"A=1\",\"TERM=xterm\",\"HOSTNAME=myhost\"]"},
    {"cgroupsPath", set_ns_id, "linux.cgroupsPath", "\"/research/web-1\""},
};

START_TEST(test_flag)
{
  struct spec_opts o;
  json_t *s;

  opts_init(&o, BUSYBOX_CONFIG);
  flag_cases[_i].set(&o);
  s = build(&o);
  assert_at(s, flag_cases[_i].path, flag_cases[_i].want);
  json_decref(s);
  release_sv();
}
END_TEST

/* Annotations come out sorted, as Go marshals a map. */
START_TEST(test_annotations_sorted)
{
  struct spec_opts o;
  cleanup_free char *text = NULL;
  struct error *err = NULL;

  opts_init(&o, BUSYBOX_CONFIG);
  o.annotations = sv("zz=1", "aa=2", "mm=3");
  ck_assert_int_eq(spec_build(&o, &text, &err), 0);
  ck_assert_ptr_nonnull(strstr(text, "\"annotations\":{\"aa\":\"2\",\"mm\":\"3\",\"zz\":\"1\"},"
                                     "\"linux\":"));
  release_sv();
}
END_TEST

static void
bad_cap_add(struct spec_opts *o)
{
  o->cap_add = sv("SYS_ADMIN", NULL, NULL);
}
static void
bad_cap_drop(struct spec_opts *o)
{
  o->cap_drop = sv("CAP_KILL", "chown", NULL);
}
static void
bad_annotation(struct spec_opts *o)
{
  o->annotations = sv("novalue", NULL, NULL);
}
static void
bad_memory(struct spec_opts *o)
{
  o->memory_limit = -1;
}
static void
bad_cpus(struct spec_opts *o)
{
  o->cpus = -0.5;
}
static void
nan_cpus(struct spec_opts *o)
{
  o->cpus = NAN;
}
static void
bad_mount(struct spec_opts *o)
{
  o->mounts = sv("dst=/ok", "type=bind,src=/a", NULL);
}
static void
bad_user(struct spec_opts *o)
{
  o->user = "1:2:3";
}

static const struct {
  void (*set)(struct spec_opts *o);
  const char *want;
} flag_errors[] = {
    {bad_cap_add, "'SYS_ADMIN': capabilities must be specified with 'CAP_' prefix"},
    {bad_cap_drop, "'chown'"},
    /* "ALL" too, as ctr of every line refuses it */
    {set_cap_drop_all, "'ALL': capabilities must be specified with 'CAP_' prefix"},
    {set_cap_add_all, "'ALL': capabilities must be specified with 'CAP_' prefix"},
    {set_cap_add_then_drop_all, "'ALL'"},
    {bad_annotation, "annotation 'novalue'"},
    {bad_memory, "memory limit"},
    {bad_cpus, "--cpus"},
    {nan_cpus, "--cpus"},
    {bad_mount, "mount 'type=bind,src=/a': no destination"},
    {bad_user, "invalid USER value '1:2:3'"},
};

START_TEST(test_flag_error)
{
  struct spec_opts o;

  opts_init(&o, BUSYBOX_CONFIG);
  flag_errors[_i].set(&o);
  build_fails(&o, ERR_INVALID, flag_errors[_i].want);
  release_sv();
}
END_TEST

/* ---- user and groups ---- */

static const struct {
  const char *user, *image_user;
  bool no_passwd, no_group;
  const char *want;     /* process.user JSON */
  const char *want_err; /* or a piece of the error */
} user_cases[] = {
    {NULL, NULL, false, false, "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]}", NULL},
    {"alice", NULL, false, false, "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,10,29]}",
     NULL},
    {"1000", NULL, false, false, "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,10,29]}",
     NULL},
    /* primary gid already among the groups: not repeated, order kept */
    {"bob", NULL, false, false, "{\"uid\":1001,\"gid\":100,\"additionalGids\":[29,100]}", NULL},
    /* uid:gid is taken as given; ctr looks "1000:29" up as a name: no groups */
    {"1000:29", NULL, false, false, "{\"uid\":1000,\"gid\":29,\"additionalGids\":[29]}", NULL},
    {"alice:users", NULL, false, false, "{\"uid\":1000,\"gid\":100,\"additionalGids\":[100]}",
     NULL},
    {"alice:4", NULL, false, false, "{\"uid\":1000,\"gid\":4,\"additionalGids\":[4]}", NULL},
    {"7:audio", NULL, false, false, "{\"uid\":7,\"gid\":29,\"additionalGids\":[29]}", NULL},
    /* a uid not in passwd: gid 0 */
    {"4242", NULL, false, false, "{\"uid\":4242,\"gid\":0,\"additionalGids\":[0]}", NULL},
    {"0", NULL, false, false, "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]}", NULL},
    {"5", NULL, true, true, "{\"uid\":5,\"gid\":0,\"additionalGids\":[0]}", NULL},
    {"alice", NULL, false, true, "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000]}", NULL},
    {NULL, "bob", false, false, "{\"uid\":1001,\"gid\":100,\"additionalGids\":[29,100]}", NULL},
    {NULL, "65534:65534", false, false, "{\"uid\":65534,\"gid\":65534,\"additionalGids\":[65534]}",
     NULL},
    {"0", "alice", false, false, "{\"uid\":0,\"gid\":0,\"additionalGids\":[0,10]}", NULL},
    /* an empty side of "a:b" is 0, not looked up (containerd's WithUser) */
    {"alice:", NULL, false, false, "{\"uid\":1000,\"gid\":0,\"additionalGids\":[0]}", NULL},
    {":users", NULL, false, false, "{\"uid\":0,\"gid\":100,\"additionalGids\":[100]}", NULL},
    {":", NULL, true, true, "{\"uid\":0,\"gid\":0,\"additionalGids\":[0]}", NULL},
    /* Go's Atoi takes a sign */
    {"+1000", NULL, false, false, "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,10,29]}",
     NULL},
    /* the largest uid runc takes */
    {"2147483647:2147483647", NULL, false, false,
     "{\"uid\":2147483647,\"gid\":2147483647,\"additionalGids\":[2147483647]}", NULL},
    /* not a number: a name (and none such) */
    {" 1", NULL, false, false, NULL, "user ' 1': no users found"},
    {"1_000", NULL, false, false, NULL, "user '1_000': no users found"},
    {"-", NULL, false, false, NULL, "user '-': no users found"},
    {"+:0", NULL, false, false, NULL, "user '+': no users found"},
    {"mallory", NULL, false, false, NULL, "user 'mallory': no users found"},
    {"mallory:0", NULL, false, false, NULL, "user 'mallory': no users found"},
    {"alice", NULL, true, false, NULL, "user 'alice': no /etc/passwd"},
    {"alice:staff", NULL, false, false, NULL, "group 'staff': no groups found"},
    {"0:staff", NULL, false, true, NULL, "group 'staff': no /etc/group"},
    {NULL, "ghost", false, false, NULL, "image config user: user 'ghost': no users found"},
    /* ctr resolves the image's User even when --user replaces it */
    {"0", "ghost", false, false, NULL, "user 'ghost'"},
};

/* Numbers out of runc's range (0..2147483647) are refused, as containerd
 * does, and never wrap around: 4294967296 would be uid 0 as a uint32. */
static const struct {
  const char *user, *image_user, *passwd, *group;
  const char *want_err;
} user_range_cases[] = {
    {"4294967296", NULL, NULL, NULL, "invalid USER value '4294967296': uid out of range"},
    {"2147483648", NULL, NULL, NULL, "uid out of range"},
    {"-1", NULL, NULL, NULL, "invalid USER value '-1': uid out of range"},
    {"99999999999999999999", NULL, NULL, NULL, "uid out of range"},
    {"-9223372036854775809", NULL, NULL, NULL, "uid out of range"},
    {"0:4294967296", NULL, NULL, NULL, "invalid USER value '0:4294967296': gid out of range"},
    {"alice:-5", NULL, NULL, NULL, "gid out of range"},
    {"4294967296:0", NULL, NULL, NULL, "uid out of range"},
    {NULL, "4294967296", NULL, NULL, "image config user: invalid USER value"},
    /* out of range in the rootfs files: refused too, not cast */
    {"huge", NULL, "huge:x:4294967296:0::/:/bin/sh\n", "",
     "uid of 'huge' in /etc/passwd is out of range"},
    {"huge", NULL, "huge:x:5:-1::/:/bin/sh\n", "", "gid of 'huge' in /etc/passwd is out"},
    {"5", NULL, "huge:x:5:4294967296::/:/bin/sh\n", "", "gid of '5' in /etc/passwd"},
    {"huge", NULL, "huge:x:99999999999999999999:0::/:/bin/sh\n", "", "uid of 'huge'"},
    {"0:big", NULL, "", "big:x:4294967296:\n", "gid of 'big' in /etc/group"},
    {"alice", NULL, "alice:x:1000:1000::/:/bin/sh\n", "big:x:4294967296:alice\n",
     "gid of 'big' in /etc/group"},
};

START_TEST(test_user_range)
{
  struct spec_opts o;
  cleanup_free char *cfg = NULL;

  if (user_range_cases[_i].image_user)
    cfg = xasprintf("{\"config\":{\"Cmd\":[\"sh\"],\"User\":\"%s\"}}",
                    user_range_cases[_i].image_user);
  else
    cfg = xstrdup(BUSYBOX_CONFIG);
  opts_init(&o, cfg);
  o.user = user_range_cases[_i].user;
  if (user_range_cases[_i].passwd)
    o.passwd = user_range_cases[_i].passwd;
  if (user_range_cases[_i].group)
    o.group = user_range_cases[_i].group;
  build_fails(&o, ERR_INVALID, user_range_cases[_i].want_err);
}
END_TEST

START_TEST(test_user)
{
  struct spec_opts o;
  cleanup_free char *cfg = NULL;

  if (user_cases[_i].image_user)
    cfg = xasprintf("{\"config\":{\"Cmd\":[\"sh\"],\"User\":\"%s\"}}", user_cases[_i].image_user);
  else
    cfg = xstrdup(BUSYBOX_CONFIG);
  opts_init(&o, cfg);
  o.user = user_cases[_i].user;
  if (user_cases[_i].no_passwd)
    o.passwd = NULL;
  if (user_cases[_i].no_group)
    o.group = NULL;
  if (user_cases[_i].want_err) {
    build_fails(&o, ERR_NOT_FOUND, user_cases[_i].want_err);
    return;
  }
  json_t *s = build(&o);
  assert_at(s, "process.user", user_cases[_i].want);
  json_decref(s);
}
END_TEST

/* ---- env: keys that repeat ---- */

/* containerd's replaceOrAppendEnvValues keys its index by name, so with a
 * key twice among the defaults the last one is replaced or unset, and the
 * first stays; overrides are not indexed, so both of two new ones stay. ctr
 * applies it three times: --env-file over nothing, --env over that, all of
 * it over the image's Env (so a bare --env "K" unsets only what the env file
 * set: the image's K stays). */
static const struct {
  const char *image_env; /* JSON array */
  const char *env_file;  /* or NULL */
  const char *e1, *e2, *e3;
  const char *want;
} env_repeat_cases[] = {
    {"[\"A=1\",\"B=2\",\"A=3\"]", NULL, "A=x", NULL, NULL, "[\"A=1\",\"B=2\",\"A=x\"]"},
    {"[\"A=1\",\"B=2\",\"A=3\"]", NULL, "A", NULL, NULL, "[\"A=1\",\"B=2\",\"A=3\"]"},
    {"[\"A=1\",\"B=2\",\"A=3\"]", NULL, "A", "A=y", NULL, "[\"A=1\",\"B=2\",\"A=y\"]"},
    {"[\"A=1\",\"B=2\",\"A=3\"]", NULL, "A=x", "A=y", NULL, "[\"A=1\",\"B=2\",\"A=y\"]"},
    {"[\"B=2\"]", NULL, "A=x", "A=y", NULL, "[\"B=2\",\"A=x\",\"A=y\"]"},
    {"[\"B=2\"]", NULL, "A=x", "A", NULL, "[\"B=2\",\"A=x\"]"},
    {"[\"A\",\"B=2\",\"A=3\"]", NULL, "A=x", NULL, NULL, "[\"A\",\"B=2\",\"A=x\"]"},
    {"[\"PATH=/a\",\"PATH=/b\",\"PATH=/c\"]", NULL, "PATH=/x", "HOME=/h", "PATH=/y",
     "[\"PATH=/a\",\"PATH=/b\",\"PATH=/y\",\"HOME=/h\"]"},
    /* the env file's two A's: --env replaces or unsets the second */
    {"[\"P=1\"]", "A=1\nB=2\nA=3\n", "A", NULL, NULL, "[\"P=1\",\"A=1\",\"B=2\"]"},
    {"[\"P=1\"]", "A=1\nB=2\nA=3\n", "A=x", NULL, NULL, "[\"P=1\",\"A=1\",\"B=2\",\"A=x\"]"},
    {"[\"A=0\"]", "A=1\nB=2\nA=3\n", "A", NULL, NULL, "[\"A=1\",\"B=2\"]"},
};

START_TEST(test_env_repeated_keys)
{
  struct spec_opts o;
  cleanup_free char *cfg =
      xasprintf("{\"config\":{\"Cmd\":[\"sh\"],\"Env\":%s}}", env_repeat_cases[_i].image_env);
  cleanup_free char *file = NULL;
  struct strv env = STRV_INIT;
  json_t *s;

  opts_init(&o, cfg);
  if (env_repeat_cases[_i].env_file) {
    file = write_tmp("repeat.env", env_repeat_cases[_i].env_file);
    o.env_file = file;
  }
  if (env_repeat_cases[_i].e1)
    strv_push(&env, env_repeat_cases[_i].e1);
  if (env_repeat_cases[_i].e2)
    strv_push(&env, env_repeat_cases[_i].e2);
  if (env_repeat_cases[_i].e3)
    strv_push(&env, env_repeat_cases[_i].e3);
  o.env = &env;
  s = build(&o);
  assert_at(s, "process.env", env_repeat_cases[_i].want);
  json_decref(s);
  strv_release(&env);
}
END_TEST

/* ---- the rootfs /etc/passwd and /etc/group ---- */

/* A fake rootfs under tmpdir/root, set up by shell commands run inside it. */
static char *
make_rootfs(const char *setup)
{
  char *root = xasprintf("%s/root", tmpdir);
  cleanup_free char *cmd = xasprintf("mkdir -p '%s' && cd '%s' && { %s ; }", root, root, setup);
  ck_assert_msg(system(cmd) == 0, "%s", cmd);
  return root;
}

#define DB_FILES                                                                                   \
  "mkdir etc && printf 'root:x:0:0::/:/bin/sh\\nsam:x:500:600::/:/bin/sh\\n' > etc/passwd && "     \
  "printf 'root:x:0:\\nsam:x:600:\\nops:x:700:sam\\n' > etc/group"

static const struct {
  const char *what, *setup;
  const char *want_passwd, *want_group; /* NULL: absent */
  const char *want_err;                 /* or a piece of the error */
} user_db_cases[] = {
    {"plain files", DB_FILES, "root:x:0:0::/:/bin/sh\nsam:x:500:600::/:/bin/sh\n",
     "root:x:0:\nsam:x:600:\nops:x:700:sam\n", NULL},
    {"no /etc/group", "mkdir etc && echo 'u:x:1:1::/:/bin/sh' > etc/passwd", "u:x:1:1::/:/bin/sh\n",
     NULL, NULL},
    {"no /etc", "true", NULL, NULL, NULL},
    {"/etc a file", "echo x > etc", NULL, NULL, NULL},
    {"empty files", "mkdir etc && : > etc/passwd && : > etc/group", "", "", NULL},
    /* symlinks resolve inside the rootfs, as in the container, never on the host */
    {"absolute symlink",
     "mkdir -p etc real && echo 'in:x:7:7::/:/bin/sh' > real/pw && "
     "ln -s /real/pw etc/passwd",
     "in:x:7:7::/:/bin/sh\n", NULL, NULL},
    {"symlink climbing out",
     "mkdir etc && echo 'top:x:8:8::/:/bin/sh' > hostname && "
     "ln -s ../../../../../../../../hostname etc/passwd",
     "top:x:8:8::/:/bin/sh\n", NULL, NULL},
    {"symlink to a host file absent here", "mkdir etc && ln -s /etc/hostname etc/passwd", NULL,
     NULL, NULL},
    {"/etc a symlink", "mkdir -p usr/etc && echo 'g:x:9:' > usr/etc/group && ln -s /usr/etc etc",
     NULL, "g:x:9:\n", NULL},
    {"a FIFO", "mkdir etc && mkfifo etc/passwd", NULL, NULL, "is not a regular file"},
    {"a directory", "mkdir -p etc/group", NULL, NULL, "is not a regular file"},
    {"too large", "mkdir etc && head -c 4194305 /dev/zero | tr '\\0' a > etc/group", NULL, NULL,
     "is larger than 4194304 bytes"},
};

START_TEST(test_user_db)
{
  cleanup_free char *root = make_rootfs(user_db_cases[_i].setup);
  cleanup_buf struct buf pw = BUF_INIT, gr = BUF_INIT;
  struct error *err = NULL;
  int rv = spec_read_user_db(root, &pw, &gr, &err);

  if (user_db_cases[_i].want_err) {
    ck_assert_int_eq(rv, -1);
    ck_assert_msg(err && strstr(err->msg, user_db_cases[_i].want_err), "%s: %s",
                  user_db_cases[_i].what, err ? err->msg : "no error");
    ck_assert_ptr_null(pw.data);
    ck_assert_ptr_null(gr.data);
    error_free(err);
    return;
  }
  ck_assert_msg(rv == 0, "%s: %s", user_db_cases[_i].what, err ? err->msg : "");
  if (user_db_cases[_i].want_passwd)
    ck_assert_msg(pw.data && strcmp(pw.data, user_db_cases[_i].want_passwd) == 0, "%s: '%s'",
                  user_db_cases[_i].what, pw.data ? pw.data : "(absent)");
  else
    ck_assert_msg(pw.data == NULL, "%s: passwd '%s'", user_db_cases[_i].what, pw.data);
  if (user_db_cases[_i].want_group)
    ck_assert_msg(gr.data && strcmp(gr.data, user_db_cases[_i].want_group) == 0, "%s: '%s'",
                  user_db_cases[_i].what, gr.data ? gr.data : "(absent)");
  else
    ck_assert_msg(gr.data == NULL, "%s: group '%s'", user_db_cases[_i].what, gr.data);
}
END_TEST

START_TEST(test_user_db_missing_root)
{
  cleanup_free char *root = xasprintf("%s/nothing-here", tmpdir);
  cleanup_buf struct buf pw = BUF_INIT, gr = BUF_INIT;
  struct error *err = NULL;

  ck_assert_int_eq(spec_read_user_db(root, &pw, &gr, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "nothing-here"));
  error_free(err);
}
END_TEST

/* From the rootfs files to the spec: a name and its groups resolve only
 * through what spec_read_user_db read. */
START_TEST(test_user_from_rootfs)
{
  cleanup_free char *root = make_rootfs(DB_FILES);
  cleanup_buf struct buf pw = BUF_INIT, gr = BUF_INIT;
  struct error *err = NULL;
  struct spec_opts o;
  json_t *s;

  ck_assert_int_eq(spec_read_user_db(root, &pw, &gr, &err), 0);
  opts_init(&o, "{\"config\":{\"Cmd\":[\"sh\"],\"User\":\"sam\"}}");
  o.passwd = pw.data;
  o.group = gr.data;
  s = build(&o);
  assert_at(s, "process.user", "{\"uid\":500,\"gid\":600,\"additionalGids\":[600,700]}");
  json_decref(s);
  o.user = "sam:ops";
  s = build(&o);
  assert_at(s, "process.user", "{\"uid\":500,\"gid\":700,\"additionalGids\":[700]}");
  json_decref(s);
}
END_TEST

/* ---- --privileged: the caller's capabilities and the host's devices ---- */

static const struct {
  const char *status;
  uint64_t want;
  const char *want_err;
} cap_eff_cases[] = {
    {"Name:\tctrx\nCapInh:\t0000000000000000\nCapPrm:\t000001fffefeffff\n"
     "CapEff:\t000001fffefeffff\nCapBnd:\t000001fffefeffff\n",
     0x1fffefeffffULL, NULL},
    {"CapEff:\t0000000000000000", 0, NULL},
    {"CapEff:  ffffffffffffffff\n", UINT64_MAX, NULL},
    {"CapBnd:\t000001ffffffffff\n", 0, "no CapEff line"},
    {"", 0, "no CapEff line"},
    {"CapEff:\t\n", 0, "is not a hexadecimal mask"},
    {"CapEff:\t1fffeffffzz\n", 0, "'1fffeffffzz' is not a hexadecimal mask"},
    {"CapEff:\t1ffffffffffffffff\n", 0, "is not a hexadecimal mask"},
};

START_TEST(test_cap_eff)
{
  uint64_t got = 0;
  struct error *err = NULL;
  int rv = spec_parse_cap_eff(cap_eff_cases[_i].status, &got, &err);

  if (cap_eff_cases[_i].want_err) {
    ck_assert_int_eq(rv, -1);
    ck_assert_msg(strstr(err->msg, cap_eff_cases[_i].want_err), "%s", err->msg);
    error_free(err);
    return;
  }
  ck_assert_int_eq(rv, 0);
  ck_assert_uint_eq(got, cap_eff_cases[_i].want);
}
END_TEST

static const struct spec_device *
find_device(const struct spec_devices *d, const char *path)
{
  for (size_t i = 0; i < d->n; i++)
    if (strcmp(d->v[i].path, path) == 0)
      return &d->v[i];
  return NULL;
}

/* The machine's own /dev, as ctr scans it: /dev/null is there as it is,
 * pseudo-terminals, the console, symlinks and skipped directories are not,
 * and each directory comes in byte order. */
START_TEST(test_host_devices)
{
  struct spec_devices d = {NULL, 0};
  struct error *err = NULL;
  const struct spec_device *null;

  ck_assert_msg(spec_host_devices("/dev", &d, &err) == 0, "%s", err ? err->msg : "");
  null = find_device(&d, "/dev/null");
  ck_assert_ptr_nonnull(null);
  ck_assert_int_eq(null->type, 'c');
  ck_assert_int_eq(null->major, 1);
  ck_assert_int_eq(null->minor, 3);
  ck_assert_uint_eq(null->file_mode, 0666);
  for (size_t i = 0; i < d.n; i++) {
    const char *p = d.v[i].path;
    ck_assert_msg(strncmp(p, "/dev/pts/", 9) != 0 && strncmp(p, "/dev/shm/", 9) != 0 &&
                      strncmp(p, "/dev/mqueue/", 12) != 0 && strcmp(p, "/dev/console") != 0 &&
                      strcmp(p, "/dev/stdin") != 0 && strncmp(p, "/dev/fd", 7) != 0,
                  "%s", p);
    ck_assert_msg(d.v[i].major != 0, "%s", p);
    if (i > 0 && strchr(p + 5, '/') == NULL && strchr(d.v[i - 1].path + 5, '/') == NULL)
      ck_assert_msg(strcmp(d.v[i - 1].path, p) < 0, "%s before %s", d.v[i - 1].path, p);
  }
  spec_devices_release(&d);
}
END_TEST

/* A tree of our own: only devices count; as root, device nodes are made to
 * show which of them ctr's rules keep. */
START_TEST(test_host_devices_tree)
{
  cleanup_free char *root = make_rootfs("mkdir -p sub pts shm .udev && echo x > file && "
                                        "ln -s /dev/null link && mkfifo fifo");
  bool can_mknod = geteuid() == 0;
  struct spec_devices d = {NULL, 0};
  struct error *err = NULL;

  if (can_mknod) {
    cleanup_free char *cmd = xasprintf(
        "cd '%s' && mknod B b 7 0 && mknod a c 1 3 && mknod sub/z c 1 5 && mknod sub/console c 5 1 "
        "&& mknod pts/0 c 136 0 && mknod shm/x c 1 7 && mknod .udev/y c 1 8 && mknod zero c 0 9 && "
        "chmod 0640 a && chown 12:34 a",
        root);
    can_mknod = system(cmd) == 0;
  }
  ck_assert_int_eq(spec_host_devices(root, &d, &err), 0);
  if (!can_mknod) {
    ck_assert_uint_eq(d.n, 0);
    return;
  }
  ck_assert_uint_eq(d.n, 3);
  cleanup_free char *b = xasprintf("%s/B", root);
  cleanup_free char *a = xasprintf("%s/a", root);
  cleanup_free char *z = xasprintf("%s/sub/z", root);
  ck_assert_str_eq(d.v[0].path, b);
  ck_assert_int_eq(d.v[0].type, 'b');
  ck_assert_str_eq(d.v[1].path, a);
  ck_assert_int_eq(d.v[1].type, 'c');
  ck_assert_uint_eq(d.v[1].file_mode, 0640);
  ck_assert_uint_eq(d.v[1].uid, 12);
  ck_assert_uint_eq(d.v[1].gid, 34);
  ck_assert_str_eq(d.v[2].path, z);
  ck_assert_int_eq(d.v[2].minor, 5);
  spec_devices_release(&d);
}
END_TEST

START_TEST(test_host_devices_missing)
{
  struct spec_devices d = {NULL, 0};
  struct error *err = NULL;

  ck_assert_int_eq(spec_host_devices("/no/such/dev", &d, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "/no/such/dev"));
  ck_assert_uint_eq(d.n, 0);
  error_free(err);
}
END_TEST

/* ---- env files ---- */

START_TEST(test_env_file)
{
  cleanup_free char *path =
      write_tmp("env", "# comment\n\nA=1\n  # indented comment\n   \nB=x=y\r\nC=\nPATH=/env");
  struct strv out = STRV_INIT;
  struct error *err = NULL;

  ck_assert_int_eq(spec_read_env_file(path, &out, &err), 0);
  ck_assert_int_eq(out.n, 4);
  ck_assert_str_eq(out.v[0], "A=1");
  ck_assert_str_eq(out.v[1], "B=x=y");
  ck_assert_str_eq(out.v[2], "C=");
  ck_assert_str_eq(out.v[3], "PATH=/env");
  strv_release(&out);

  /* in the spec: over the image's env, and --env over the file */
  struct spec_opts o;
  opts_init(&o, "{\"config\":{\"Cmd\":[\"sh\"],\"Env\":[\"PATH=/bin\",\"HOME=/root\"]}}");
  o.env_file = path;
  o.env = sv("A=2", "D=4", NULL);
  json_t *s = build(&o);
  assert_at(s, "process.env", "[\"PATH=/env\",\"HOME=/root\",\"A=2\",\"B=x=y\",\"C=\",\"D=4\"]");
  json_decref(s);
  release_sv();
}
END_TEST

START_TEST(test_env_file_errors)
{
  cleanup_free char *bad = write_tmp("bad.env", "A=1\n\n# c\nNOEQUALS\nB=2\n");
  cleanup_free char *missing = xasprintf("%s/missing.env", tmpdir);
  cleanup_free char *want = xasprintf("%s:4: 'NOEQUALS' is not KEY=VALUE", bad);
  struct strv out = STRV_INIT;
  struct error *err = NULL;
  struct spec_opts o;

  ck_assert_int_eq(spec_read_env_file(bad, &out, &err), -1);
  ck_assert_int_eq(out.n, 0);
  ck_assert_str_eq(err->msg, want);
  ck_assert_int_eq(err->code, ERR_INVALID);
  error_free(err);
  err = NULL;

  ck_assert_int_eq(spec_read_env_file(missing, &out, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, "missing.env"));
  ck_assert_ptr_nonnull(strstr(err->msg, strerror(ENOENT)));
  error_free(err);
  err = NULL;

  ck_assert_int_eq(spec_parse_env("A=1\nB\0=2\n", 9, "mem", &out, &err), -1);
  ck_assert_str_eq(err->msg, "mem:2: NUL byte in line");
  error_free(err);

  opts_init(&o, BUSYBOX_CONFIG);
  o.env_file = bad;
  build_fails(&o, ERR_INVALID, want);
}
END_TEST

/* ---- --mount CSV ---- */

static const struct {
  const char *csv;
  const char *type, *source, *destination, *options; /* options joined by '|' */
  const char *err;
} mount_cases[] = {
    {"type=bind,src=/a,dst=/b,options=rbind:ro", "bind", "/a", "/b", "rbind|ro", NULL},
    {"type=bind,source=/a,destination=/b", "bind", "/a", "/b", "", NULL},
    {"target=/b", NULL, NULL, "/b", "", NULL},
    {"dst=/b,options=rbind", NULL, NULL, "/b", "rbind", NULL},
    {"options=mode=755:size=1m,type=tmpfs,dst=/t", "tmpfs", NULL, "/t", "mode=755|size=1m", NULL},
    {"options=a::b:,dst=/t", NULL, NULL, "/t", "a|b", NULL},
    {"\"type=bind\",\"src=/a,b\",dst=/c", "bind", "/a,b", "/c", "", NULL},
    {"\"src=/say \"\"hi\"\"\",dst=/c", NULL, "/say \"hi\"", "/c", "", NULL},
    {"dst=/first,dst=/second,options=x,options=y", NULL, NULL, "/second", "y", NULL},
    {"type=bind,src=/a", NULL, NULL, NULL, NULL, "mount 'type=bind,src=/a': no destination"},
    {"type=bind,dst=", NULL, NULL, NULL, NULL, "no destination"},
    {"foo=bar,dst=/b", NULL, NULL, NULL, NULL, "mount 'foo=bar,dst=/b': key 'foo' not supported"},
    {"type,dst=/b", NULL, NULL, NULL, NULL, "mount 'type,dst=/b': 'type' is not key=value"},
    {"", NULL, NULL, NULL, NULL, "mount ''"},
    {"dst=/b,\"src=/a", NULL, NULL, NULL, NULL, "unterminated quoted field"},
    {"ds\"t=/b", NULL, NULL, NULL, NULL, "bare \""},
    {"\"dst=/b\"x", NULL, NULL, NULL, NULL, "extraneous \""},
    {"dst=/b\nsrc=/a", NULL, NULL, NULL, NULL, "bare newline"},
};

START_TEST(test_mount)
{
  char *type = (char *)"unset", *source = (char *)"unset", *destination = (char *)"unset";
  struct strv opts = STRV_INIT;
  struct error *err = NULL;
  int r = spec_parse_mount(mount_cases[_i].csv, &type, &source, &destination, &opts, &err);

  if (mount_cases[_i].err) {
    ck_assert_int_eq(r, -1);
    ck_assert_int_eq(err->code, ERR_INVALID);
    ck_assert_msg(strstr(err->msg, mount_cases[_i].err) != NULL, "error '%s' lacks '%s'", err->msg,
                  mount_cases[_i].err);
    ck_assert_str_eq(type, "unset");
    ck_assert_int_eq(opts.n, 0);
    error_free(err);
    return;
  }
  ck_assert_int_eq(r, 0);
  ck_assert_ptr_null(err);
  if (mount_cases[_i].type)
    ck_assert_str_eq(type, mount_cases[_i].type);
  else
    ck_assert_ptr_null(type);
  if (mount_cases[_i].source)
    ck_assert_str_eq(source, mount_cases[_i].source);
  else
    ck_assert_ptr_null(source);
  ck_assert_str_eq(destination, mount_cases[_i].destination);
  struct buf joined = BUF_INIT;
  buf_addstr(&joined, "");
  for (size_t i = 0; i < opts.n; i++)
    buf_addf(&joined, "%s%s", i ? "|" : "", opts.v[i]);
  ck_assert_str_eq(joined.data, mount_cases[_i].options);
  buf_release(&joined);
  strv_release(&opts);
  free(type);
  free(source);
  free(destination);
}
END_TEST

/* ---- container labels ---- */

START_TEST(test_container_labels)
{
  static const char cfg[] = "{\"config\":{\"Cmd\":[\"sh\"],\"StopSignal\":\"SIGQUIT\","
                            "\"Labels\":{\"b\":\"2\",\"a\":\"1\",\"io.containerd.image.config."
                            "stop-signal\":\"SIGHUP\"}}}";
  struct spec_opts o;
  struct strv out = STRV_INIT;
  struct error *err = NULL;

  opts_init(&o, BUSYBOX_CONFIG);
  ck_assert_int_eq(spec_container_labels(&o, &out, &err), 0);
  ck_assert_int_eq(out.n, 1);
  ck_assert_str_eq(out.v[0], "io.containerd.image.config.stop-signal=SIGTERM");
  strv_release(&out);

  opts_init(&o, cfg);
  o.labels = sv("b=3", "c", "x=y=z");
  ck_assert_int_eq(spec_container_labels(&o, &out, &err), 0);
  ck_assert_int_eq(out.n, 5);
  ck_assert_str_eq(out.v[0], "a=1");
  ck_assert_str_eq(out.v[1], "b=3");
  ck_assert_str_eq(out.v[2], "c=true");
  ck_assert_str_eq(out.v[3], "io.containerd.image.config.stop-signal=SIGQUIT");
  ck_assert_str_eq(out.v[4], "x=y=z");
  strv_release(&out);
  release_sv();
}
END_TEST

/* Image labels over containerd's 4096-byte key+value limit are left out. */
START_TEST(test_container_labels_too_long)
{
  struct buf cfg = BUF_INIT;
  struct spec_opts o;
  struct strv out = STRV_INIT;
  struct error *err = NULL;

  buf_addstr(&cfg, "{\"config\":{\"Labels\":{\"ok\":\"");
  for (int i = 0; i < 4094; i++)
    buf_addstr(&cfg, "v");
  buf_addstr(&cfg, "\",\"big\":\"");
  for (int i = 0; i < 4094; i++)
    buf_addstr(&cfg, "v");
  buf_addstr(&cfg, "\"}}}");
  opts_init(&o, cfg.data);
  ck_assert_int_eq(spec_container_labels(&o, &out, &err), 0);
  ck_assert_int_eq(out.n, 2);
  ck_assert_str_eq(out.v[0], "io.containerd.image.config.stop-signal=SIGTERM");
  ck_assert(str_has_prefix(out.v[1], "ok=vvv"));
  strv_release(&out);
  buf_release(&cfg);
}
END_TEST

/* ---- malformed image configs ---- */

static const struct {
  const char *config, *want;
} bad_configs[] = {
    {"{", "image config: malformed JSON"},
    {"", "image config: malformed JSON"},
    {"[]", "image config: not a JSON object"},
    {"{\"config\":[]}", "'config' is not an object"},
    {"{\"config\":{\"Env\":\"PATH=/bin\"}}", "'Env' is not an array of strings"},
    {"{\"config\":{\"Cmd\":[\"sh\",1]}}", "'Cmd' is not an array of strings"},
    {"{\"config\":{\"Entrypoint\":{}}}", "'Entrypoint' is not an array of strings"},
    {"{\"config\":{\"User\":0}}", "'User' is not a string"},
    {"{\"config\":{\"WorkingDir\":[]}}", "'WorkingDir' is not a string"},
    {"{\"config\":{\"StopSignal\":9}}", "'StopSignal' is not a string"},
    {"{\"config\":{\"Labels\":[]}}", "'Labels' is not an object"},
    {"{\"config\":{\"Labels\":{\"a\":1}}}", "label 'a' is not a string"},
    {"{\"config\":{\"Cmd\":[\"a\\u0000b\"]}}", "malformed JSON"},
};

START_TEST(test_bad_config)
{
  struct spec_opts o;
  struct strv out = STRV_INIT;
  struct error *err = NULL;

  opts_init(&o, bad_configs[_i].config);
  build_fails(&o, ERR_INVALID, bad_configs[_i].want);
  ck_assert_int_eq(spec_container_labels(&o, &out, &err), -1);
  ck_assert_ptr_nonnull(strstr(err->msg, bad_configs[_i].want));
  ck_assert_int_eq(out.n, 0);
  error_free(err);
}
END_TEST

START_TEST(test_config_too_large)
{
  size_t n = OCI_MAX_DOCUMENT + 1;
  char *big = xmalloc(n + 1);
  struct spec_opts o;

  memset(big, ' ', n);
  memcpy(big, "{\"config\":{\"Cmd\":[\"sh\"]}}", 25);
  big[n] = '\0';
  opts_init(&o, big);
  build_fails(&o, ERR_INVALID, "over the 4393216 byte limit");
  /* exactly at the limit is fine */
  o.image_config_len = OCI_MAX_DOCUMENT;
  json_t *s = build(&o);
  assert_at(s, "process.args", "[\"sh\"]");
  json_decref(s);
  free(big);
}
END_TEST

Suite *
spec_suite(void)
{
  Suite *s = suite_create("spec");
  TCase *tc = tcase_create("spec");

  tcase_add_checked_fixture(tc, setup, teardown);
  tcase_add_test(tc, test_default_fields);
  tcase_add_test(tc, test_image_config_fields);
  tcase_add_test(tc, test_no_command);
  tcase_add_loop_test(tc, test_flag, 0, ARRAY_SIZE(flag_cases));
  tcase_add_test(tc, test_annotations_sorted);
  tcase_add_loop_test(tc, test_flag_error, 0, ARRAY_SIZE(flag_errors));
  tcase_add_loop_test(tc, test_user, 0, ARRAY_SIZE(user_cases));
  tcase_add_loop_test(tc, test_user_range, 0, ARRAY_SIZE(user_range_cases));
  tcase_add_loop_test(tc, test_env_repeated_keys, 0, ARRAY_SIZE(env_repeat_cases));
  tcase_add_loop_test(tc, test_user_db, 0, ARRAY_SIZE(user_db_cases));
  tcase_add_test(tc, test_user_db_missing_root);
  tcase_add_test(tc, test_user_from_rootfs);
  tcase_add_loop_test(tc, test_cap_eff, 0, ARRAY_SIZE(cap_eff_cases));
  tcase_add_test(tc, test_host_devices);
  tcase_add_test(tc, test_host_devices_tree);
  tcase_add_test(tc, test_host_devices_missing);
  tcase_add_test(tc, test_env_file);
  tcase_add_test(tc, test_env_file_errors);
  tcase_add_loop_test(tc, test_mount, 0, ARRAY_SIZE(mount_cases));
  tcase_add_test(tc, test_container_labels);
  tcase_add_test(tc, test_container_labels_too_long);
  tcase_add_loop_test(tc, test_bad_config, 0, ARRAY_SIZE(bad_configs));
  tcase_add_test(tc, test_config_too_large);
  suite_add_tcase(s, tc);
  return s;
}
