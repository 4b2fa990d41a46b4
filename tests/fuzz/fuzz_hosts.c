/* libFuzzer target: hosts.toml bytes into the endpoint list, for a registry
 * with a default upstream and for a localhost one, then into the text that
 * `ctrx hosts` prints. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hosts.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const char *registry, const uint8_t *data, size_t size)
{
  static const char file[] = "/etc/containerd/certs.d/x/hosts.toml";
  struct hosts_config c = {0};
  struct error *err = NULL;
  struct buf out = BUF_INIT;

  if (hosts_parse(registry, "/etc/containerd/certs.d/x", file, (const char *)data, size,
                  &c.endpoints, &err) < 0) {
    /* every rejection names the file and a position */
    if (err == NULL || strncmp(err->msg, file, sizeof(file) - 1) != 0)
      __builtin_trap();
    error_free(err);
    return;
  }
  /* the list always ends with exactly one upstream endpoint */
  if (c.endpoints.n == 0 || !c.endpoints.v[c.endpoints.n - 1].upstream)
    __builtin_trap();
  for (size_t i = 0; i < c.endpoints.n; i++) {
    const struct hosts_endpoint *e = &c.endpoints.v[i];
    if (e->scheme == NULL || e->host == NULL || e->path == NULL || e->host[0] == '\0')
      __builtin_trap();
    if (strcmp(e->scheme, "http") != 0 && strcmp(e->scheme, "https") != 0)
      __builtin_trap();
  }
  c.registry = xstrdup(registry);
  c.file = xstrdup(file);
  c.source = HOSTS_SOURCE_TOML;
  hosts_describe(&c, &out);
  if (out.len == 0 || out.data[out.len - 1] != '\n')
    __builtin_trap();
  buf_release(&out);
  hosts_config_release(&c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  one("docker.io", data, size);
  one("localhost:5000", data, size);
  return 0;
}
