/* ctrx version: client and server versions, laid out as ctr prints them. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "ctd.h"
#include "version.h"

#include <nghttp2/nghttp2.h>

int
cmd_version(struct cli *cli, int argc, char **argv, struct error **err)
{
  struct grpc_conn *conn = NULL;
  cleanup_free char *version = NULL;
  cleanup_free char *revision = NULL;
  cleanup_free char *uuid = NULL;

  if (argc > 1)
    return error_setc(err, ERR_USAGE, "version: unexpected argument '%s'", argv[1]);
  printf("Client:\n  Version:  %s\n  Revision: %s\n  C library: nghttp2 %s, protobuf-c %s\n\n",
         CTRX_VERSION, CTRX_REVISION, nghttp2_version(0)->version_str, protobuf_c_version());
  fflush(stdout);
  if (cli_conn(cli, &conn, err) < 0 || ctd_version_info(conn, &version, &revision, &uuid, err) < 0)
    return -1;
  printf("Server:\n  Version:  %s\n  Revision: %s\n", version, revision);
  if (uuid)
    printf("  UUID: %s\n", uuid);
  return 0;
}
