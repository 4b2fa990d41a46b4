#include "ctd.h"

#include "google/protobuf/empty.pb-c.h"
#include "introspection.pb-c.h"
#include "util.h"
#include "version.pb-c.h"

int
ctd_version(struct grpc_conn *c, char **version, char **revision, struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
  Containerd__Services__Version__V1__VersionResponse *resp = NULL;

  if (grpc_unary(c, "/containerd.services.version.v1.Version/Version", &req.base,
                 &containerd__services__version__v1__version_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, err) < 0)
    return -1;
  *version = xstrdup(resp->version);
  *revision = xstrdup(resp->revision);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_server_uuid(struct grpc_conn *c, char **uuid, struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
  Containerd__Services__Introspection__V1__ServerResponse *resp = NULL;

  if (grpc_unary(c, CTD_SVC("introspection", "Introspection", "Server"), &req.base,
                 &containerd__services__introspection__v1__server_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, err) < 0)
    return -1;
  *uuid = xstrdup(resp->uuid);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}
