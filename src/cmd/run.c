/* ctrx run. Until the native run lands this hands the command to ctr with the
 * image name expanded by the pass-through rewrite. */
#include "cli.h"

int
cmd_run(struct cli *cli, int argc, char **argv, struct error **err)
{
  return cli_passthru(cli, argc, argv, err);
}
