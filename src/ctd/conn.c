/* The connection to containerd: gRPC (grpc.h) plus what is containerd's,
 * its name in messages, the hints for the user and the namespace header. */
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include "ctd.h"

static const struct grpc_peer containerd = {
    "containerd",
    "is containerd running? give its socket with -a or CONTAINERD_ADDRESS",
    "is it containerd's gRPC socket? raise --connect-timeout if it is busy",
};

int
ctd_connect(const char *address, int64_t connect_timeout_ms, struct grpc_conn **out,
            struct error **err)
{
  return grpc_connect(address, &containerd, connect_timeout_ms, out, err);
}

void
ctd_set_namespace(struct grpc_conn *c, const char *ns)
{
  grpc_conn_set_metadata(c, CTD_NAMESPACE_KEY, ns);
}

char *
ctd_unique_name(const char *prefix, const char *suffix)
{
  struct timespec ts;
  unsigned r = 0;
  cleanup_close int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

  clock_gettime(CLOCK_REALTIME, &ts);
  if (fd < 0 || read(fd, &r, sizeof(r)) != sizeof(r))
    r = (unsigned)ts.tv_nsec;
  return xasprintf("%s-%ld-%06x%s%s", prefix, ts.tv_nsec, r & 0xffffff, suffix ? " " : "",
                   suffix ? suffix : "");
}
