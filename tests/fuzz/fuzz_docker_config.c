/* libFuzzer target: a docker config.json (a file of its own) into the
 * credentials lookup, for Docker Hub's aliases and for a plain registry. The
 * lookup finds nothing, finds "user:password", or fails with ERR_INVALID and
 * nothing returned. */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry_internal.h"
#include "util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char config_dir[] = "/tmp/ctrx-fuzz-docker-config.XXXXXX";
static char *config_path;

static void
remove_config(void)
{
  unlink(config_path);
  rmdir(config_dir);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
  if (mkdtemp(config_dir) == NULL)
    abort();
  config_path = xasprintf("%s/config.json", config_dir);
  atexit(remove_config);
  return 0;
}

static void
lookup(const char *host)
{
  char *user_pass = NULL;
  struct error *err = NULL;
  int rv = auth_docker_credentials(config_path, host, &user_pass, &err);

  if (rv < 0) {
    if (user_pass != NULL || err == NULL || err->code != ERR_INVALID)
      __builtin_trap();
    error_free(err);
    return;
  }
  if (err != NULL || (rv == 1) != (user_pass != NULL))
    __builtin_trap();
  if (user_pass != NULL && strchr(user_pass, ':') == NULL)
    __builtin_trap();
  free(user_pass);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd = open(config_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

  if (fd < 0 || write(fd, data, size) != (ssize_t)size || close(fd) < 0)
    abort();
  lookup("docker.io");
  lookup("registry-1.docker.io");
  lookup("localhost:5000");
  return 0;
}
