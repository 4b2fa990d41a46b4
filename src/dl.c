#include "dl.h"

#include <dlfcn.h>
#include <string.h>

void *
dl_open(const char *lib, const struct dl_sym *syms, size_t n, const char **missing,
        const char **why)
{
  void *dl = dlopen(lib, RTLD_NOW | RTLD_LOCAL);

  *missing = NULL;
  *why = NULL;
  if (dl == NULL) {
    *why = dlerror();
    return NULL;
  }
  for (size_t i = 0; i < n; i++) {
    void *p = dlsym(dl, syms[i].name);
    if (p == NULL) {
      *missing = syms[i].name;
      dlclose(dl);
      return NULL;
    }
    /* POSIX: a function pointer and void * have the same representation. */
    memcpy(syms[i].slot, &p, sizeof(p));
  }
  return dl;
}
