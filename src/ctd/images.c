#include "ctd.h"

#include "images.pb-c.h"
#include "util.h"

int
ctd_image_get(struct grpc_conn *c, const char *name, char **digest, struct error **err)
{
  Containerd__Services__Images__V1__GetImageRequest req =
      CONTAINERD__SERVICES__IMAGES__V1__GET_IMAGE_REQUEST__INIT;
  Containerd__Services__Images__V1__GetImageResponse *resp = NULL;

  req.name = (char *)name;
  if (grpc_unary(c, CTD_SVC("images", "Images", "Get"), &req.base,
                 &containerd__services__images__v1__get_image_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, err) < 0)
    return -1;
  if (digest)
    *digest = xstrdup(resp->image && resp->image->target ? resp->image->target->digest : "");
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}
