/*
 * paths.c - the "{stream}" placeholder of file destinations: one output
 * file per stream, named after the stream.  Every file destination in the
 * tree and any third-party one resolve it the same way, so a pipeline
 * names its outputs alike whatever the format.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
