/* The command tables: every command ctrx runs itself, its aliases and
 * sub-commands, and the --help text of each. The flags of a command, with
 * their help, sit in the command's file (cmd_pull_flags, cmd_run_flags); the
 * global flags here. Dispatch (main.c, cli.c) and --help read these tables
 * alone, and the tests walk them. A new command: a row here, its function in
 * src/cmd/<command>.c. */
#include <stdio.h>

#include "cli.h"

#define PULL_USAGE_REF                                                                             \
  "REF may be a short name (nginx, nginx:alpine, bitnami/redis); it is expanded by\n"              \
  "Docker's rules. Mirrors come from hosts.toml (see 'ctrx hosts REF').\n"
#define PULL_AFTER_FLAGS "Any other ctr pull flag hands the pull to ctr, with the name expanded.\n"

static const struct cmd images_cmds[] = {
    {"pull", "", cmd_pull, NULL,
     "pull an image by its Docker-style name, through hosts.toml mirrors",
     "Usage: ctrx images pull [ctr pull flags] REF\n"
     "\n" PULL_USAGE_REF "Same as 'ctrx pull'.\n",
     cmd_pull_flags, PULL_AFTER_FLAGS},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

static const struct cmd hosts_cmds[] = {
    {"add", "", cmd_hosts_add, NULL, "add a mirror to a registry's hosts.toml",
     "Usage: ctrx hosts add REGISTRY URL [--capabilities pull,resolve] [--skip-verify]\n"
     "                      [--ca FILE] [--override-path]\n"
     "\n"
     "Creates or extends <first hosts dir>/REGISTRY/hosts.toml with a [host.\"URL\"]\n"
     "table, keeping the lines already there. A URL already listed is refused.\n",
     cmd_hosts_add_flags, NULL},
    {"check", "", cmd_hosts_check, NULL, "probe every endpoint of registries and say which answer",
     "Usage: ctrx hosts check [--json] [REGISTRY|REF...]\n"
     "\n"
     "Asks every endpoint of each REGISTRY (default: every registry with a host\n"
     "directory in the hosts dirs), all at once and with a pull's deadlines, for\n"
     "GET /v2/. Prints one line per endpoint (status ok, slow or dead, latency, HTTP\n"
     "status and version, TLS verdict, error) and a summary line per registry;\n"
     "--json prints the same as JSON. Exit status 1 when a registry has no endpoint\n"
     "that answers.\n",
     cmd_hosts_check_flags, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct cmd cmd_table[] = {
    {"version", "", cmd_version, NULL, "print the client and server versions",
     "Usage: ctrx version\n", NULL, NULL},
    {"pull", "", cmd_pull, NULL,
     "pull an image by its Docker-style name, through hosts.toml mirrors",
     "Usage: ctrx pull [ctr pull flags] REF\n"
     "\n" PULL_USAGE_REF,
     cmd_pull_flags, PULL_AFTER_FLAGS},
    {"images", "image i", NULL, images_cmds, "manage images (pull is ctrx's; the rest is ctr's)",
     "Usage: ctrx images COMMAND [flags] [args]\n"
     "\n"
     "'pull' is run by ctrx; every other images command is handed to ctr with image\n"
     "names expanded (see 'ctr images --help').\n",
     NULL, NULL},
    {"run", "", cmd_run, NULL, "run a container, pulling its image first when it is missing",
     "Usage: ctrx run [ctr run flags] IMAGE ID [COMMAND] [ARG...]\n"
     "\n"
     "IMAGE may be a short name; it is pulled first (through the mirrors) when the\n"
     "namespace lacks it. The exit status is the container's (128+N when killed by N).\n",
     cmd_run_flags, "Any other ctr run flag hands the command to ctr (after pulling the image).\n"},
    {"ref", "", cmd_ref, NULL, "print the normalized form of image references",
     "Usage: ctrx ref [--familiar] [--] NAME...\n"
     "\n"
     "Prints each NAME as Docker normalizes it (nginx -> docker.io/library/nginx:latest),\n"
     "or with --familiar in its short form. An invalid NAME is reported and the exit\n"
     "status is 1; the valid ones are still printed.\n",
     NULL, NULL},
    {"hosts", "", cmd_hosts, hosts_cmds, "show the registry endpoints a pull will try",
     "Usage: ctrx hosts REGISTRY|REF\n"
     "       ctrx hosts add REGISTRY URL [flags]\n"
     "       ctrx hosts check [--json] [REGISTRY|REF...]\n"
     "\n"
     "Lists, in the order they are tried, the endpoints of REGISTRY (or of the\n"
     "registry of REF) from hosts.toml, with capabilities, TLS settings, headers\n"
     "(secrets redacted) and the file each came from.\n",
     NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL},
};

const struct flag cmd_global_flags[] = {
    {"a address", FLAG_VALUE, G_ADDRESS, "ADDR",
     "containerd's socket [$CONTAINERD_ADDRESS] (default " CTRX_DEFAULT_ADDRESS ")"},
    {"n namespace", FLAG_VALUE, G_NAMESPACE, "NS",
     "namespace [$CONTAINERD_NAMESPACE, then ctrx config, then \"default\"]"},
    {"k8s", FLAG_BOOL, G_K8S, NULL, "same as -n k8s.io, kubelet's namespace"},
    {"hosts-dir", FLAG_VALUE, G_HOSTS_DIR, "DIR",
     "registry hosts directory (repeatable; default: ctrx config,\n"
     "containerd's CRI config_path, /etc/containerd/certs.d,\n"
     "/etc/docker/certs.d)"},
    {"timeout", FLAG_VALUE, G_TIMEOUT, "DUR", "total timeout for the command (e.g. 30s)"},
    {"connect-timeout", FLAG_VALUE, G_CONNECT_TIMEOUT, "DUR",
     "timeout for connecting to containerd (default 10s)"},
    {"debug", FLAG_BOOL, G_DEBUG, NULL, "log gRPC calls and registry requests"},
    {"no-expand", FLAG_BOOL, G_NO_EXPAND, NULL,
     "take image names literally, as ctr does: no short-name\n"
     "expansion (also CTRX_NO_EXPAND=1)"},
    {"h help", FLAG_BOOL, G_HELP, NULL, "this help; 'ctrx COMMAND --help' for a command's"},
    {"v version", FLAG_BOOL, G_VERSION, NULL, "print ctrx's version"},
    {NULL, FLAG_BOOL, 0},
};

void
cmd_print_top_help(FILE *out)
{
  fprintf(out,
          "ctrx - containerd's ctr, with Docker-style names, hosts.toml mirrors and namespaces\n"
          "\n"
          "Usage: ctrx [global flags] COMMAND [flags] [args]\n"
          "\n"
          "Commands run by ctrx:\n");
  for (const struct cmd *c = cmd_table; c->name; c++)
    fprintf(out, "  %-10s %s\n", c->name, c->summary);
  fprintf(out, "\n"
               "Every other command (containers, content, tasks, snapshots, ...) is handed to the\n"
               "real ctr with the same flags, the address and namespace made explicit and image\n"
               "names expanded.\n"
               "\n"
               "Global flags:\n");
  cmd_print_flags(out, cmd_global_flags, 24, true);
  fprintf(out, "\n"
               "Environment: CONTAINERD_ADDRESS, CONTAINERD_NAMESPACE, CONTAINERD_SNAPSHOTTER,\n"
               "CTRX_CTR (the real ctr), CTRX_CONFIG, CTRX_CONTAINERD_CONFIG, CTRX_STATE_DIR,\n"
               "CTRX_NO_EXPAND, XDG_CONFIG_HOME, XDG_STATE_HOME, DOCKER_CONFIG. See ctrx(1).\n"
               "\n"
               "Image names: a name the command expects to exist (run, images rm/export/mount/\n"
               "push/label, the source of a tag, containers create) is used as typed when the\n"
               "namespace holds an image of exactly that name, and expanded by Docker's rules\n"
               "(mybox:1 -> docker.io/library/mybox:1) otherwise. New names (pull, tag targets)\n"
               "are always expanded, unless --no-expand.\n");
}
