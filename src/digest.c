#include "digest.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>

#include "dl.h"
#include "util.h"

/* The libcrypto functions we use, resolved once. */
static struct {
  void *lib;
  char why[128];
  EVP_MD_CTX *(*ctx_new)(void);
  void (*ctx_free)(EVP_MD_CTX *);
  const EVP_MD *(*sha256)(void);
  int (*init)(EVP_MD_CTX *, const EVP_MD *, ENGINE *);
  int (*update)(EVP_MD_CTX *, const void *, size_t);
  int (*final)(EVP_MD_CTX *, unsigned char *, unsigned int *);
  int (*copy)(EVP_MD_CTX *, const EVP_MD_CTX *);
  int (*encode)(unsigned char *, const unsigned char *, int);
  int (*decode)(unsigned char *, const unsigned char *, int);
} lcr;

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void
load(void)
{
  const struct dl_sym syms[] = {
      DL_SYM(lcr.ctx_new, "EVP_MD_CTX_new"),  DL_SYM(lcr.ctx_free, "EVP_MD_CTX_free"),
      DL_SYM(lcr.sha256, "EVP_sha256"),       DL_SYM(lcr.init, "EVP_DigestInit_ex"),
      DL_SYM(lcr.update, "EVP_DigestUpdate"), DL_SYM(lcr.final, "EVP_DigestFinal_ex"),
      DL_SYM(lcr.copy, "EVP_MD_CTX_copy_ex"), DL_SYM(lcr.encode, "EVP_EncodeBlock"),
      DL_SYM(lcr.decode, "EVP_DecodeBlock"),
  };
  const char *missing, *why;

  lcr.lib = dl_open("libcrypto.so.3", syms, ARRAY_SIZE(syms), &missing, &why);
  if (lcr.lib == NULL && missing != NULL)
    snprintf(lcr.why, sizeof(lcr.why), "libcrypto.so.3 lacks %s", missing);
  else if (lcr.lib == NULL)
    snprintf(lcr.why, sizeof(lcr.why), "cannot load libcrypto.so.3 (install libssl3)");
}

static int
ready(struct error **err)
{
  pthread_once(&once, load);
  if (lcr.lib == NULL)
    return error_setc(err, ERR_UNAVAILABLE, "%s", lcr.why);
  return 0;
}

struct digest {
  EVP_MD_CTX *ctx;
};

int
digest_new(struct digest **out, struct error **err)
{
  struct digest *d;

  if (ready(err) < 0)
    return -1;
  d = xcalloc(1, sizeof(*d));
  d->ctx = lcr.ctx_new();
  if (d->ctx == NULL)
    abort();
  lcr.init(d->ctx, lcr.sha256(), NULL);
  *out = d;
  return 0;
}

void
digest_update(struct digest *d, const void *data, size_t len)
{
  lcr.update(d->ctx, data, len);
}

void
digest_reset(struct digest *d)
{
  lcr.init(d->ctx, lcr.sha256(), NULL);
}

static char *
hex(const unsigned char *md, unsigned int len)
{
  static const char digits[] = "0123456789abcdef";
  char *s = xmalloc(7 + 2 * len + 1);

  memcpy(s, "sha256:", 7);
  for (unsigned i = 0; i < len; i++) {
    s[7 + 2 * i] = digits[md[i] >> 4];
    s[7 + 2 * i + 1] = digits[md[i] & 15];
  }
  s[7 + 2 * len] = '\0';
  return s;
}

char *
digest_hex(struct digest *d)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX *copy = lcr.ctx_new();

  if (copy == NULL)
    abort();
  lcr.copy(copy, d->ctx);
  lcr.final(copy, md, &len);
  lcr.ctx_free(copy);
  return hex(md, len);
}

void
digest_free(struct digest *d)
{
  if (d == NULL)
    return;
  lcr.ctx_free(d->ctx);
  free(d);
}

char *
digest_sha256(const void *data, size_t len, struct error **err)
{
  struct digest *d = NULL;
  char *s;

  if (digest_new(&d, err) < 0)
    return NULL;
  digest_update(d, data, len);
  s = digest_hex(d);
  digest_free(d);
  return s;
}

char *
digest_base64_encode(const void *data, size_t len)
{
  char *out;

  if (ready(NULL) < 0)
    return NULL;
  out = xmalloc(4 * ((len + 2) / 3) + 1);
  lcr.encode((unsigned char *)out, data, (int)len);
  return out;
}

char *
digest_base64_decode(const char *s, size_t *len)
{
  size_t n = strlen(s);
  unsigned char *out;
  int got;

  if (ready(NULL) < 0 || n % 4 != 0 || n > (1u << 20))
    return NULL;
  out = xmalloc(3 * (n / 4) + 1);
  got = lcr.decode(out, (const unsigned char *)s, (int)n);
  if (got < 0) {
    free(out);
    return NULL;
  }
  /* EVP_DecodeBlock counts the padding as zero bytes */
  if (n >= 1 && s[n - 1] == '=')
    got--;
  if (n >= 2 && s[n - 2] == '=')
    got--;
  out[got] = '\0';
  *len = (size_t)got;
  return (char *)out;
}
