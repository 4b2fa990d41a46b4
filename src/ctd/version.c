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
ctd_version_info(struct grpc_conn *c, char **version, char **revision, char **uuid,
                 struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
  Containerd__Services__Version__V1__VersionResponse *v = NULL;
  Containerd__Services__Introspection__V1__ServerResponse *srv = NULL;
  struct grpc_stream *sv = NULL, *ss = NULL;

  *uuid = NULL;
  if (grpc_unary_begin(c, "/containerd.services.version.v1.Version/Version", &req.base, NULL, &sv,
                       err) < 0)
    return -1;
  if (grpc_unary_begin(c, CTD_SVC("introspection", "Introspection", "Server"), &req.base, NULL, &ss,
                       NULL) < 0)
    ss = NULL;
  if (grpc_unary_end(sv, &containerd__services__version__v1__version_response__descriptor,
                     (ProtobufCMessage **)&v, err) < 0) {
    grpc_stream_free(ss);
    return -1;
  }
  *version = xstrdup(v->version);
  *revision = xstrdup(v->revision);
  protobuf_c_message_free_unpacked(&v->base, NULL);
  if (ss &&
      grpc_unary_end(ss, &containerd__services__introspection__v1__server_response__descriptor,
                     (ProtobufCMessage **)&srv, NULL) == 0) {
    *uuid = xstrdup(srv->uuid);
    protobuf_c_message_free_unpacked(&srv->base, NULL);
  }
  return 0;
}
