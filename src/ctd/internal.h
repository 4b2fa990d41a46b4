/* Shared by the ctd/ files only. */
#ifndef CTRX_CTD_INTERNAL_H
#define CTRX_CTD_INTERNAL_H

#include "snapshots.pb-c.h"

/* Mounts as containerd answered them (Prepare and Mounts have the same shape),
 * handed on unchanged to Diff/Apply and Tasks/Create. */
struct ctd_mounts {
  Containerd__Services__Snapshots__V1__PrepareSnapshotResponse *resp;
};

#endif
