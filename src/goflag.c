#include "goflag.h"

#include <string.h>

#include "util.h"

enum goflag_kind
goflag_split(const char *arg, struct goflag *f)
{
  const char *name;
  const char *eq;

  if (arg[0] != '-' || arg[1] == '\0')
    return GOFLAG_NONE;
  if (strcmp(arg, "--") == 0)
    return GOFLAG_END;
  name = arg[1] == '-' ? arg + 2 : arg + 1;
  if (name[0] == '\0' || name[0] == '-' || name[0] == '=')
    return GOFLAG_BAD;
  /* the name cannot start with '=', so the first '=' after it starts the value */
  eq = strchr(name + 1, '=');
  f->name = name;
  f->len = eq ? (size_t)(eq - name) : strlen(name);
  f->value = eq ? eq + 1 : NULL;
  return GOFLAG_FLAG;
}

int
goflag_parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
  static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

  for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
    if (strcmp(s, yes[i]) == 0) {
      *out = true;
      return 0;
    }
    if (strcmp(s, no[i]) == 0) {
      *out = false;
      return 0;
    }
  }
  return -1;
}

bool
goflag_name_in(const char *list, const char *name, size_t len)
{
  const char *p = list;

  while (*p) {
    size_t n;
    while (*p == ' ')
      p++;
    n = strcspn(p, " ");
    if (n > 0 && n == len && strncmp(p, name, len) == 0)
      return true;
    p += n;
  }
  return false;
}
