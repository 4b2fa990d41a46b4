#include <fcntl.h>
#include <time.h>

#include "ctd.h"
#include "leases.pb-c.h"
#include "util.h"

/* The id style ctr uses: nanoseconds of the current second and a random tail. */
static char *
lease_id(void)
{
  struct timespec ts;
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  unsigned r = 0;
  cleanup_close int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

  clock_gettime(CLOCK_REALTIME, &ts);
  if (fd < 0 || read(fd, &r, sizeof(r)) != sizeof(r))
    r = (unsigned)ts.tv_nsec ^ (unsigned)getpid();
  return xasprintf("%ld-%c%c%c%c", ts.tv_nsec, b64[r & 63], b64[(r >> 6) & 63], b64[(r >> 12) & 63],
                   b64[(r >> 18) & 63]);
}

int
ctd_lease_create(struct grpc_conn *c, char **id, struct error **err)
{
  Containerd__Services__Leases__V1__CreateRequest req =
      CONTAINERD__SERVICES__LEASES__V1__CREATE_REQUEST__INIT;
  Containerd__Services__Leases__V1__CreateRequest__LabelsEntry label =
      CONTAINERD__SERVICES__LEASES__V1__CREATE_REQUEST__LABELS_ENTRY__INIT;
  Containerd__Services__Leases__V1__CreateRequest__LabelsEntry *labels[] = {&label};
  Containerd__Services__Leases__V1__CreateResponse *resp = NULL;
  cleanup_free char *want = lease_id();
  char expire[32];
  time_t t = time(NULL) + 24 * 3600;
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(expire, sizeof(expire), "%Y-%m-%dT%H:%M:%SZ", &tm);
  label.key = (char *)"containerd.io/gc.expire";
  label.value = expire;
  req.id = want;
  req.n_labels = 1;
  req.labels = labels;
  if (grpc_unary(c, CTD_SVC("leases", "Leases", "Create"), &req.base,
                 &containerd__services__leases__v1__create_response__descriptor,
                 (ProtobufCMessage **)&resp, NULL, err) < 0)
    return error_wrap(err, "create lease");
  *id = xstrdup(resp->lease && resp->lease->id ? resp->lease->id : want);
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_lease_delete(struct grpc_conn *c, const char *id, struct error **err)
{
  Containerd__Services__Leases__V1__DeleteRequest req =
      CONTAINERD__SERVICES__LEASES__V1__DELETE_REQUEST__INIT;

  req.id = (char *)id;
  if (grpc_unary(c, CTD_SVC("leases", "Leases", "Delete"), &req.base, NULL, NULL, NULL, err) < 0)
    return error_wrap(err, "delete lease '%s'", id);
  return 0;
}
