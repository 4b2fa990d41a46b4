/* Docker image references without a regex library: a hand-written scanner
 * for distribution/reference's grammar, then ParseNormalizedNamed's rules in
 * their upstream order, so that each input fails at the same step (and with
 * the same words) as in Go. See NORMALIZATION.md. */
#include "ref.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define REF_PATH_MAX 255
#define REF_TAG_MAX 128
#define REF_DIGEST_HEX_MIN 32
#define REF_IDENTIFIER_LEN 64

static const char ref_default_domain[] = "docker.io";
static const char ref_legacy_domain[] = "index.docker.io";
static const char ref_localhost[] = "localhost";
static const char ref_official_prefix[] = "library/";

/* Character classes, ASCII only and locale-independent, as Go's regexp
 * classes ([a-z], \w, [[:xdigit:]]) are. */
static bool
is_lower_alnum(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool
is_upper(char c)
{
  return c >= 'A' && c <= 'Z';
}

static bool
is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || is_upper(c);
}

static bool
is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool
is_alnum(char c)
{
  return is_alpha(c) || is_digit(c);
}

static bool
is_hex(char c)
{
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool
is_word(char c)
{
  return is_alnum(c) || c == '_';
}

static bool
span_eq(const char *s, size_t n, const char *lit)
{
  return strlen(lit) == n && memcmp(s, lit, n) == 0;
}

/* --- What Go's strings.ToLower does, as far as the parser can tell ----- */

/* Code points (beyond ASCII) that Unicode's simple lowercase mapping
 * changes: {first, last, stride}. Generated from the Unicode character
 * database (UnicodeData lowercase mappings); Go's unicode.ToLower uses the
 * same mappings. */
/* clang-format off */
static const struct {
  uint32_t lo, hi;
  uint8_t stride;
} ref_upper_ranges[] = {
    {0x00c0, 0x00d6, 1}, {0x00d8, 0x00de, 1}, {0x0100, 0x0136, 2}, {0x0139, 0x0147, 2},
    {0x014a, 0x0178, 2}, {0x0179, 0x017d, 2}, {0x0181, 0x0182, 1}, {0x0184, 0x0186, 2},
    {0x0187, 0x0189, 2}, {0x018a, 0x018b, 1}, {0x018e, 0x0191, 1}, {0x0193, 0x0194, 1},
    {0x0196, 0x0198, 1}, {0x019c, 0x019d, 1}, {0x019f, 0x01a0, 1}, {0x01a2, 0x01a6, 2},
    {0x01a7, 0x01a9, 2}, {0x01ac, 0x01ae, 2}, {0x01af, 0x01b1, 2}, {0x01b2, 0x01b3, 1},
    {0x01b5, 0x01b7, 2}, {0x01b8, 0x01b8, 1}, {0x01bc, 0x01bc, 1}, {0x01c4, 0x01c5, 1},
    {0x01c7, 0x01c8, 1}, {0x01ca, 0x01cb, 1}, {0x01cd, 0x01db, 2}, {0x01de, 0x01ee, 2},
    {0x01f1, 0x01f2, 1}, {0x01f4, 0x01f6, 2}, {0x01f7, 0x01f8, 1}, {0x01fa, 0x0232, 2},
    {0x023a, 0x023b, 1}, {0x023d, 0x023e, 1}, {0x0241, 0x0243, 2}, {0x0244, 0x0246, 1},
    {0x0248, 0x024e, 2}, {0x0370, 0x0372, 2}, {0x0376, 0x0376, 1}, {0x037f, 0x037f, 1},
    {0x0386, 0x0388, 2}, {0x0389, 0x038a, 1}, {0x038c, 0x038e, 2}, {0x038f, 0x0391, 2},
    {0x0392, 0x03a1, 1}, {0x03a3, 0x03ab, 1}, {0x03cf, 0x03cf, 1}, {0x03d8, 0x03ee, 2},
    {0x03f4, 0x03f4, 1}, {0x03f7, 0x03f9, 2}, {0x03fa, 0x03fa, 1}, {0x03fd, 0x042f, 1},
    {0x0460, 0x0480, 2}, {0x048a, 0x04c0, 2}, {0x04c1, 0x04cd, 2}, {0x04d0, 0x052e, 2},
    {0x0531, 0x0556, 1}, {0x10a0, 0x10c5, 1}, {0x10c7, 0x10c7, 1}, {0x10cd, 0x10cd, 1},
    {0x13a0, 0x13f5, 1}, {0x1c90, 0x1cba, 1}, {0x1cbd, 0x1cbf, 1}, {0x1e00, 0x1e94, 2},
    {0x1e9e, 0x1efe, 2}, {0x1f08, 0x1f0f, 1}, {0x1f18, 0x1f1d, 1}, {0x1f28, 0x1f2f, 1},
    {0x1f38, 0x1f3f, 1}, {0x1f48, 0x1f4d, 1}, {0x1f59, 0x1f5f, 2}, {0x1f68, 0x1f6f, 1},
    {0x1f88, 0x1f8f, 1}, {0x1f98, 0x1f9f, 1}, {0x1fa8, 0x1faf, 1}, {0x1fb8, 0x1fbc, 1},
    {0x1fc8, 0x1fcc, 1}, {0x1fd8, 0x1fdb, 1}, {0x1fe8, 0x1fec, 1}, {0x1ff8, 0x1ffc, 1},
    {0x2126, 0x2126, 1}, {0x212a, 0x212b, 1}, {0x2132, 0x2132, 1}, {0x2160, 0x216f, 1},
    {0x2183, 0x2183, 1}, {0x24b6, 0x24cf, 1}, {0x2c00, 0x2c2f, 1}, {0x2c60, 0x2c62, 2},
    {0x2c63, 0x2c64, 1}, {0x2c67, 0x2c6d, 2}, {0x2c6e, 0x2c70, 1}, {0x2c72, 0x2c72, 1},
    {0x2c75, 0x2c75, 1}, {0x2c7e, 0x2c80, 1}, {0x2c82, 0x2ce2, 2}, {0x2ceb, 0x2ced, 2},
    {0x2cf2, 0x2cf2, 1}, {0xa640, 0xa66c, 2}, {0xa680, 0xa69a, 2}, {0xa722, 0xa72e, 2},
    {0xa732, 0xa76e, 2}, {0xa779, 0xa77d, 2}, {0xa77e, 0xa786, 2}, {0xa78b, 0xa78d, 2},
    {0xa790, 0xa792, 2}, {0xa796, 0xa7aa, 2}, {0xa7ab, 0xa7ae, 1}, {0xa7b0, 0xa7b4, 1},
    {0xa7b6, 0xa7c4, 2}, {0xa7c5, 0xa7c7, 1}, {0xa7c9, 0xa7c9, 1}, {0xa7d0, 0xa7d0, 1},
    {0xa7d6, 0xa7d8, 2}, {0xa7f5, 0xa7f5, 1}, {0xff21, 0xff3a, 1}, {0x10400, 0x10427, 1},
    {0x104b0, 0x104d3, 1}, {0x10570, 0x1057a, 1}, {0x1057c, 0x1058a, 1}, {0x1058c, 0x10592, 1},
    {0x10594, 0x10595, 1}, {0x10c80, 0x10cb2, 1}, {0x118a0, 0x118bf, 1}, {0x16e40, 0x16e5f, 1},
    {0x1e900, 0x1e921, 1},
};
/* clang-format on */

static bool
is_unicode_upper(uint32_t cp)
{
  for (size_t i = 0; i < ARRAY_SIZE(ref_upper_ranges); i++) {
    if (cp < ref_upper_ranges[i].lo)
      return false;
    if (cp <= ref_upper_ranges[i].hi &&
        (cp - ref_upper_ranges[i].lo) % ref_upper_ranges[i].stride == 0)
      return true;
  }
  return false;
}

/* Decode one UTF-8 sequence as Go does: overlong forms, surrogates and values
 * past U+10FFFF are invalid. Returns its length, or 0 when invalid. */
static size_t
utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
  size_t len;
  uint32_t min;

  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    len = 2;
    min = 0x80;
    *cp = s[0] & 0x1f;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    len = 3;
    min = 0x800;
    *cp = s[0] & 0x0f;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    len = 4;
    min = 0x10000;
    *cp = s[0] & 0x07;
  } else {
    return 0;
  }
  if (n < len)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    *cp = (*cp << 6) | (s[i] & 0x3f);
  }
  if (*cp < min || *cp > 0x10ffff || (*cp >= 0xd800 && *cp <= 0xdfff))
    return 0;
  return len;
}

/* strings.ToLower(s) != s: an upper-case letter, or invalid UTF-8 (which Go
 * rewrites to U+FFFD). */
static bool
lower_changes(const char *s, size_t n)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;

  while (i < n) {
    uint32_t cp;
    size_t len = utf8_decode(p + i, n - i, &cp);
    if (len == 0 || (cp < 0x80 ? is_upper((char)cp) : is_unicode_upper(cp)))
      return true;
    i += len;
  }
  return false;
}

/* strings.ToLower(s), but only when the result is ASCII: the grammar is
 * ASCII, so any other result cannot match it and NULL says so. Two code
 * points lower-case into ASCII: U+0130 to 'i' and U+212A (Kelvin) to 'k'. */
static char *
lower_ascii(const char *s)
{
  struct buf b = BUF_INIT;
  const unsigned char *p = (const unsigned char *)s;
  size_t n = strlen(s);
  size_t i = 0;

  while (i < n) {
    if (p[i] < 0x80) {
      char c = is_upper((char)p[i]) ? (char)(p[i] - 'A' + 'a') : (char)p[i];
      buf_add(&b, &c, 1);
      i++;
    } else if (n - i >= 2 && p[i] == 0xc4 && p[i + 1] == 0xb0) {
      buf_addstr(&b, "i");
      i += 2;
    } else if (n - i >= 3 && p[i] == 0xe2 && p[i + 1] == 0x84 && p[i + 2] == 0xaa) {
      buf_addstr(&b, "k");
      i += 3;
    } else {
      buf_release(&b);
      return NULL;
    }
  }
  buf_addstr(&b, "");
  return buf_steal(&b);
}

/* --- The grammar ------------------------------------------------------- */

/* pathComponent: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)* */
static bool
match_path_component(const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0 || !is_lower_alnum(s[0]))
    return false;
  for (;;) {
    while (i < n && is_lower_alnum(s[i]))
      i++;
    if (i == n)
      return true;
    if (s[i] == '.') {
      i++;
    } else if (s[i] == '_') {
      i++;
      if (i < n && s[i] == '_')
        i++;
    } else if (s[i] == '-') {
      while (i < n && s[i] == '-')
        i++;
    } else {
      return false;
    }
    /* a separator is always followed by an alphanumeric run */
    if (i == n || !is_lower_alnum(s[i]))
      return false;
  }
}

/* remoteName: pathComponent ("/" pathComponent)* */
static bool
match_path(const char *s, size_t n)
{
  size_t start = 0;

  for (size_t i = 0; i <= n; i++) {
    if (i == n || s[i] == '/') {
      if (!match_path_component(s + start, i - start))
        return false;
      start = i + 1;
    }
  }
  return true;
}

/* domainAndPort: (DNS-like name | "[" [0-9A-Fa-f:]+ "]") (":" [0-9]+)? */
static bool
match_domain(const char *s, size_t n)
{
  size_t i = 0;

  if (n == 0)
    return false;
  if (s[0] == '[') {
    i = 1;
    while (i < n && (is_hex(s[i]) || s[i] == ':'))
      i++;
    if (i == 1 || i == n || s[i] != ']')
      return false;
    i++;
  } else {
    for (;;) {
      size_t start = i;
      while (i < n && (is_alnum(s[i]) || s[i] == '-'))
        i++;
      /* a label: letters, digits and inner dashes */
      if (i == start || s[start] == '-' || s[i - 1] == '-')
        return false;
      if (i < n && s[i] == '.') {
        i++;
        continue;
      }
      break;
    }
  }
  if (i == n)
    return true;
  if (s[i] != ':' || ++i == n)
    return false;
  while (i < n && is_digit(s[i]))
    i++;
  return i == n;
}

/* tag: \w [\w.-]{0,127} */
static bool
match_tag(const char *s, size_t n)
{
  if (n == 0 || n > REF_TAG_MAX || !is_word(s[0]))
    return false;
  for (size_t i = 1; i < n; i++)
    if (!is_word(s[i]) && s[i] != '.' && s[i] != '-')
      return false;
  return true;
}

static bool
is_algorithm_separator(char c)
{
  return c == '-' || c == '_' || c == '+' || c == '.';
}

/* digest: [A-Za-z][A-Za-z0-9]* ([-_+.][A-Za-z][A-Za-z0-9]*)* ":" [[:xdigit:]]{32,} */
static bool
match_digest(const char *s, size_t n)
{
  size_t i = 0;
  size_t hex;

  for (;;) {
    if (i == n || !is_alpha(s[i]))
      return false;
    i++;
    while (i < n && is_alnum(s[i]))
      i++;
    if (i < n && is_algorithm_separator(s[i])) {
      i++;
      continue;
    }
    break;
  }
  if (i == n || s[i] != ':')
    return false;
  hex = ++i;
  while (i < n && is_hex(s[i]))
    i++;
  return i == n && n - hex >= REF_DIGEST_HEX_MIN;
}

/* Where the pieces of a matched reference lie in the input. */
struct ref_span {
  size_t name_len;   /* the name is s[0, name_len) */
  size_t domain_len; /* s[0, domain_len) is the domain when has_domain */
  bool has_domain;
  const char *tag; /* NULL when absent */
  size_t tag_len;
  const char *digest; /* NULL when absent */
  size_t digest_len;
};

/* Split a name as anchoredNameRegexp does: the domain is the first component
 * when that is a host and the rest a path; otherwise the whole name is a
 * path with no domain (which is how "my_registry.com/foo" parses). */
static bool
split_name(const char *s, size_t n, struct ref_span *sp)
{
  const char *slash = memchr(s, '/', n);

  sp->name_len = n;
  if (slash != NULL) {
    size_t dl = (size_t)(slash - s);
    if (match_domain(s, dl) && match_path(slash + 1, n - dl - 1)) {
      sp->has_domain = true;
      sp->domain_len = dl;
      return true;
    }
  }
  sp->has_domain = false;
  sp->domain_len = 0;
  return match_path(s, n);
}

/* The anchored ReferenceRegexp: name [":" tag] ["@" digest]. The split is
 * unambiguous: '@' only starts the digest; a tag holds no ':' or '/', and a
 * ':' after the last '/' cannot belong to the name, so it starts the tag. */
static bool
match_reference(const char *s, size_t n, struct ref_span *sp)
{
  const char *at = memchr(s, '@', n);
  size_t before = at ? (size_t)(at - s) : n;
  size_t last_slash = SIZE_MAX;
  size_t last_colon = SIZE_MAX;

  memset(sp, 0, sizeof(*sp));
  if (at != NULL) {
    if (!match_digest(at + 1, n - before - 1))
      return false;
    sp->digest = at + 1;
    sp->digest_len = n - before - 1;
  }
  for (size_t i = 0; i < before; i++) {
    if (s[i] == '/')
      last_slash = i;
    else if (s[i] == ':')
      last_colon = i;
  }
  if (last_colon != SIZE_MAX && (last_slash == SIZE_MAX || last_colon > last_slash)) {
    if (!match_tag(s + last_colon + 1, before - last_colon - 1))
      return false;
    sp->tag = s + last_colon + 1;
    sp->tag_len = before - last_colon - 1;
    before = last_colon;
  }
  return split_name(s, before, sp);
}

/* go-digest's Validate on a digest that already matched the syntax above:
 * the algorithm must be one we know, then the length, then lower-case hex. */
static int
check_digest(const char *d, size_t n, struct error **err)
{
  static const struct {
    const char *name;
    size_t hex_len;
  } algorithms[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
  const char *colon = memchr(d, ':', n);
  size_t alen = (size_t)(colon - d);
  size_t hlen = n - alen - 1;
  size_t want = 0;

  for (size_t i = 0; i < ARRAY_SIZE(algorithms); i++)
    if (span_eq(d, alen, algorithms[i].name))
      want = algorithms[i].hex_len;
  if (want == 0) {
    /* go-digest's own pattern wants a lower-case algorithm */
    for (size_t i = 0; i < alen; i++)
      if (is_upper(d[i]))
        return error_setc(err, ERR_INVALID, "invalid checksum digest format");
    return error_setc(err, ERR_INVALID, "unsupported digest algorithm");
  }
  if (hlen != want)
    return error_setc(err, ERR_INVALID, "invalid checksum digest length");
  for (size_t i = 0; i < hlen; i++)
    if (is_upper(colon[1 + i]))
      return error_setc(err, ERR_INVALID, "invalid checksum digest format");
  return 0;
}

/* --- Public interface -------------------------------------------------- */

bool
ref_is_identifier(const char *s)
{
  size_t i;

  for (i = 0; s[i] != '\0'; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
      return false;
  return i == REF_IDENTIFIER_LEN;
}

int
ref_parse(const char *s, struct ref *out, struct error **err)
{
  struct ref_span sp;
  size_t n = strlen(s);
  size_t path_start;

  memset(out, 0, sizeof(*out));
  if (n == 0)
    return error_setc(err, ERR_INVALID, "repository name must have at least one component");
  if (!match_reference(s, n, &sp)) {
    cleanup_free char *lower = lower_ascii(s);
    struct ref_span ignored;

    if (lower != NULL && strcmp(lower, s) != 0 && match_reference(lower, strlen(lower), &ignored))
      return error_setc(err, ERR_INVALID, "repository name must be lowercase");
    return error_setc(err, ERR_INVALID, "invalid reference format");
  }
  path_start = sp.has_domain ? sp.domain_len + 1 : 0;
  if (sp.name_len - path_start > REF_PATH_MAX)
    return error_setc(err, ERR_INVALID, "repository name must not be more than %d characters",
                      REF_PATH_MAX);
  if (sp.digest != NULL && check_digest(sp.digest, sp.digest_len, err) < 0)
    return -1;

  out->domain = xstrndup(s, sp.domain_len);
  out->path = xstrndup(s + path_start, sp.name_len - path_start);
  out->tag = sp.tag ? xstrndup(sp.tag, sp.tag_len) : NULL;
  out->digest = sp.digest ? xstrndup(sp.digest, sp.digest_len) : NULL;
  return 0;
}

int
ref_parse_normalized(const char *s, struct ref *out, struct error **err)
{
  const char *slash = strchr(s, '/');
  const char *domain = ref_default_domain;
  size_t domain_len = strlen(ref_default_domain);
  const char *rest = s;
  cleanup_free char *remainder = NULL;
  cleanup_free char *full = NULL;
  size_t remote_len;

  memset(out, 0, sizeof(*out));
  if (ref_is_identifier(s))
    return error_setc(err, ERR_INVALID,
                      "invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
                      s);

  if (slash != NULL) {
    size_t fl = (size_t)(slash - s);
    if (span_eq(s, fl, ref_legacy_domain)) {
      rest = slash + 1;
    } else if (span_eq(s, fl, ref_localhost) || memchr(s, '.', fl) || memchr(s, ':', fl) ||
               lower_changes(s, fl)) {
      /* upper case is never a path component, so the parser takes it for a host */
      domain = s;
      domain_len = fl;
      rest = slash + 1;
    }
  }
  if (span_eq(domain, domain_len, ref_default_domain) && strchr(rest, '/') == NULL)
    remainder = xasprintf("%s%s", ref_official_prefix, rest);
  else
    remainder = xstrdup(rest);

  remote_len = strcspn(remainder, ":");
  if (lower_changes(remainder, remote_len))
    return error_setc(err, ERR_INVALID,
                      "invalid reference format: repository name (%.*s) must be lowercase",
                      (int)remote_len, remainder);

  full = xasprintf("%.*s/%s", (int)domain_len, domain, remainder);
  return ref_parse(full, out, err);
}

int
ref_parse_docker(const char *s, struct ref *out, struct error **err)
{
  if (ref_parse_normalized(s, out, err) < 0)
    return -1;
  if (out->tag != NULL && out->digest != NULL) {
    free(out->tag);
    out->tag = NULL;
  } else if (out->tag == NULL && out->digest == NULL) {
    out->tag = xstrdup("latest");
  }
  return 0;
}

static void
add_name(struct buf *b, const char *domain, const char *path)
{
  if (domain != NULL && *domain != '\0') {
    buf_addstr(b, domain);
    buf_addstr(b, "/");
  }
  buf_addstr(b, path);
}

static void
add_suffix(struct buf *b, const struct ref *r)
{
  if (r->tag != NULL)
    buf_addf(b, ":%s", r->tag);
  if (r->digest != NULL)
    buf_addf(b, "@%s", r->digest);
}

char *
ref_name(const struct ref *r)
{
  struct buf b = BUF_INIT;

  add_name(&b, r->domain, r->path);
  return buf_steal(&b);
}

char *
ref_string(const struct ref *r)
{
  struct buf b = BUF_INIT;

  add_name(&b, r->domain, r->path);
  add_suffix(&b, r);
  return buf_steal(&b);
}

static void
add_familiar_name(struct buf *b, const struct ref *r)
{
  const char *path = r->path;

  if (!str_eq(r->domain, ref_default_domain)) {
    add_name(b, r->domain, path);
    return;
  }
  /* "library/" goes only when one component follows it */
  if (str_has_prefix(path, ref_official_prefix) &&
      strchr(path + strlen(ref_official_prefix), '/') == NULL)
    path += strlen(ref_official_prefix);
  buf_addstr(b, path);
}

char *
ref_familiar_name(const struct ref *r)
{
  struct buf b = BUF_INIT;

  add_familiar_name(&b, r);
  return buf_steal(&b);
}

char *
ref_familiar(const struct ref *r)
{
  struct buf b = BUF_INIT;

  add_familiar_name(&b, r);
  add_suffix(&b, r);
  return buf_steal(&b);
}

char *
ref_normalize(const char *s, struct error **err)
{
  cleanup_ref struct ref r = {0};

  if (ref_parse_docker(s, &r, err) < 0)
    return NULL;
  return ref_string(&r);
}

void
ref_release(struct ref *r)
{
  if (r == NULL)
    return;
  free(r->domain);
  free(r->path);
  free(r->tag);
  free(r->digest);
  memset(r, 0, sizeof(*r));
}
