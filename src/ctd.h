/* Typed calls to containerd's services. Thin: one function per RPC we use,
 * no policy. Generated message types come from proto/ (built by protoc-c). */
#ifndef CTRX_CTD_H
#define CTRX_CTD_H

#include "error.h"
#include "grpc.h"

#define CTD_SVC(pkg, svc, method) "/containerd.services." pkg ".v1." svc "/" method

/* Version/Version: both strings are newly allocated. */
int ctd_version(struct grpc_conn *c, char **version, char **revision, struct error **err);
/* Introspection/Server: the daemon's UUID, newly allocated. */
int ctd_server_uuid(struct grpc_conn *c, char **uuid, struct error **err);
/* Images/Get: 0 when the image exists (its target digest in *digest if
 * digest != NULL), -1 with ERR_NOT_FOUND when it does not. */
int ctd_image_get(struct grpc_conn *c, const char *name, char **digest, struct error **err);

#endif
