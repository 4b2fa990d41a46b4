#include "ctd.h"

#include "google/protobuf/empty.pb-c.h"
#include "introspection.pb-c.h"
#include "util.h"
#include "version.pb-c.h"

#define VERSION_PATH "/containerd.services.version.v1.Version/Version"

int
ctd_version_begin(struct grpc_conn *c, struct grpc_stream **s, struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;

  return grpc_unary_begin(c, VERSION_PATH, &req.base, NULL, s, err);
}

int
ctd_version_end(struct grpc_stream *s, char **version, char **revision, struct error **err)
{
  Containerd__Services__Version__V1__VersionResponse *resp = NULL;

  if (grpc_unary_end(s, &containerd__services__version__v1__version_response__descriptor,
                     (ProtobufCMessage **)&resp, err) < 0)
    return -1;
  *version = xstrdup(resp->version);
  if (revision != NULL)
    *revision = xstrdup(resp->revision);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_version(struct grpc_conn *c, char **version, char **revision, struct error **err)
{
  struct grpc_stream *s = NULL;

  if (ctd_version_begin(c, &s, err) < 0)
    return -1;
  return ctd_version_end(s, version, revision, err);
}

int
ctd_version_info(struct grpc_conn *c, char **version, char **revision, char **uuid,
                 struct error **err)
{
  Google__Protobuf__Empty req = GOOGLE__PROTOBUF__EMPTY__INIT;
  Containerd__Services__Introspection__V1__ServerResponse *srv = NULL;
  struct grpc_stream *sv = NULL, *ss = NULL;

  *uuid = NULL;
  if (ctd_version_begin(c, &sv, err) < 0)
    return -1;
  if (grpc_unary_begin(c, CTD_SVC("introspection", "Introspection", "Server"), &req.base, NULL, &ss,
                       NULL) < 0)
    ss = NULL;
  if (ctd_version_end(sv, version, revision, err) < 0) {
    grpc_stream_free(ss);
    return -1;
  }
  if (ss &&
      grpc_unary_end(ss, &containerd__services__introspection__v1__server_response__descriptor,
                     (ProtobufCMessage **)&srv, NULL) == 0) {
    *uuid = xstrdup(srv->uuid);
    protobuf_c_message_free_unpacked(&srv->base, NULL);
  }
  return 0;
}
