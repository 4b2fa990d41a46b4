#include "unit.h"

#include <check.h>

#include "util.h"

void
unit_tmpdir_make(char *tmpl)
{
  ck_assert_ptr_nonnull(mkdtemp(tmpl));
}

void
unit_tmpdir_remove(char *tmpl)
{
  cleanup_free char *cmd = xasprintf("rm -rf '%s'", tmpl);

  ck_assert_int_eq(system(cmd), 0);
  memcpy(tmpl + strlen(tmpl) - 6, "XXXXXX", 6);
}

char *
unit_write(const char *dir, const char *name, const char *text)
{
  char *path = xasprintf("%s/%s", dir, name);
  FILE *f = fopen(path, "w");

  ck_assert_ptr_nonnull(f);
  fputs(text, f);
  fclose(f);
  return path;
}
