/* libFuzzer target: any bytes into the TOML parser. A document either parses
 * into a tree that can be walked and freed, or fails with a positioned error. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "toml.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t
walk(const struct toml_value *v, int depth)
{
  size_t n = 1;

  for (size_t i = 0; i < toml_len(v); i++) {
    if (v->type == TOML_TABLE && toml_key_at(v, i) == NULL)
      __builtin_trap();
    n += walk(toml_at(v, i), depth + 1);
  }
  if (v->type == TOML_STRING && strlen(v->u.str.ptr) > v->u.str.len)
    __builtin_trap();
  return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct error *err = NULL;
  struct toml_value *root = NULL;

  if (toml_parse((const char *)data, size, "fuzz.toml", &root, &err) < 0) {
    /* every error names its position */
    if (err == NULL || strncmp(err->msg, "fuzz.toml:", 10) != 0)
      __builtin_trap();
    error_free(err);
    return 0;
  }
  walk(root, 0);
  toml_get_path(root, "a.\"b\".c");
  toml_free(root);
  return 0;
}
