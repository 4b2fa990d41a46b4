#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>

#include "containers.pb-c.h"
#include "ctd.h"
#include "ctd/internal.h"
#include "google/protobuf/any.pb-c.h"
#include "snapshots.pb-c.h"
#include "tasks.pb-c.h"
#include "util.h"

int
ctd_container_create(struct grpc_conn *c, const char *lease, const struct ctd_container *ct,
                     struct error **err)
{
  Containerd__Services__Containers__V1__CreateContainerRequest req =
      CONTAINERD__SERVICES__CONTAINERS__V1__CREATE_CONTAINER_REQUEST__INIT;
  Containerd__Services__Containers__V1__Container con =
      CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__INIT;
  Containerd__Services__Containers__V1__Container__Runtime rt =
      CONTAINERD__SERVICES__CONTAINERS__V1__CONTAINER__RUNTIME__INIT;
  Google__Protobuf__Any opts = GOOGLE__PROTOBUF__ANY__INIT;
  Google__Protobuf__Any spec = GOOGLE__PROTOBUF__ANY__INIT;
  size_t n = ct->labels ? ct->labels->n : 0;
  Containerd__Services__Containers__V1__Container__LabelsEntry *entries =
      xcalloc(n, sizeof(*entries));
  Containerd__Services__Containers__V1__Container__LabelsEntry **ep = xcalloc(n, sizeof(*ep));
  cleanup_strv struct strv keys = STRV_INIT;
  struct grpc_metadata md[1];
  struct grpc_call_opts copts = ctd_lease_opts(lease, md);
  int rv;

  for (size_t i = 0; i < n; i++) {
    const char *eq = strchr(ct->labels->v[i], '=');
    containerd__services__containers__v1__container__labels_entry__init(&entries[i]);
    strv_push_owned(&keys, eq ? xstrndup(ct->labels->v[i], (size_t)(eq - ct->labels->v[i]))
                              : xstrdup(ct->labels->v[i]));
    entries[i].key = keys.v[i];
    entries[i].value = (char *)(eq ? eq + 1 : "");
    ep[i] = &entries[i];
  }
  /* ctr sends the runc options type with an empty value. */
  opts.type_url = (char *)"containerd.runc.v1.Options";
  rt.name = (char *)ct->runtime;
  rt.options = &opts;
  spec.type_url = (char *)"types.containerd.io/opencontainers/runtime-spec/1/Spec";
  spec.value.data = (uint8_t *)ct->spec_json;
  spec.value.len = strlen(ct->spec_json);
  con.id = (char *)ct->id;
  con.image = (char *)ct->image;
  con.runtime = &rt;
  con.spec = &spec;
  con.snapshotter = (char *)ct->snapshotter;
  con.snapshot_key = (char *)ct->snapshot_key;
  con.n_labels = n;
  con.labels = ep;
  req.container = &con;
  rv = grpc_unary(c, CTD_SVC("containers", "Containers", "Create"), &req.base, NULL, NULL, &copts,
                  err);
  free(ep);
  free(entries);
  if (rv < 0)
    return error_wrap(err, "create container \"%s\"", ct->id);
  return 0;
}

int
ctd_container_exists(struct grpc_conn *c, const char *id, struct error **err)
{
  Containerd__Services__Containers__V1__GetContainerRequest req =
      CONTAINERD__SERVICES__CONTAINERS__V1__GET_CONTAINER_REQUEST__INIT;

  req.id = (char *)id;
  return grpc_unary(c, CTD_SVC("containers", "Containers", "Get"), &req.base,
                    &containerd__services__containers__v1__get_container_response__descriptor, NULL,
                    NULL, err);
}

int
ctd_container_delete(struct grpc_conn *c, const char *id, struct error **err)
{
  Containerd__Services__Containers__V1__DeleteContainerRequest req =
      CONTAINERD__SERVICES__CONTAINERS__V1__DELETE_CONTAINER_REQUEST__INIT;

  req.id = (char *)id;
  if (grpc_unary(c, CTD_SVC("containers", "Containers", "Delete"), &req.base, NULL, NULL, NULL,
                 err) < 0)
    return error_wrap(err, "delete container \"%s\"", id);
  return 0;
}

/* A Tasks call whose answer carries one uint32 (a pid, an exit status) at
 * offset off of the response d describes; out may be NULL. */
static int
task_call_u32(struct grpc_conn *c, const char *method, const ProtobufCMessage *req,
              const ProtobufCMessageDescriptor *d, size_t off, uint32_t *out, struct error **err)
{
  ProtobufCMessage *resp = NULL;

  if (grpc_unary(c, method, req, d, &resp, NULL, err) < 0)
    return -1;
  if (out)
    memcpy(out, (const char *)resp + off, sizeof(*out));
  protobuf_c_message_free_unpacked(resp, NULL);
  return 0;
}

int
ctd_task_create(struct grpc_conn *c, const char *id, const struct ctd_mounts *rootfs,
                const struct ctd_task_io *io, uint32_t *pid, struct error **err)
{
  Containerd__Services__Tasks__V1__CreateTaskRequest req =
      CONTAINERD__SERVICES__TASKS__V1__CREATE_TASK_REQUEST__INIT;

  req.container_id = (char *)id;
  req.n_rootfs = rootfs->resp->n_mounts;
  req.rootfs = rootfs->resp->mounts;
  req.stdin = (char *)(io->stdin_path ? io->stdin_path : "");
  req.stdout = (char *)(io->stdout_path ? io->stdout_path : "");
  req.stderr = (char *)(io->stderr_path ? io->stderr_path : "");
  req.terminal = io->terminal;
  return task_call_u32(c, CTD_SVC("tasks", "Tasks", "Create"), &req.base,
                       &containerd__services__tasks__v1__create_task_response__descriptor,
                       offsetof(Containerd__Services__Tasks__V1__CreateTaskResponse, pid), pid,
                       err);
}

int
ctd_task_start(struct grpc_conn *c, const char *id, uint32_t *pid, struct error **err)
{
  Containerd__Services__Tasks__V1__StartRequest req =
      CONTAINERD__SERVICES__TASKS__V1__START_REQUEST__INIT;

  req.container_id = (char *)id;
  return task_call_u32(c, CTD_SVC("tasks", "Tasks", "Start"), &req.base,
                       &containerd__services__tasks__v1__start_response__descriptor,
                       offsetof(Containerd__Services__Tasks__V1__StartResponse, pid), pid, err);
}

int
ctd_task_wait_begin(struct grpc_conn *c, const char *id, struct grpc_stream **s, struct error **err)
{
  Containerd__Services__Tasks__V1__WaitRequest req =
      CONTAINERD__SERVICES__TASKS__V1__WAIT_REQUEST__INIT;
  struct grpc_call_opts opts = {.deadline_ms = 0};

  req.container_id = (char *)id;
  if (grpc_stream_open(c, CTD_SVC("tasks", "Tasks", "Wait"), &opts, s, err) < 0)
    return -1;
  if (grpc_stream_send(*s, &req.base, err) < 0 || grpc_stream_close_send(*s, err) < 0) {
    grpc_stream_freep(s);
    return -1;
  }
  return 0;
}

int
ctd_task_wait_end(struct grpc_stream *s, uint32_t *exit_status, struct error **err)
{
  Containerd__Services__Tasks__V1__WaitResponse *resp = NULL;
  int rv = grpc_stream_recv(s, &containerd__services__tasks__v1__wait_response__descriptor,
                            (ProtobufCMessage **)&resp, err);

  if (rv < 0)
    return -1;
  if (rv == 0)
    return error_setc(err, ERR_INTERNAL, "wait: no answer from containerd");
  *exit_status = resp->exit_status;
  protobuf_c_message_free_unpacked(&resp->base, NULL);
  return 0;
}

int
ctd_task_kill(struct grpc_conn *c, const char *id, uint32_t signal, struct error **err)
{
  Containerd__Services__Tasks__V1__KillRequest req =
      CONTAINERD__SERVICES__TASKS__V1__KILL_REQUEST__INIT;

  req.container_id = (char *)id;
  req.signal = signal;
  return grpc_unary(c, CTD_SVC("tasks", "Tasks", "Kill"), &req.base, NULL, NULL, NULL, err);
}

int
ctd_task_resize(struct grpc_conn *c, const char *id, uint32_t width, uint32_t height,
                struct error **err)
{
  Containerd__Services__Tasks__V1__ResizePtyRequest req =
      CONTAINERD__SERVICES__TASKS__V1__RESIZE_PTY_REQUEST__INIT;

  req.container_id = (char *)id;
  req.width = width;
  req.height = height;
  return grpc_unary(c, CTD_SVC("tasks", "Tasks", "ResizePty"), &req.base, NULL, NULL, NULL, err);
}

int
ctd_task_close_stdin(struct grpc_conn *c, const char *id, struct error **err)
{
  Containerd__Services__Tasks__V1__CloseIORequest req =
      CONTAINERD__SERVICES__TASKS__V1__CLOSE_IOREQUEST__INIT;

  req.container_id = (char *)id;
  req.stdin = 1;
  return grpc_unary(c, CTD_SVC("tasks", "Tasks", "CloseIO"), &req.base, NULL, NULL, NULL, err);
}

int
ctd_task_delete(struct grpc_conn *c, const char *id, uint32_t *exit_status, struct error **err)
{
  Containerd__Services__Tasks__V1__DeleteTaskRequest req =
      CONTAINERD__SERVICES__TASKS__V1__DELETE_TASK_REQUEST__INIT;

  req.container_id = (char *)id;
  return task_call_u32(c, CTD_SVC("tasks", "Tasks", "Delete"), &req.base,
                       &containerd__services__tasks__v1__delete_response__descriptor,
                       offsetof(Containerd__Services__Tasks__V1__DeleteResponse, exit_status),
                       exit_status, err);
}
