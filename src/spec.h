/* The OCI runtime spec and container labels `ctr run` of each containerd line
 * (1.6, 1.7, 2.x) generates for an image and its flags (PROTOCOL.md §4.3,
 * §4.4; the differences per line in docs/CONTAINERD-LINES.md). Pure: the
 * caller reads the image config and (with spec_read_user_db) the rootfs
 * /etc/passwd and /etc/group; spec_build touches no file but the --env-file. */
#ifndef CTRX_SPEC_H
#define CTRX_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "oci.h"
#include "util.h"

/* A device node for linux.devices. */
struct spec_device {
  char *path;
  char type; /* 'c' or 'b' */
  int64_t major, minor;
  uint32_t file_mode; /* the permission bits of st_mode */
  uint32_t uid, gid;
};
struct spec_devices {
  struct spec_device *v;
  size_t n;
};

/* The containerd lines whose `ctr run` spec is reproduced. They differ only
 * in ociVersion; the one mask a later line added (/sys/devices/virtual/
 * powercap, from 1.7 and late 1.6 releases) is hardening, applied on every
 * line. */
enum spec_line {
  SPEC_LINE_1_6, /* and anything older */
  SPEC_LINE_1_7,
  SPEC_LINE_2, /* 2.0 and later */
};

/* The line of a daemon version as containerd's Version API reports it
 * ("1.6.20~ds1", "v1.7.29", "2.1.5"). A version that does not start with
 * MAJOR.MINOR (NULL too) counts as the newest line. */
enum spec_line spec_line_of(const char *version);

/* --env-file files larger than this are refused. */
#define SPEC_ENV_FILE_MAX (4 * 1024 * 1024)

/* Everything the spec depends on. Nothing is owned: the caller keeps every
 * pointer alive for the duration of the call. Every strv may be NULL. */
struct spec_opts {
  enum spec_line line;      /* whose ctr run the spec matches */
  const char *ns;           /* namespace: cgroupsPath "/<ns>/<id>" */
  const char *id;           /* container id */
  const char *image_config; /* the image config blob (JSON text); NULL: empty config */
  size_t image_config_len;
  char *const *args; /* command line after IMAGE ID; NULL/0: image Entrypoint+Cmd */
  size_t n_args;
  const struct strv *env; /* --env values "K=V" in order; "K" alone unsets K */
  /* --env-file path or NULL: "K=V" lines, # comments and blank lines skipped;
   * a line without '=' is an error naming FILE:LINE */
  const char *env_file;
  const char *cwd; /* --cwd or NULL */
  bool tty, net_host, privileged, read_only;
  /* --mount values in ctr's CSV syntax (see spec_parse_mount) */
  const struct strv *mounts;
  const struct strv *annotations; /* --annotation k=v */
  const struct strv *labels;      /* --label k=v (or k, meaning k=true): also annotations */
  double cpus;                    /* --cpus: 0 = unset; quota = cpus*100000, period 100000 */
  int64_t memory_limit;           /* bytes, 0 = unset */
  /* "CAP_X" names (as ctr, nothing else: not "ALL"); added first, then dropped */
  const struct strv *cap_add, *cap_drop;
  const char *hostname; /* --hostname or NULL (then not set, as ctr) */
  /* --user "uid[:gid]" or "name[:group]" (either side numeric or a name), or
   * NULL: the image config's User, else root */
  const char *user;
  const char *passwd,
      *group;                /* contents of the rootfs /etc/passwd and /etc/group, NULL if absent */
  const char *host_hostname; /* for --net-host's HOSTNAME= env */
  /* --privileged only: the caller's effective capabilities (bit n is
   * capability n; spec_parse_cap_eff), which become the process's, as ctr's
   * WithAllCurrentCapabilities gives them; and the host's device nodes
   * (spec_host_devices, NULL: none), as ctr's WithHostDevices adds them. */
  uint64_t current_caps;
  const struct spec_devices *host_devices;
};

/* The OCI runtime spec JSON (compact, fields in runtime-spec order) the
 * line's ctr run would generate. On success *json is the caller's to free. Fails with
 * ERR_INVALID for a malformed or oversized image config, bad flag values, no
 * command at all, or an env-file error; ERR_NOT_FOUND for a user or group
 * name missing from /etc/passwd or /etc/group. */
int spec_build(const struct spec_opts *o, char **json, struct error **err);

/* The container labels ctr sets, as "k=v" strings sorted by key, appended to
 * *out (the caller's, released with strv_release): the image config's Labels
 * (those within containerd's 4096-byte key+value limit), overridden by
 * --label, and "io.containerd.image.config.stop-signal" = the image's
 * StopSignal or SIGTERM. Only image_config/image_config_len and labels are
 * read. */
int spec_container_labels(const struct spec_opts *o, struct strv *out, struct error **err);

/* One --mount value: comma-separated key=value fields (CSV, so a field may be
 * double-quoted with "" for a quote), keys type, source/src,
 * destination/dst/target, options (':'-separated). A destination is
 * required; type and source may be left out (then *type / *source are NULL).
 * On success the three strings are the caller's to free and the options are
 * appended to *options; on failure nothing is returned and the error
 * (ERR_INVALID) quotes the value. */
int spec_parse_mount(const char *csv, char **type, char **source, char **destination,
                     struct strv *options, struct error **err);

/* /etc/passwd and /etc/group are read up to this size each. */
#define SPEC_USER_DB_MAX (4 * 1024 * 1024)

/* Read <root>/etc/passwd and <root>/etc/group into *passwd and *group (both
 * empty, the caller's), resolving every symlink inside root, as the container
 * itself would see them, never on the host. A file that is absent (or whose
 * directory is) leaves its buf with data NULL; one that is not a regular file,
 * is larger than SPEC_USER_DB_MAX or cannot be read fails. */
int spec_read_user_db(const char *root, struct buf *passwd, struct buf *group, struct error **err);

/* The device nodes under dir (ctr passes "/dev") as ctr's WithHostDevices
 * lists them: each directory in byte order of its names, subdirectories in
 * place, except pts, shm, fd, mqueue, .lxc, .lxd-mounts and .udev; no
 * "console", no symlinks, nothing of major 0. Appended to *out (the
 * caller's, released with spec_devices_release). */
int spec_host_devices(const char *dir, struct spec_devices *out, struct error **err);
void spec_devices_release(struct spec_devices *d);

/* The CapEff mask of a /proc/<pid>/status text. */
int spec_parse_cap_eff(const char *status, uint64_t *eff, struct error **err);

/* Read an --env-file (at most SPEC_ENV_FILE_MAX bytes) and append its
 * "K=V" lines to *out. */
int spec_read_env_file(const char *path, struct strv *out, struct error **err);
/* The same on text already in memory; name is used in errors ("name:LINE"). */
int spec_parse_env(const char *text, size_t len, const char *name, struct strv *out,
                   struct error **err);

#endif
