/*
 * paths.c - the "{stream}" placeholder of file destinations: one output
 * file per stream, named after the stream.  Every file destination in the
 * tree and any third-party one resolve it the same way, so a pipeline
 * names its outputs alike whatever the format.  And the other way: a
 * file source's "path" setting expanded to its input files, one stream
 * each, the same way in every file source.
 */
#include <glob.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sdk_internal.h"

static const char STREAM_TOKEN[] = "{stream}";
#define STREAM_TOKEN_LEN (sizeof STREAM_TOKEN - 1)

/* The part of a stream name an output is named after: after the last '/',
 * up to the first '.' that does not start it ("logs/in.csv.gz" -> "in",
 * ".env.csv" -> ".env"). */
static void stream_base(const char *stream, const char **base, size_t *len) {
  const char *slash = strrchr(stream, '/');
  const char *b = slash != NULL ? slash + 1 : stream;
  const char *dot = b[0] != '\0' ? strchr(b + 1, '.') : NULL;
  *base = b;
  *len = dot != NULL ? (size_t)(dot - b) : strlen(b);
}

char *nb_stream_path(const char *pattern, const char *stream) {
  if (pattern == NULL || stream == NULL) return NULL;
  const char *base;
  size_t base_len, count = 0, pattern_len = strlen(pattern);
  stream_base(stream, &base, &base_len);
  for (const char *p = strstr(pattern, STREAM_TOKEN); p != NULL;
       p = strstr(p + STREAM_TOKEN_LEN, STREAM_TOKEN))
    count++;
  /* Each token is replaced: the result is at most pattern + count * base. */
  if (count > 0 && base_len > (SIZE_MAX - pattern_len - 1) / count) return NULL;
  char *out = malloc(pattern_len + count * base_len + 1);
  if (out == NULL) return NULL;
  char *o = out;
  for (const char *p = pattern; *p != '\0';) {
    if (strncmp(p, STREAM_TOKEN, STREAM_TOKEN_LEN) == 0) {
      memcpy(o, base, base_len);
      o += base_len;
      p += STREAM_TOKEN_LEN;
    } else {
      *o++ = *p++;
    }
  }
  *o = '\0';
  return out;
}

bool nb_path_has_stream(const char *pattern) {
  return pattern != NULL && strstr(pattern, STREAM_TOKEN) != NULL;
}

/* The size of a local file, or -1 ("-", a URL, a file stat cannot see). */
static int64_t local_size(const char *path) {
  struct stat st;
  if (strcmp(path, "-") == 0 || stat(path, &st) != 0) return -1;
  return (int64_t)st.st_size;
}

static int expand_glob(const char *pattern, NbPathEach each, void *cookie,
                       NbError *err) {
  glob_t g;
  memset(&g, 0, sizeof g);
  int grc = glob(pattern, 0, NULL, &g);
  if (grc == GLOB_NOMATCH) {
    globfree(&g);
    nb_error_set(err, NB_NOT_FOUND, "no file matches pattern \"%s\"", pattern);
    nb_error_hint(err, "Check the setting \"path\".");
    return NB_NOT_FOUND;
  }
  if (grc != 0) {
    globfree(&g);
    return nb_error_set(err, grc == GLOB_NOSPACE ? NB_NOMEM : NB_IO,
                        "could not expand pattern \"%s\"", pattern);
  }
  int rc = NB_OK;
  for (size_t i = 0; i < g.gl_pathc && rc == NB_OK; i++)
    rc = each(cookie, g.gl_pathv[i], local_size(g.gl_pathv[i]));
  globfree(&g);
  return rc;
}

int nb_path_expand(const NbHostApi *host, const char *pattern, NbPathEach each,
                   void *cookie, NbError *err) {
  if (pattern == NULL || each == NULL)
    return nb_error_set(err, NB_INVALID, "nb_path_expand: no pattern or no callback");
  if (strcmp(pattern, "-") == 0 || strpbrk(pattern, "*?[") == NULL)
    return each(cookie, pattern, local_size(pattern));
  /* A pattern with a URL scheme is listed by the host's storage module. */
  if (strstr(pattern, "://") != NULL && NB_HOST_HAS(host, file_list)) {
    int rc = host->file_list(host->host_data, pattern, each, cookie, err);
    if (rc == NB_NOT_FOUND) nb_error_hint(err, "Check the setting \"path\".");
    return rc;
  }
  return expand_glob(pattern, each, cookie, err);
}
