/* The parts of the gRPC wire format that need no connection: message
 * prefixes, grpc-timeout values and percent-encoded grpc-message values. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc.h"
#include "util.h"

/* V as a protobuf varint at OUT (10 bytes at most); returns its length. */
static size_t
varint(uint64_t v, uint8_t *out)
{
  size_t n = 0;

  while (v >= 0x80) {
    out[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  out[n++] = (uint8_t)v;
  return n;
}

ssize_t
grpc_message_head(const ProtobufCMessage *msg, unsigned field, size_t len, struct buf *out)
{
  size_t packed = protobuf_c_message_get_packed_size(msg);
  uint8_t key[20];
  size_t nkey = 0, total;

  if (field != 0) {
    nkey = varint((uint64_t)field << 3 | 2, key); /* wire type 2: length-delimited */
    nkey += varint(len, key + nkey);
  }
  total = packed + nkey + (field != 0 ? len : 0);
  if (total > GRPC_MAX_MESSAGE)
    return -1;
  uint8_t hdr[5] = {0, (uint8_t)(total >> 24), (uint8_t)(total >> 16), (uint8_t)(total >> 8),
                    (uint8_t)total};
  buf_add(out, hdr, sizeof(hdr));
  if (packed > 0)
    protobuf_c_message_pack(msg, buf_append_space(out, packed));
  buf_add(out, key, nkey);
  return (ssize_t)total;
}

void
grpc_timeout_format(int64_t ns, char out[GRPC_TIMEOUT_SIZE])
{
  /* gRPC: at most 8 digits, then the unit; the finest unit that fits. */
  static const struct {
    char unit;
    int64_t ns;
  } units[] = {
      {'n', 1},
      {'u', 1000},
      {'m', 1000000},
      {'S', 1000000000},
      {'M', INT64_C(60) * 1000000000},
      {'H', INT64_C(3600) * 1000000000},
  };
  int64_t v = 0;
  size_t i;

  if (ns < 1)
    ns = 1;
  for (i = 0; i < ARRAY_SIZE(units); i++) {
    /* round up: the server must not give up before we do */
    v = ns / units[i].ns + (ns % units[i].ns != 0);
    if (v <= GRPC_TIMEOUT_MAX_VALUE)
      break;
  }
  if (i == ARRAY_SIZE(units)) /* cannot happen: INT64_MAX ns is 2562048 H */
    i--, v = GRPC_TIMEOUT_MAX_VALUE;
  {
    char tmp[32];
    int len = snprintf(tmp, sizeof(tmp), "%" PRId64 "%c", v, units[i].unit);
    memcpy(out, tmp, (size_t)len + 1); /* v has at most 8 digits: it fits */
  }
}

static int
hex_digit(char ch)
{
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

char *
grpc_percent_decode(const char *s, size_t len)
{
  struct buf b = BUF_INIT;

  for (size_t i = 0; i < len; i++) {
    /* s[i + 1] and s[i + 2] exist only while i + 2 < len: the header value
     * is not terminated. A '%' without two hex digits stays as it is. */
    if (s[i] == '%' && len - i > 2) {
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        char ch = (char)(hi << 4 | lo);
        buf_add(&b, &ch, 1);
        i += 2;
        continue;
      }
    }
    buf_add(&b, &s[i], 1);
  }
  return buf_steal(&b);
}
