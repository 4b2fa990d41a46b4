/* libFuzzer target: any bytes into the WWW-Authenticate parser. A header
 * either parses into challenges whose fields are sane, or fails with
 * ERR_INVALID and nothing allocated. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct auth_challenge *c = NULL;
  struct error *err = NULL;
  char *header = xstrndup((const char *)data, size);
  size_t n = 0;

  if (auth_parse_challenges(header, &c, &n, &err) < 0) {
    if (c != NULL || n != 0 || err == NULL || err->code != ERR_INVALID)
      __builtin_trap();
    error_free(err);
  } else {
    if (err != NULL || (n > 0 && c == NULL))
      __builtin_trap();
    for (size_t i = 0; i < n; i++) {
      if (c[i].scheme == NULL || c[i].scheme[0] == '\0' || strlen(c[i].scheme) > size)
        __builtin_trap();
      for (size_t j = 0; j < c[i].scopes.n; j++)
        if (c[i].scopes.v[j][0] == '\0' || strchr(c[i].scopes.v[j], ' ') != NULL)
          __builtin_trap();
      if (c[i].realm != NULL && strlen(c[i].realm) > size)
        __builtin_trap();
    }
    auth_challenges_free(c, n);
  }
  free(header);
  return 0;
}
