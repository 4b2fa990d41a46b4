/* Our .proto definitions carry the field numbers containerd uses (PROTOCOL.md):
 * each message we send is checked field by field against the table below, and
 * encodes and decodes back to itself. */
#include <check.h>
#include <string.h>

#include "containers.pb-c.h"
#include "content.pb-c.h"
#include "diff.pb-c.h"
#include "images.pb-c.h"
#include "introspection.pb-c.h"
#include "leases.pb-c.h"
#include "namespaces.pb-c.h"
#include "runc_options.pb-c.h"
#include "snapshots.pb-c.h"
#include "tasks.pb-c.h"
#include "types.pb-c.h"
#include "util.h"
#include "version.pb-c.h"

struct field_case {
  const ProtobufCMessageDescriptor *desc;
  const char *field;
  unsigned number;
};

#define D(x) &containerd__##x##__descriptor
static const struct field_case fields[] = {
    {D(types__descriptor), "media_type", 1},
    {D(types__descriptor), "digest", 2},
    {D(types__descriptor), "size", 3},
    {D(types__descriptor), "annotations", 5},
    {D(types__mount), "type", 1},
    {D(types__mount), "source", 2},
    {D(types__mount), "target", 3},
    {D(types__mount), "options", 4},
    {D(types__platform), "os", 1},
    {D(types__platform), "architecture", 2},
    {D(types__platform), "variant", 3},
    {D(services__version__v1__version_response), "version", 1},
    {D(services__version__v1__version_response), "revision", 2},
    {D(services__leases__v1__create_request), "id", 1},
    {D(services__leases__v1__create_request), "labels", 3},
    {D(services__leases__v1__delete_request), "id", 1},
    {D(services__leases__v1__delete_request), "sync", 2},
    {D(services__leases__v1__lease), "created_at", 2},
    {D(services__content__v1__info), "digest", 1},
    {D(services__content__v1__info), "size", 2},
    {D(services__content__v1__info), "labels", 5},
    {D(services__content__v1__update_request), "info", 1},
    {D(services__content__v1__update_request), "update_mask", 2},
    {D(services__content__v1__read_content_request), "digest", 1},
    {D(services__content__v1__read_content_request), "offset", 2},
    {D(services__content__v1__read_content_request), "size", 3},
    {D(services__content__v1__read_content_response), "offset", 1},
    {D(services__content__v1__read_content_response), "data", 2},
    {D(services__content__v1__write_content_request), "action", 1},
    {D(services__content__v1__write_content_request), "ref", 2},
    {D(services__content__v1__write_content_request), "total", 3},
    {D(services__content__v1__write_content_request), "expected", 4},
    {D(services__content__v1__write_content_request), "offset", 5},
    {D(services__content__v1__write_content_request), "data", 6},
    {D(services__content__v1__write_content_request), "labels", 7},
    {D(services__content__v1__write_content_response), "offset", 4},
    {D(services__content__v1__write_content_response), "total", 5},
    {D(services__content__v1__write_content_response), "digest", 6},
    {D(services__content__v1__status), "ref", 3},
    {D(services__content__v1__status), "offset", 4},
    {D(services__content__v1__status), "expected", 6},
    {D(services__content__v1__abort_request), "ref", 1},
    {D(services__images__v1__image), "name", 1},
    {D(services__images__v1__image), "labels", 2},
    {D(services__images__v1__image), "target", 3},
    {D(services__images__v1__image), "created_at", 7},
    {D(services__images__v1__image), "updated_at", 8},
    {D(services__images__v1__update_image_request), "update_mask", 2},
    {D(services__images__v1__delete_image_request), "sync", 2},
    {D(services__snapshots__v1__prepare_snapshot_request), "snapshotter", 1},
    {D(services__snapshots__v1__prepare_snapshot_request), "key", 2},
    {D(services__snapshots__v1__prepare_snapshot_request), "parent", 3},
    {D(services__snapshots__v1__prepare_snapshot_request), "labels", 4},
    {D(services__snapshots__v1__commit_snapshot_request), "name", 2},
    {D(services__snapshots__v1__commit_snapshot_request), "key", 3},
    {D(services__snapshots__v1__commit_snapshot_request), "parent", 5},
    {D(services__snapshots__v1__info), "kind", 3},
    {D(services__snapshots__v1__info), "labels", 6},
    {D(services__diff__v1__apply_request), "diff", 1},
    {D(services__diff__v1__apply_request), "mounts", 2},
    {D(services__diff__v1__apply_request), "payloads", 3},
    {D(services__diff__v1__apply_response), "applied", 1},
    {D(services__containers__v1__container), "id", 1},
    {D(services__containers__v1__container), "labels", 2},
    {D(services__containers__v1__container), "image", 3},
    {D(services__containers__v1__container), "runtime", 4},
    {D(services__containers__v1__container), "spec", 5},
    {D(services__containers__v1__container), "snapshotter", 6},
    {D(services__containers__v1__container), "snapshot_key", 7},
    {D(services__containers__v1__container), "extensions", 10},
    {D(services__containers__v1__container__runtime), "options", 2},
    {D(services__tasks__v1__create_task_request), "container_id", 1},
    {D(services__tasks__v1__create_task_request), "rootfs", 3},
    {D(services__tasks__v1__create_task_request), "stdin", 4},
    {D(services__tasks__v1__create_task_request), "stdout", 5},
    {D(services__tasks__v1__create_task_request), "stderr", 6},
    {D(services__tasks__v1__create_task_request), "terminal", 7},
    {D(services__tasks__v1__create_task_request), "options", 9},
    {D(services__tasks__v1__kill_request), "signal", 3},
    {D(services__tasks__v1__kill_request), "all", 4},
    {D(services__tasks__v1__resize_pty_request), "width", 3},
    {D(services__tasks__v1__resize_pty_request), "height", 4},
    {D(services__tasks__v1__close_iorequest), "stdin", 3},
    {D(services__tasks__v1__wait_response), "exit_status", 1},
    {D(services__tasks__v1__delete_response), "exit_status", 3},
    {D(services__tasks__v1__process), "status", 4},
    {D(services__tasks__v1__process), "exit_status", 9},
    {D(services__namespaces__v1__namespace), "labels", 2},
    {D(services__introspection__v1__server_response), "uuid", 1},
    {D(services__introspection__v1__plugin), "init_err", 7},
    {D(runc__v1__options), "binary_name", 6},
    {D(runc__v1__options), "systemd_cgroup", 9},
};

START_TEST(field_numbers)
{
  const struct field_case *fc = &fields[_i];
  const ProtobufCFieldDescriptor *f =
      protobuf_c_message_descriptor_get_field_by_name(fc->desc, fc->field);

  ck_assert_msg(f != NULL, "%s has no field %s", fc->desc->name, fc->field);
  ck_assert_msg(f->id == fc->number, "%s.%s is %u, containerd uses %u", fc->desc->name, fc->field,
                f->id, fc->number);
}
END_TEST

/* Every message descriptor of our protos: fill each string and bytes field,
 * each number, encode, decode, and find the same values. */
static const ProtobufCMessageDescriptor *const messages[] = {
    D(services__leases__v1__create_request),
    D(services__leases__v1__delete_request),
    D(services__content__v1__info_request),
    D(services__content__v1__read_content_request),
    D(services__content__v1__write_content_request),
    D(services__content__v1__status_request),
    D(services__content__v1__abort_request),
    D(services__images__v1__get_image_request),
    D(services__images__v1__delete_image_request),
    D(services__images__v1__list_images_request),
    D(services__snapshots__v1__prepare_snapshot_request),
    D(services__snapshots__v1__commit_snapshot_request),
    D(services__snapshots__v1__remove_snapshot_request),
    D(services__snapshots__v1__stat_snapshot_request),
    D(services__snapshots__v1__mounts_request),
    D(services__containers__v1__get_container_request),
    D(services__containers__v1__delete_container_request),
    D(services__tasks__v1__create_task_request),
    D(services__tasks__v1__start_request),
    D(services__tasks__v1__delete_task_request),
    D(services__tasks__v1__get_request),
    D(services__tasks__v1__kill_request),
    D(services__tasks__v1__resize_pty_request),
    D(services__tasks__v1__close_iorequest),
    D(services__tasks__v1__wait_request),
    D(services__namespaces__v1__get_namespace_request),
    D(services__introspection__v1__plugins_request),
    D(services__content__v1__update_request),
    D(services__images__v1__create_image_request),
    D(services__images__v1__update_image_request),
    D(services__diff__v1__apply_request),
    D(services__containers__v1__create_container_request),
    D(services__containers__v1__container),
    D(services__containers__v1__container__runtime),
    D(services__content__v1__info),
    D(services__images__v1__image),
    D(types__descriptor),
    D(types__mount),
    D(runc__v1__options),
};

START_TEST(round_trip)
{
  const ProtobufCMessageDescriptor *d = messages[_i];
  ProtobufCMessage *m = xcalloc(1, d->sizeof_message);
  ProtobufCMessage *back;
  uint8_t *packed;
  size_t len;

  protobuf_c_message_init(d, m);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    void *at = (char *)m + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
      continue;
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
      *(const char **)at = f->name;
      break;
    case PROTOBUF_C_TYPE_INT64:
      *(int64_t *)at = 1000000007 + f->id;
      break;
    case PROTOBUF_C_TYPE_UINT32:
      *(uint32_t *)at = 40000 + f->id;
      break;
    case PROTOBUF_C_TYPE_BOOL:
      *(protobuf_c_boolean *)at = 1;
      break;
    default:
      break;
    }
  }
  len = protobuf_c_message_get_packed_size(m);
  packed = xmalloc(len);
  ck_assert_uint_eq(protobuf_c_message_pack(m, packed), len);
  back = protobuf_c_message_unpack(d, NULL, len, packed);
  ck_assert_ptr_nonnull(back);
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    void *a = (char *)m + f->offset, *b = (char *)back + f->offset;
    if (f->label == PROTOBUF_C_LABEL_REPEATED)
      continue;
    if (f->type == PROTOBUF_C_TYPE_STRING)
      ck_assert_str_eq(*(char **)a, *(char **)b);
    else if (f->type == PROTOBUF_C_TYPE_INT64)
      ck_assert_int_eq(*(int64_t *)a, *(int64_t *)b);
    else if (f->type == PROTOBUF_C_TYPE_UINT32)
      ck_assert_uint_eq(*(uint32_t *)a, *(uint32_t *)b);
    else if (f->type == PROTOBUF_C_TYPE_BOOL)
      ck_assert_int_eq(*(protobuf_c_boolean *)a, *(protobuf_c_boolean *)b);
  }
  protobuf_c_message_free_unpacked(back, NULL);
  free(packed);
  free(m);
}
END_TEST

/* The exact bytes of one request, against a hand encoding. */
START_TEST(write_request_bytes)
{
  Containerd__Services__Content__V1__WriteContentRequest r =
      CONTAINERD__SERVICES__CONTENT__V1__WRITE_CONTENT_REQUEST__INIT;
  uint8_t out[64];
  static const uint8_t want[] = {0x08, 0x01, 0x12, 0x01, 'r',  0x18, 0x80,
                                 0x01, 0x28, 0x05, 0x32, 0x02, 'h',  'i'};

  r.action = CONTAINERD__SERVICES__CONTENT__V1__WRITE_ACTION__WRITE;
  r.ref = (char *)"r";
  r.total = 128;
  r.offset = 5;
  r.data.data = (uint8_t *)"hi";
  r.data.len = 2;
  ck_assert_uint_eq(protobuf_c_message_get_packed_size(&r.base), sizeof(want));
  protobuf_c_message_pack(&r.base, out);
  ck_assert(memcmp(out, want, sizeof(want)) == 0);
}
END_TEST

Suite *
proto_suite(void)
{
  Suite *s = suite_create("proto");
  TCase *t = tcase_create("fields");

  tcase_add_loop_test(t, field_numbers, 0, (int)ARRAY_SIZE(fields));
  tcase_add_loop_test(t, round_trip, 0, (int)ARRAY_SIZE(messages));
  tcase_add_test(t, write_request_bytes);
  suite_add_tcase(s, t);
  return s;
}
