/* The golden parts of the spec ctr run writes, as observed from each
 * line's ctr (docs/CONTAINERD-LINES.md), shared by the spec suites. */
#ifndef CTRX_TEST_SPEC_GOLDEN_H
#define CTRX_TEST_SPEC_GOLDEN_H

#define BUSYBOX_CONFIG                                                                             \
  "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{\"Env\":[\"PATH=/bin\"],"              \
  "\"Cmd\":[\"/bin/sh\"]},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}"

#define DEFAULT_CAPS                                                                               \
  "[\"CAP_CHOWN\",\"CAP_DAC_OVERRIDE\",\"CAP_FSETID\",\"CAP_FOWNER\",\"CAP_MKNOD\","               \
  "\"CAP_NET_RAW\",\"CAP_SETGID\",\"CAP_SETUID\",\"CAP_SETFCAP\",\"CAP_SETPCAP\","                 \
  "\"CAP_NET_BIND_SERVICE\",\"CAP_SYS_CHROOT\",\"CAP_KILL\",\"CAP_AUDIT_WRITE\"]"

#define DEFAULT_MOUNTS                                                                             \
  "{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\",\"options\":[\"nosuid\","      \
  "\"noexec\",\"nodev\"]},{\"destination\":\"/dev\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","      \
  "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]},{\"destination\":"       \
  "\"/dev/pts\",\"type\":\"devpts\",\"source\":\"devpts\",\"options\":[\"nosuid\",\"noexec\","     \
  "\"newinstance\",\"ptmxmode=0666\",\"mode=0620\",\"gid=5\"]},{\"destination\":\"/dev/shm\","     \
  "\"type\":\"tmpfs\",\"source\":\"shm\",\"options\":[\"nosuid\",\"noexec\",\"nodev\","            \
  "\"mode=1777\",\"size=65536k\"]},{\"destination\":\"/dev/mqueue\",\"type\":\"mqueue\","          \
  "\"source\":\"mqueue\",\"options\":[\"nosuid\",\"noexec\",\"nodev\"]},{\"destination\":"         \
  "\"/sys\",\"type\":\"sysfs\",\"source\":\"sysfs\",\"options\":[\"nosuid\",\"noexec\","           \
  "\"nodev\",\"ro\"]},{\"destination\":\"/run\",\"type\":\"tmpfs\",\"source\":\"tmpfs\","          \
  "\"options\":[\"nosuid\",\"strictatime\",\"mode=755\",\"size=65536k\"]}"

#define DEFAULT_DEVICES                                                                            \
  "{\"allow\":false,\"access\":\"rwm\"},"                                                          \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":8,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":7,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":0,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":5,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":9,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":1,\"access\":\"rwm\"},"                    \
  "{\"allow\":true,\"type\":\"c\",\"major\":136,\"access\":\"rwm\"},"                              \
  "{\"allow\":true,\"type\":\"c\",\"major\":5,\"minor\":2,\"access\":\"rwm\"}"

#define DEFAULT_NAMESPACES                                                                         \
  "{\"type\":\"pid\"},{\"type\":\"ipc\"},{\"type\":\"uts\"},{\"type\":\"mount\"},"                 \
  "{\"type\":\"network\"}"

/* 1.7's and 2.x's list; 1.6.20's lacks /sys/devices/virtual/powercap, which
 * ctrx masks on every line (the hardening exception). */
#define MASKED_PATHS                                                                               \
  "\"/proc/acpi\",\"/proc/asound\",\"/proc/kcore\",\"/proc/keys\",\"/proc/latency_stats\","        \
  "\"/proc/timer_list\",\"/proc/timer_stats\",\"/proc/sched_debug\",\"/sys/firmware\","            \
  "\"/sys/devices/virtual/powercap\",\"/proc/scsi\""

#define READONLY_PATHS                                                                             \
  "\"/proc/bus\",\"/proc/fs\",\"/proc/irq\",\"/proc/sys\",\"/proc/sysrq-trigger\""

#endif
