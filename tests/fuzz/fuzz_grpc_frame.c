/* libFuzzer target: bytes off containerd's socket into the gRPC framing. The
 * input is read as a stream of length-prefixed messages, the way a stream's
 * receive buffer is consumed, and as a grpc-message header to percent-decode.
 * Every frame parse either needs more bytes, yields a message inside the
 * buffer whose length is the prefix, or fails with an error and no message. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "grpc.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
frames(const uint8_t *data, size_t size)
{
  size_t off = 0;

  for (;;) {
    const uint8_t *msg = NULL;
    size_t msg_len = 0;
    struct error *err = NULL;
    int rv = grpc_frame_parse(data + off, size - off, &msg, &msg_len, &err);

    if (rv < 0) {
      if (err == NULL || err->msg == NULL || msg != NULL ||
          (err->code != ERR_INTERNAL && err->code != ERR_EXHAUSTED))
        __builtin_trap();
      error_free(err);
      return;
    }
    if (err != NULL)
      __builtin_trap();
    if (rv == 0) {
      if (msg != NULL)
        __builtin_trap();
      return;
    }
    {
      const uint8_t *h = data + off;
      uint32_t n = ((uint32_t)h[1] << 24) | ((uint32_t)h[2] << 16) | ((uint32_t)h[3] << 8) | h[4];
      if (rv != 1 || h[0] != 0 || msg != h + 5 || msg_len != n || msg_len > GRPC_MAX_MESSAGE ||
          msg_len > size - off - 5)
        __builtin_trap();
    }
    /* touch every byte of the message, as protobuf-c would */
    {
      volatile uint8_t sum = 0;
      for (size_t i = 0; i < msg_len; i++)
        sum ^= msg[i];
      (void)sum;
    }
    off += 5 + msg_len;
  }
}

static void
percent(const uint8_t *data, size_t size)
{
  /* exactly size bytes, no terminator: the decoder must not read past len */
  char *copy = xmalloc(size ? size : 1);
  char *d;

  memcpy(copy, data, size);
  d = grpc_percent_decode(copy, size);
  if (d == NULL || strlen(d) > size)
    __builtin_trap();
  if (memchr(data, '%', size) == NULL &&
      (strlen(d) != strnlen((const char *)data, size) || memcmp(d, data, strlen(d)) != 0))
    __builtin_trap();
  free(d);
  free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  frames(data, size);
  percent(data, size);
  return 0;
}
