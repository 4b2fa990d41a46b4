/* The connection to containerd: gRPC (grpc.h) plus what is containerd's,
 * its name in messages, the hints for the user and the namespace header. */
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
