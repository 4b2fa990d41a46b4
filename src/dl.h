/* Libraries loaded on first use (dlopen), so that commands that never need
 * them do not pay for mapping them at start-up: libcurl for the registry,
 * libcrypto for digests. */
#ifndef CTRX_DL_H
#define CTRX_DL_H

#include <stddef.h>

/* One symbol to resolve: NAME into the function pointer at SLOT. */
struct dl_sym {
  void *slot;
  const char *name;
};
#define DL_SYM(field, name)                                                                        \
  {                                                                                                \
    (void *)&(field), (name)                                                                       \
  }

/* Opens LIB (RTLD_NOW | RTLD_LOCAL) and fills every slot of SYMS, in order.
 * Returns the handle, or NULL: then *missing is the first symbol not found,
 * or NULL when LIB itself could not be loaded and *why (static, may be
 * NULL) says why. A library missing a symbol is closed again. */
void *dl_open(const char *lib, const struct dl_sym *syms, size_t n, const char **missing,
              const char **why);

#endif
