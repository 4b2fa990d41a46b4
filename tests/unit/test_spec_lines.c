/* The spec per containerd line: which line a daemon version belongs to, and
 * the whole spec each line's ctr run writes (masked and read-only paths,
 * capabilities, namespaces, mounts), byte for byte, the default one and the
 * --privileged one. The lines differ in ociVersion only; the powercap mask
 * that 1.6.20 lacks is applied on every line. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "spec.h"
#include "spec_golden.h"
#include "util.h"

Suite *spec_lines_suite(void);

static const struct {
  const char *version;
  enum spec_line want;
} line_cases[] = {
    {"1.6.20~ds1", SPEC_LINE_1_6}, /* Debian 12's package */
    {"v1.6.38", SPEC_LINE_1_6},
    {"1.5.18", SPEC_LINE_1_6},
    {"0.2.0", SPEC_LINE_1_6},
    {"1.7.29", SPEC_LINE_1_7},
    {"v1.7.0", SPEC_LINE_1_7},
    {"1.7.0-rc.1", SPEC_LINE_1_7},
    {"1.10.0", SPEC_LINE_1_7}, /* a minor of two digits is not 1.1 */
    {"2.1.5", SPEC_LINE_2},
    {"v2.0.0", SPEC_LINE_2},
    {"2.2.0-beta.0+unknown", SPEC_LINE_2},
    {"3.0.0", SPEC_LINE_2},
    /* no MAJOR.MINOR: the newest line */
    {"", SPEC_LINE_2},
    {"1", SPEC_LINE_2},
    {"1.", SPEC_LINE_2},
    {"v", SPEC_LINE_2},
    {"unknown", SPEC_LINE_2},
    {".7.1", SPEC_LINE_2},
    {NULL, SPEC_LINE_2},
    {"99999999999999999999.1", SPEC_LINE_2},
};

START_TEST(test_line_of)
{
  const char *v = line_cases[_i].version;

  ck_assert_msg(spec_line_of(v) == line_cases[_i].want, "'%s': got %d, want %d", v ? v : "(null)",
                (int)spec_line_of(v), (int)line_cases[_i].want);
}
END_TEST

/* The spec of `ctr -n research run busybox:1.0 x /bin/echo hi`, as the line's
 * ctr writes it (the 1.6.20 record was 2742 bytes, in Go's field order),
 * with the powercap mask. */
#define BUSYBOX_SPEC(oci_version)                                                                  \
  "{\"ociVersion\":\"" oci_version "\","                                                           \
  "\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[0]},"                            \
  "\"args\":[\"/bin/echo\",\"hi\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","                         \
  "\"capabilities\":{\"bounding\":" DEFAULT_CAPS ",\"effective\":" DEFAULT_CAPS                    \
  ",\"permitted\":" DEFAULT_CAPS "},"                                                              \
  "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"                        \
  "\"noNewPrivileges\":true},"                                                                     \
  "\"root\":{\"path\":\"rootfs\"},"                                                                \
  "\"mounts\":[" DEFAULT_MOUNTS "],"                                                               \
  "\"linux\":{\"resources\":{\"devices\":[" DEFAULT_DEVICES "],\"cpu\":{\"shares\":1024}},"        \
  "\"cgroupsPath\":\"/research/x\","                                                               \
  "\"namespaces\":[" DEFAULT_NAMESPACES "],"                                                       \
  "\"maskedPaths\":[" MASKED_PATHS "],"                                                            \
  "\"readonlyPaths\":[" READONLY_PATHS "]}}"

/* --privileged, from a caller whose CapEff is CAP_CHOWN and CAP_KILL, on a
 * host whose /dev holds /dev/null: no masked or read-only paths, /sys
 * writable, every device allowed, the host's device nodes. */
#define PRIVILEGED_MOUNTS                                                                          \
  "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\","      \
  "\"noexec\",\"nodev\"]},{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","      \
  "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":"       \
  "\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\","     \
  "\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\","     \
  "\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\","            \
  "\"mode=1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\","          \
  "\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":"         \
  "\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\","           \
  "\"nodev\",\"rw\"]},{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","          \
  "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]}"
#define PRIVILEGED_CAPS "[\"CAP_CHOWN\",\"CAP_KILL\"]"
#define PRIVILEGED_SPEC(oci_version)                                                               \
  "{\"ociVersion\":\"" oci_version "\","                                                           \
  "\"process\":{\"user\":{\"uid\":0,\"gid\":0,\"additionalGids\":[0]},"                            \
  "\"args\":[\"/bin/echo\",\"hi\"],\"env\":[\"PATH=/bin\"],\"cwd\":\"/\","                         \
  "\"capabilities\":{\"bounding\":" PRIVILEGED_CAPS ",\"effective\":" PRIVILEGED_CAPS              \
  ",\"permitted\":" PRIVILEGED_CAPS "},"                                                           \
  "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":1024,\"soft\":1024}],"                        \
  "\"noNewPrivileges\":true},"                                                                     \
  "\"root\":{\"path\":\"rootfs\"},"                                                                \
  "\"mounts\":[" PRIVILEGED_MOUNTS "],"                                                            \
  "\"linux\":{\"resources\":{\"devices\":[{\"allow\":true,\"access\":\"rwm\"}],"                   \
  "\"cpu\":{\"shares\":1024}},"                                                                    \
  "\"cgroupsPath\":\"/research/x\","                                                               \
  "\"namespaces\":[" DEFAULT_NAMESPACES "],"                                                       \
  "\"devices\":[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3,"                   \
  "\"fileMode\":438,\"uid\":0,\"gid\":0}]}}"

static const struct {
  enum spec_line line;
  const char *spec, *privileged;
  size_t len;
} golden[] = {
    {SPEC_LINE_1_6, BUSYBOX_SPEC("1.0.2-dev"), PRIVILEGED_SPEC("1.0.2-dev"), 2742 + 32},
    {SPEC_LINE_1_7, BUSYBOX_SPEC("1.1.0"), PRIVILEGED_SPEC("1.1.0"), 2742 + 32 - 4},
    {SPEC_LINE_2, BUSYBOX_SPEC("1.2.1"), PRIVILEGED_SPEC("1.2.1"), 2742 + 32 - 4},
};

static void
opts_init(struct spec_opts *o, enum spec_line line, char *const *args, size_t n_args)
{
  memset(o, 0, sizeof(*o));
  o->line = line;
  o->ns = "research";
  o->id = "x";
  o->image_config = BUSYBOX_CONFIG;
  o->image_config_len = strlen(BUSYBOX_CONFIG);
  o->args = args;
  o->n_args = n_args;
}

static void
assert_spec(const struct spec_opts *o, const char *want)
{
  cleanup_free char *text = NULL;
  struct error *err = NULL;

  if (spec_build(o, &text, &err) < 0) {
    ck_abort_msg("spec_build failed: %s", err->msg);
    error_free(err);
  }
  ck_assert_str_eq(text, want);
}

START_TEST(test_line_default)
{
  char *const args[] = {(char *)"/bin/echo", (char *)"hi"};
  struct spec_opts o;

  opts_init(&o, golden[_i].line, args, 2);
  ck_assert_int_eq(strlen(golden[_i].spec), golden[_i].len);
  assert_spec(&o, golden[_i].spec);
}
END_TEST

START_TEST(test_line_privileged)
{
  char *const args[] = {(char *)"/bin/echo", (char *)"hi"};
  struct spec_device null_dev = {(char *)"/dev/null", 'c', 1, 3, 0666, 0, 0};
  struct spec_devices devs = {&null_dev, 1};
  struct spec_opts o;

  opts_init(&o, golden[_i].line, args, 2);
  o.privileged = true;
  o.current_caps = (1u << 0) | (1u << 5); /* CAP_CHOWN, CAP_KILL */
  o.host_devices = &devs;
  assert_spec(&o, golden[_i].privileged);
}
END_TEST

START_TEST(test_line_unknown)
{
  char *const args[] = {(char *)"/bin/true"};
  cleanup_free char *text = NULL;
  struct error *err = NULL;
  struct spec_opts o;

  opts_init(&o, (enum spec_line)(SPEC_LINE_2 + 1), args, 1);
  ck_assert_int_eq(spec_build(&o, &text, &err), -1);
  ck_assert_ptr_null(text);
  ck_assert_int_eq(err->code, ERR_INVALID);
  error_free(err);
}
END_TEST

Suite *
spec_lines_suite(void)
{
  Suite *s = suite_create("spec_lines");
  TCase *tc = tcase_create("spec_lines");

  tcase_add_loop_test(tc, test_line_of, 0, ARRAY_SIZE(line_cases));
  tcase_add_loop_test(tc, test_line_default, 0, ARRAY_SIZE(golden));
  tcase_add_loop_test(tc, test_line_privileged, 0, ARRAY_SIZE(golden));
  tcase_add_test(tc, test_line_unknown);
  suite_add_tcase(s, tc);
  return s;
}
