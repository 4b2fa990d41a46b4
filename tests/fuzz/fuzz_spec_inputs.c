/* libFuzzer target for the outside inputs of spec generation. The first byte
 * picks the parser, the rest is its input:
 *   'c'  image config JSON into spec_build and spec_container_labels
 *   'm'  one --mount CSV value
 *   'e'  env-file text
 *   'u'  "USER\0PASSWD\0GROUP": --user resolved against /etc/passwd, /etc/group
 * Each either succeeds with output that is valid JSON / sane fields, or fails
 * with an error and nothing returned. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "spec.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char busybox_config[] = "{\"config\":{\"Cmd\":[\"/bin/sh\"],\"Env\":[\"PATH=/bin\"]}}";

static void
check_spec(const struct spec_opts *o)
{
  char *json = NULL;
  struct error *err = NULL;

  if (spec_build(o, &json, &err) < 0) {
    if (json != NULL || err == NULL || err->msg == NULL)
      __builtin_trap();
    error_free(err);
    return;
  }
  if (err != NULL || json == NULL)
    __builtin_trap();
  json_t *j = json_loads(json, 0, NULL);
  if (j == NULL || !json_is_array(json_object_get(json_object_get(j, "process"), "args")) ||
      json_array_size(json_object_get(json_object_get(j, "process"), "args")) == 0)
    __builtin_trap();
  json_decref(j);
  free(json);
}

static void
fuzz_config(const char *text, size_t n)
{
  struct spec_opts o = {0};
  struct strv labels = STRV_INIT;
  struct error *err = NULL;

  o.ns = "default";
  o.id = "fuzz";
  o.image_config = text;
  o.image_config_len = n;
  check_spec(&o);
  if (spec_container_labels(&o, &labels, &err) < 0) {
    if (labels.n != 0 || err == NULL)
      __builtin_trap();
    error_free(err);
  } else {
    if (labels.n == 0)
      __builtin_trap();
    for (size_t i = 0; i < labels.n; i++)
      if (strchr(labels.v[i], '=') == NULL)
        __builtin_trap();
  }
  strv_release(&labels);
}

static void
fuzz_mount(const char *csv)
{
  char *type = NULL, *source = NULL, *destination = NULL;
  struct strv opts = STRV_INIT;
  struct error *err = NULL;

  if (spec_parse_mount(csv, &type, &source, &destination, &opts, &err) < 0) {
    if (type || source || destination || opts.n != 0 || err == NULL || err->code != ERR_INVALID)
      __builtin_trap();
    error_free(err);
    return;
  }
  if (err != NULL || destination == NULL || destination[0] == '\0')
    __builtin_trap();
  for (size_t i = 0; i < opts.n; i++)
    if (opts.v[i][0] == '\0' || strchr(opts.v[i], ':') != NULL)
      __builtin_trap();
  free(type);
  free(source);
  free(destination);
  strv_release(&opts);

  /* and as a flag of a whole spec */
  struct spec_opts o = {0};
  struct strv mounts = STRV_INIT;
  strv_push(&mounts, csv);
  o.image_config = busybox_config;
  o.image_config_len = strlen(busybox_config);
  o.mounts = &mounts;
  check_spec(&o);
  strv_release(&mounts);
}

static void
fuzz_env(const char *text, size_t n)
{
  struct strv out = STRV_INIT;
  struct error *err = NULL;

  if (spec_parse_env(text, n, "fuzz.env", &out, &err) < 0) {
    if (out.n != 0 || err == NULL || err->code != ERR_INVALID)
      __builtin_trap();
    error_free(err);
    return;
  }
  for (size_t i = 0; i < out.n; i++)
    if (strchr(out.v[i], '=') == NULL || strchr(out.v[i], '\n') != NULL)
      __builtin_trap();
  strv_release(&out);
}

static void
fuzz_user(const char *text, size_t n)
{
  /* three NUL-separated strings; missing ones are absent files */
  const char *user = text, *passwd = NULL, *group = NULL;
  const char *z = memchr(text, '\0', n);
  struct spec_opts o = {0};

  if (z != NULL && (size_t)(z - text) + 1 < n) {
    passwd = z + 1;
    z = memchr(passwd, '\0', n - (size_t)(passwd - text));
    if (z != NULL && (size_t)(z - text) + 1 < n)
      group = z + 1;
  }
  o.image_config = busybox_config;
  o.image_config_len = strlen(busybox_config);
  o.user = user;
  o.passwd = passwd;
  o.group = group;
  check_spec(&o);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text;

  if (size < 1)
    return 0;
  /* one NUL beyond the input so the C-string parsers stay in bounds */
  text = xmalloc(size);
  memcpy(text, data + 1, size - 1);
  text[size - 1] = '\0';
  switch (data[0]) {
  case 'c':
    fuzz_config(text, size - 1);
    break;
  case 'm':
    fuzz_mount(text);
    break;
  case 'e':
    fuzz_env(text, size - 1);
    break;
  case 'u':
    fuzz_user(text, size - 1);
    break;
  default:
    break;
  }
  free(text);
  return 0;
}
