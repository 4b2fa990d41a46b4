/* Shared by the ctd/ files only. */
#ifndef CTRX_CTD_INTERNAL_H
#define CTRX_CTD_INTERNAL_H

#include "ctd.h"
#include "snapshots.pb-c.h"

/* Call options that send lease (NULL or "": none); md is the caller's
 * storage and must live as long as the options. */
static inline struct grpc_call_opts
ctd_lease_opts(const char *lease, struct grpc_metadata md[1])
{
  md[0] = (struct grpc_metadata){CTD_LEASE_KEY, lease};
  return (struct grpc_call_opts){.md = md, .n_md = 1};
}

/* Mounts as containerd answered them (Prepare and Mounts have the same shape),
 * handed on unchanged to Diff/Apply and Tasks/Create. */
struct ctd_mounts {
  Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *resp;
};

#endif
