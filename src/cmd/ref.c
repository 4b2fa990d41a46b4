/* ctrx ref [--familiar] [--] NAME...: each NAME as Docker normalizes it, or
 * its familiar form, one per line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "ref.h"

enum { REF_F_FAMILIAR, REF_F_HELP };

static const struct flag ref_flags[] = {
    {"familiar", FLAG_BOOL, REF_F_FAMILIAR},
    {"h help", FLAG_BOOL, REF_F_HELP},
    {NULL, FLAG_BOOL, 0},
};

struct ref_opts {
  bool familiar;
  bool help;
};

static int
ref_flag(int id, const char *value, void *data, struct error **err)
{
  struct ref_opts *o = data;
  bool b = false;

  if (cli_parse_bool(value, &b) < 0)
    return error_setc(err, ERR_USAGE, "ref: invalid boolean value \"%s\" for -%s: parse error",
                      value, id == REF_F_FAMILIAR ? "familiar" : "help");
  if (id == REF_F_FAMILIAR)
    o->familiar = b;
  else
    o->help = b;
  return 0;
}

/* Go's flag package words for a flag it does not know. */
static int
unknown_flag(const char *arg, struct error **err)
{
  const char *name = arg + 1;

  if (*name == '-')
    name++;
  if (*name == '\0' || *name == '-' || *name == '=')
    return error_setc(err, ERR_USAGE, "ref: bad flag syntax: %s", arg);
  return error_setc(err, ERR_USAGE, "ref: flag provided but not defined: -%.*s",
                    (int)strcspn(name, "="), name);
}

/* The line to print for one name, or NULL with *err set. */
static char *
ref_line(const char *name, bool familiar, struct error **err)
{
  cleanup_ref struct ref r = {0};

  if (ref_parse_docker(name, &r, err) < 0)
    return NULL;
  return familiar ? ref_familiar(&r) : ref_string(&r);
}

int
cmd_ref(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct ref_opts o = {0};
  int optind = 1;
  int last_bad = -1;
  int unknown = -1;
  int rv;

  (void)cli;
  rv = cli_parse_flags(ref_flags, argc, argv, &optind, ref_flag, &o, &unknown, err);
  if (rv < 0)
    return -1;
  if (rv == 1)
    return unknown_flag(argv[unknown], err);
  if (o.help) {
    cmd_print_help(stdout, cmd_find(cmd_table, "ref"), "ref");
    return 0;
  }
  if (optind >= argc)
    return error_setc(err, ERR_USAGE, "ref: no reference given");

  /* Every name is judged and reported in order: the valid ones on stdout,
   * the invalid ones on stderr, except the last invalid one, which is the
   * error returned (main prints it, after everything else). */
  for (int i = optind; i < argc; i++) {
    cleanup_ref struct ref r = {0};
    if (ref_parse_docker(argv[i], &r, NULL) < 0)
      last_bad = i;
  }
  for (int i = optind; i < argc; i++) {
    struct error *e = NULL;
    cleanup_free char *line = ref_line(argv[i], o.familiar, &e);

    if (line != NULL) {
      printf("%s\n", line);
    } else if (i != last_bad) {
      fflush(stdout);
      fprintf(stderr, "ctrx: invalid reference \"%s\": %s\n", argv[i], e->msg);
    } else {
      error_setc(err, ERR_INVALID, "invalid reference \"%s\": %s", argv[i], e->msg);
    }
    error_free(e);
  }
  if (last_bad >= 0)
    return -1;
  return 0;
}
