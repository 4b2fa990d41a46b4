/* What the OCI image and distribution specs define and every module shares:
 * the content descriptor, the media types and what each one is, the digest
 * grammar and the largest document read into memory. Pure: no I/O. */
#ifndef CTRX_OCI_H
#define CTRX_OCI_H

#include <stdbool.h>
#include <stdint.h>

/* The largest index, manifest or config read into memory: containerd's
 * MaxManifestSize (remotes/docker/resolver.go, "4 * 1048 * 1048", 1048 not
 * 1024 upstream). Configs get the same bound, so that what pulls also runs. */
#define OCI_MAX_DOCUMENT (4u * 1048u * 1048u)

/* A content descriptor; the strings are owned. */
struct oci_desc {
  char *media_type;
  char *digest;
  int64_t size;
};

void oci_desc_release(struct oci_desc *d);

/* The media types of the documents of an image, each spelled once. */
#define OCI_MT_INDEX "application/vnd.oci.image.index.v1+json"
#define OCI_MT_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define OCI_MT_CONFIG "application/vnd.oci.image.config.v1+json"
#define OCI_MT_DOCKER_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define OCI_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define OCI_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"

enum oci_media {
  OCI_MEDIA_OTHER = 0,
  OCI_MEDIA_INDEX,    /* OCI index, Docker manifest list */
  OCI_MEDIA_MANIFEST, /* OCI manifest, Docker schema 2 manifest */
  OCI_MEDIA_SCHEMA1,  /* Docker schema 1 (also text/plain) */
  OCI_MEDIA_CONFIG,   /* OCI or Docker image config */
  OCI_MEDIA_LAYER,
};
/* Classify a media type (parameters and case ignored, as in a Content-Type). */
enum oci_media oci_media_kind(const char *media_type);
/* Classify a descriptor's mediaType as written, compared as containerd
 * compares it: exactly. */
enum oci_media oci_media_kind_exact(const char *media_type);
/* A Content-Type without its parameters and surrounding blanks, lower-cased. */
char *oci_media_strip(const char *content_type);

/* A digest as containerd (go-digest) accepts it: sha256 with exactly 64,
 * sha384 with 96, sha512 with 128 lowercase hex digits; any other algorithm
 * (even one the OCI grammar allows) is unsupported, uppercase hex invalid.
 * Only sha256 blobs can be fetched (registry and pull refuse the others). */
bool oci_digest_valid(const char *digest);

#endif
