/* ctrx pull / ctrx images pull. Until the native registry client lands this
 * hands the pull to ctr as "images pull", with the reference expanded and the
 * hosts directory filled in by the pass-through rewrite. */
#include "cli.h"

int
cmd_pull(struct cli *cli, int argc, char **argv, struct error **err)
{
  cleanup_strv struct strv args = STRV_INIT;

  strv_push(&args, "images");
  strv_push(&args, "pull");
  for (int i = 1; i < argc; i++)
    strv_push(&args, argv[i]);
  return cli_passthru(cli, (int)args.n, args.v, err);
}
