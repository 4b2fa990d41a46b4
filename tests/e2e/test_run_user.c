/* run's users and groups against the real containerd: --user by name, by
 * number and as user:group, an image whose config names a USER, and the
 * supplementary groups of the rootfs /etc/group. The fixture's rootfs has
 * app (1000:1000) and a group extra (2000) that lists app. Each case checks
 * what the process sees (`id`), that ctr's own run gives the same, and the
 * user in the spec containerd holds. */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "util.h"

static char *ns;
static char *img;

static void
setup(void)
{
  e2e_run_fixture("runuser", &ns, &img);
}

static void
teardown(void)
{
  e2e_run_fixture_release(&ns, &img);
}

static json_t *
load_json(const char *path)
{
  json_error_t jerr;
  json_t *j = json_load_file(path, 0, &jerr);
  ck_assert_msg(j != NULL, "%s: %s", path, jerr.text);
  return j;
}

/* Push test/busybox:oci with config.User set to user, as test/runuser:TAG;
 * returns its reference. The layer is mounted from test/busybox. */
static char *
push_image_with_user(const char *user, const char *tag)
{
  cleanup_e2e_out struct e2e_out o = {0};
  const char *reg = e2e_env("CTRX_TEST_REGISTRY");
  cleanup_free char *dir = xasprintf("%s/runuser-%s", e2e_env("CTRX_TEST_ROOT"), tag);
  cleanup_free char *mpath = xasprintf("%s/m.json", dir);
  cleanup_free char *cpath = xasprintf("%s/c.json", dir);
  json_t *m, *c, *layer;
  size_t i;

  ck_assert_msg(e2e_sh(&o, NULL,
                       "mkdir -p %s && curl -sf -H 'Accept: "
                       "application/vnd.oci.image.manifest.v1+json' "
                       "http://%s/v2/test/busybox/manifests/oci > %s",
                       dir, reg, mpath) == 0,
                "%s", o.err);
  m = load_json(mpath);
  ck_assert_msg(e2e_sh(&o, NULL, "curl -sf http://%s/v2/test/busybox/blobs/%s > %s", reg,
                       json_string_value(json_object_get(json_object_get(m, "config"), "digest")),
                       cpath) == 0,
                "%s", o.err);
  c = load_json(cpath);
  json_object_set_new(json_object_get(c, "config"), "User", json_string(user));
  ck_assert_int_eq(json_dump_file(c, cpath, JSON_COMPACT), 0);
  json_decref(c);
  /* the layers by mount, the new config by a monolithic upload */
  json_array_foreach(json_object_get(m, "layers"), i, layer)
  {
    ck_assert_int_eq(e2e_sh(&o, NULL,
                            "curl -sf -X POST -o /dev/null "
                            "'http://%s/v2/test/runuser/blobs/uploads/?mount=%s&from=test/busybox'",
                            reg, json_string_value(json_object_get(layer, "digest"))),
                     0);
  }
  ck_assert_msg(
      e2e_sh(&o, NULL,
             "set -e; d=sha256:$(sha256sum %2$s | cut -d' ' -f1);"
             "loc=$(curl -sf -X POST -D - -o /dev/null http://%1$s/v2/test/runuser/blobs/uploads/ |"
             "  tr -d '\r' | awk 'tolower($1) == \"location:\" {print $2}');"
             "case $loc in http*) ;; *) loc=http://%1$s$loc ;; esac;"
             "case $loc in *\\?*) loc=\"$loc&digest=$d\" ;; *) loc=\"$loc?digest=$d\" ;; esac;"
             "curl -sf -X PUT -H 'Content-Type: application/octet-stream' --data-binary @%2$s "
             "  \"$loc\" >/dev/null;"
             "echo $d; stat -c %%s %2$s",
             reg, cpath) == 0,
      "%s", o.err);
  {
    char digest[80] = "";
    /* "DIGEST\nSIZE\n" */
    size_t n = strcspn(o.out, " \n");
    char *end = NULL;
    long long size;
    ck_assert(n > 0 && n < sizeof(digest) && o.out[n] != '\0');
    memcpy(digest, o.out, n);
    errno = 0;
    size = strtoll(o.out + n + 1, &end, 10);
    ck_assert(errno == 0 && end != o.out + n + 1);
    json_object_set_new(json_object_get(m, "config"), "digest", json_string(digest));
    json_object_set_new(json_object_get(m, "config"), "size", json_integer(size));
  }
  ck_assert_int_eq(json_dump_file(m, mpath, JSON_COMPACT), 0);
  json_decref(m);
  ck_assert_msg(
      e2e_sh(&o, NULL,
             "curl -sf -X PUT -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' "
             "--data-binary @%s http://%s/v2/test/runuser/manifests/%s",
             mpath, reg, tag) == 0,
      "%s", o.err);
  return xasprintf("%s/test/runuser:%s", reg, tag);
}

/* process.user of the spec containerd holds for container id. */
static json_t *
spec_user(const char *id)
{
  cleanup_e2e_out struct e2e_out o = {0};
  json_error_t jerr;
  json_t *info, *u;

  ck_assert_int_eq(e2e_sh(&o, NULL, "$CTR -a \"$ADDR\" -n %s c info %s", ns, id), 0);
  info = json_loads(o.out, 0, &jerr);
  ck_assert_msg(info != NULL, "c info: %s", jerr.text);
  u = json_object_get(json_object_get(json_object_get(info, "Spec"), "process"), "user");
  ck_assert_ptr_nonnull(u);
  json_incref(u);
  json_decref(info);
  return u;
}

/* Whether the real ctr has run --user (1.7 and later; 1.6 has not). */
static bool
ctr_has_user_flag(void)
{
  cleanup_e2e_out struct e2e_out o = {0};
  return e2e_sh(&o, NULL, "$CTR run --help | grep -q -e '--user'") == 0;
}

/* `id` in a container of image with extra run flags, by ctrx (container
 * cx, kept so its spec can be read) and by ctr (container cr, where this
 * ctr has the flags); both must print want, and the spec containerd holds
 * for cx has the user want_user. */
static void
check_id(const char *image, const char *flags, const char *want, const char *want_user)
{
  cleanup_e2e_out struct e2e_out x = {0}, r = {0}, p = {0}, s = {0};

  ck_assert_msg(e2e_sh(&x, NULL, "$CTRX -a \"$ADDR\" -n %s run %s %s cx id", ns, flags, image) == 0,
                "ctrx run %s: %s", flags, x.err);
  ck_assert_msg(strcmp(x.out, want) == 0, "ctrx run %s: got '%s', want '%s'", flags, x.out, want);
  ck_assert_int_eq(
      e2e_sh(&p, NULL, "$CTR -a \"$ADDR\" -n %s images pull --plain-http %s", ns, image), 0);
  if (strstr(flags, "--user") != NULL && !ctr_has_user_flag())
    goto spec;
  ck_assert_msg(
      e2e_sh(&r, NULL, "$CTR -a \"$ADDR\" -n %s run --rm %s %s cr id", ns, flags, image) == 0,
      "ctr run %s: %s", flags, r.err);
  ck_assert_msg(strcmp(r.out, x.out) == 0, "ctr run %s: '%s', ctrx: '%s'", flags, r.out, x.out);
spec : {
  json_t *got = spec_user("cx");
  json_t *want = json_loads(want_user, 0, NULL);
  cleanup_free char *g = json_dumps(got, JSON_COMPACT);
  ck_assert_msg(json_equal(got, want), "spec user %s: got %s, want %s", flags, g, want_user);
  json_decref(got);
  json_decref(want);
}
  e2e_sh(&s, NULL,
         "$CTR -a \"$ADDR\" -n %1$s tasks rm cx >/dev/null 2>&1; $CTR -a \"$ADDR\" -n %1$s c rm cx",
         ns);
}

START_TEST(user_by_name_number_and_group)
{
  check_id(img, "--user app", "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n",
           "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,2000]}");
  check_id(img, "--user 1000", "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n",
           "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,2000]}");
  check_id(img, "--user app:extra", "uid=1000(app) gid=2000(extra) groups=2000(extra)\n",
           "{\"uid\":1000,\"gid\":2000,\"additionalGids\":[2000]}");
  check_id(img, "--user 65534:2000", "uid=65534(nobody) gid=2000(extra) groups=2000(extra)\n",
           "{\"uid\":65534,\"gid\":2000,\"additionalGids\":[2000]}");
  /* a uid without a passwd entry: gid 0 */
  check_id(img, "--user 4242", "uid=4242 gid=0(root) groups=0(root)\n",
           "{\"uid\":4242,\"gid\":0,\"additionalGids\":[0]}");
}
END_TEST

START_TEST(image_config_user)
{
  cleanup_free char *ref = push_image_with_user("app", ns);

  check_id(ref, "", "uid=1000(app) gid=1000(app) groups=1000(app),2000(extra)\n",
           "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[1000,2000]}");
  /* --user over the image's USER */
  check_id(ref, "--user nobody", "uid=65534(nobody) gid=65534(nogroup) groups=65534(nogroup)\n",
           "{\"uid\":65534,\"gid\":65534,\"additionalGids\":[65534]}");
}
END_TEST

/* Refused before anything is created: a name the rootfs does not have, and
 * a uid that would wrap around to root. */
START_TEST(bad_users_leave_nothing)
{
  cleanup_e2e_out struct e2e_out a = {0}, b = {0}, s = {0};

  ck_assert_int_eq(
      e2e_sh(&a, NULL, "$CTRX -a \"$ADDR\" -n %s run --rm --user mallory %s b1 id", ns, img), 1);
  ck_assert_msg(strstr(a.err, "user 'mallory': no users found in /etc/passwd"), "%s", a.err);
  ck_assert_int_eq(
      e2e_sh(&b, NULL, "$CTRX -a \"$ADDR\" -n %s run --rm --user 4294967296 %s b2 id", ns, img), 1);
  ck_assert_msg(strstr(b.err, "invalid USER value '4294967296': uid out of range"), "%s", b.err);
  e2e_sh(&s, NULL,
         "$CTR -a \"$ADDR\" -n %1$s c ls -q; $CTR -a \"$ADDR\" -n %1$s snapshots ls | awk '$NF == "
         "\"Active\"'; $CTR -a \"$ADDR\" -n %1$s leases ls -q",
         ns);
  ck_assert_str_eq(s.out, "");
}
END_TEST

Suite *
run_user_suite(void)
{
  Suite *s = suite_create("run_user");
  TCase *t = tcase_create("user");

  tcase_set_timeout(t, 240);
  tcase_add_checked_fixture(t, setup, teardown);
  tcase_add_test(t, user_by_name_number_and_group);
  tcase_add_test(t, image_config_user);
  tcase_add_test(t, bad_users_leave_nothing);
  suite_add_tcase(s, t);
  return s;
}
