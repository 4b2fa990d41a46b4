/* Docker's config.json as docker, nerdctl and crane read and write it: which
 * source holds a registry's credentials (credHelpers, credsStore, auths, in
 * Docker's order), the auths entry itself, what a credential helper answers,
 * and the file written back for login and logout. No process is run here
 * (credhelper.c runs the helpers) and nothing is printed. Every function that
 * hands out a secret hands it in memory the caller wipes. */
#ifndef CTRX_DOCKERCFG_H
#define CTRX_DOCKERCFG_H

#include <jansson.h>
#include <stdbool.h>

#include "error.h"

#define DOCKERCFG_MAX (16u * 1024u * 1024u)
/* The key Docker files Docker Hub's credentials under. */
#define DOCKERCFG_HUB_KEY "https://index.docker.io/v1/"

enum dockercfg_kind {
  DOCKERCFG_NONE,   /* anonymous */
  DOCKERCFG_HELPER, /* docker-credential-<helper> get <server_url> */
  DOCKERCFG_AUTHS,  /* the auths entry: user and secret below */
};

/* Where a registry's credentials are, and for auths (or a helper's answer)
 * the credentials. A secret with identity_token is an OAuth2 refresh token:
 * it is exchanged at the token realm, never sent to the registry. */
struct dockercfg_creds {
  enum dockercfg_kind kind;
  char *helper;     /* HELPER: the NAME of docker-credential-NAME */
  bool from_store;  /* HELPER: named by credsStore, not credHelpers */
  char *server_url; /* HELPER: what the helper gets on stdin */
  char *user;       /* may be NULL */
  char *secret;     /* a password, or with identity_token a refresh token */
  bool identity_token;
};
/* Wipes the secret, frees everything, leaves kind DOCKERCFG_NONE. */
void dockercfg_creds_release(struct dockercfg_creds *c);

/* The key of registry HOST (host[:port], or a name as typed: "docker.io")
 * in config.json and for a helper: DOCKERCFG_HUB_KEY for Docker Hub's names
 * (docker.io, index.docker.io, registry-1.docker.io), else HOST itself
 * without a scheme or path. Caller frees. */
char *dockercfg_key(const char *host);

/* Read the config.json at PATH into *root (an object). PATH NULL, or no
 * such file: an empty object. The error names the file and a place, never
 * its text. The file's bytes are wiped; free *root with dockercfg_free. */
int dockercfg_load(const char *path, json_t **root, struct error **err);
/* json_decref after wiping every string the tree holds. */
void dockercfg_free(json_t *root);

/* Where ROOT (from dockercfg_load of PATH, named in errors) says HOST's
 * credentials are: credHelpers[key], else credsStore, else the auths entry
 * (keyed exactly, or by any key whose host part is HOST's: "https://host/v1/"),
 * its "auth" (base64 user:password), "username"/"password", or
 * "identitytoken". 0 and *out filled (kind NONE when there are none); -1
 * when the entry is malformed (the error never quotes it). */
int dockercfg_lookup(json_t *root, const char *path, const char *host, struct dockercfg_creds *out,
                     struct error **err);

/* dockercfg_load of PATH, then dockercfg_lookup of HOST in it. */
int dockercfg_lookup_file(const char *path, const char *host, struct dockercfg_creds *out,
                          struct error **err);

/* A helper's answer to get (LEN bytes of JSON {"ServerURL","Username",
 * "Secret"}) into out->user and out->secret; "<token>" as Username means
 * Secret is an identity token, as Docker reads it. -1 on anything else (the
 * error never quotes the text). */
int dockercfg_parse_helper_answer(const char *json, size_t len, struct dockercfg_creds *out,
                                  struct error **err);
/* The helper said it has nothing for that server (docker-credential-helpers'
 * "credentials not found in native keychain"). */
bool dockercfg_helper_not_found(const char *output);

/* login: auths[KEY] = {"auth": base64(user:secret)} (with credsStore, an
 * empty entry, as Docker keeps one beside the store), other keys kept.
 * logout: auths[KEY] removed, and an auths key for the same host (1 when
 * something was removed). */
void dockercfg_set_auth(json_t *root, const char *key, const char *user, const char *secret);
int dockercfg_erase_auth(json_t *root, const char *key);
/* The credsStore of ROOT, or NULL (borrowed). */
const char *dockercfg_store(json_t *root);

/* Write ROOT to PATH as Docker does: its directory made (0700) when
 * missing, a new file 0600, an existing one keeping its mode and owner,
 * replaced atomically. */
int dockercfg_save(const char *path, json_t *root, struct error **err);

#endif
