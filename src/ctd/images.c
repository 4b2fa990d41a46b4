#include "ctd.h"
#include "ctd/internal.h"

#include "images.pb-c.h"
#include "types.pb-c.h"
#include "util.h"

int
ctd_image_get(struct grpc_conn *c, const char *name, char **media_type, char **digest,
              struct error **err)
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
  if (media_type)
    *media_type =
        xstrdup(resp->image && resp->image->target ? resp->image->target->media_type : "");
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_image_put(struct grpc_conn *c, const char *lease, const char *name, const char *media_type,
              const char *digest, int64_t size, const struct strv *labels, struct error **err)
{
  Containerd__Services__Images__V1__Image img = CONTAINERD__SERVICES__IMAGES__V1__IMAGE__INIT;
  Containerd__Types__Descriptor d = CONTAINERD__TYPES__DESCRIPTOR__INIT;
  Containerd__Services__Images__V1__CreateImageRequest creq =
      CONTAINERD__SERVICES__IMAGES__V1__CREATE_IMAGE_REQUEST__INIT;
  Containerd__Services__Images__V1__UpdateImageRequest ureq =
      CONTAINERD__SERVICES__IMAGES__V1__UPDATE_IMAGE_REQUEST__INIT;
  size_t n = labels ? labels->n : 0;
  Containerd__Services__Images__V1__Image__LabelsEntry *entries = xcalloc(n, sizeof(*entries));
  Containerd__Services__Images__V1__Image__LabelsEntry **ep = xcalloc(n, sizeof(*ep));
  cleanup_strv struct strv keys = STRV_INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts opts = ctd_lease_opts(lease, md);
  struct error *e = NULL;
  int rv;

  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(labels->v[i], '=');
    containerd__services__images__v1__image__labels_entry__init(&entries[i]);
    strv_push_owned(&keys, eq ? xstrndup(labels->v[i], (size_t)(eq - labels->v[i]))
                              : xstrdup(labels->v[i]));
    entries[i].key = keys.v[i];
    entries[i].value = (char *)(eq ? eq + 1 : "");
    ep[i] = &entries[i];
  }
  d.media_type = (char *)media_type;
  d.digest = (char *)digest;
  d.size = size;
  img.name = (char *)name;
  img.target = &d;
  img.n_labels = n;
  img.labels = ep;
  creq.image = &img;
  rv = grpc_unary(c, CTD_SVC("images", "Images", "Create"), &creq.base, NULL, NULL, &opts, &e);
  if (rv < 0 && error_is(e, ERR_ALREADY_EXISTS)) {
    error_freep(&e);
    ureq.image = &img;
    rv = grpc_unary(c, CTD_SVC("images", "Images", "Update"), &ureq.base, NULL, NULL, &opts, &e);
  }
  free(ep);
  free(entries);
  if (rv < 0) {
    *err = e;
    return error_wrap(err, "create image '%s'", name);
  }
  return 0;
}
