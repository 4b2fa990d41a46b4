/* SHA-256 from OpenSSL's libcrypto, loaded on first use (dlopen) so that
 * commands that never hash pay nothing for it at start-up (loading libcrypto
 * costs about as much as a whole gRPC call to containerd). */
#ifndef CTRX_DIGEST_H
#define CTRX_DIGEST_H

#include <stddef.h>

#include "error.h"

struct digest;

/* A running SHA-256. -1 with *err when libcrypto cannot be loaded. */
int digest_new(struct digest **out, struct error **err);
void digest_update(struct digest *d, const void *data, size_t len);
/* Start over, as if new. */
void digest_reset(struct digest *d);
/* "sha256:<hex>" of everything so far; caller frees. The digest can go on. */
char *digest_hex(struct digest *d);
void digest_free(struct digest *d);
/* One shot; NULL with *err when libcrypto cannot be loaded. */
char *digest_sha256(const void *data, size_t len, struct error **err);
/* Base64 (standard alphabet, padded); caller frees. NULL if libcrypto is missing. */
char *digest_base64_encode(const void *data, size_t len);
/* Decoded bytes (NUL-terminated) and their length, or NULL when s is not base64. */
char *digest_base64_decode(const char *s, size_t *len);

#endif
