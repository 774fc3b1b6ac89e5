/*
 * errors.c - filling NbError (abi.h) from connector code, status names, and
 * logging through the host.
 *
 * Every string an error holds is malloc'ed here and freed by
 * sdk_error_release, which is the release callback installed in the error.
 * The caller's struct_size is honoured field by field: an older or smaller
 * NbError never has a byte written beyond what its writer declared.
 */
#define _GNU_SOURCE 1 /* vasprintf, asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

/* Used when formatting the message itself fails for lack of memory; never
 * freed. */
static const char nomem_message[] = "out of memory while reporting an error";

static void sdk_error_release(NbError *err) {
  uint32_t size;
  if (err == NULL) return;
  if (NB_ERR_HAS(err, message) && err->message != nomem_message)
    free(err->message);
  if (NB_ERR_HAS(err, detail)) free(err->detail);
  if (NB_ERR_HAS(err, hint)) free(err->hint);
  if (NB_ERR_HAS(err, location)) free(err->location);
  if (NB_ERR_HAS(err, record)) free(err->record);
  size = err->struct_size;
  memset(err, 0, size < sizeof *err ? size : sizeof *err);
  err->struct_size = size;
}

/* Whether this error's strings are ours to replace: no error yet, or one we
 * set.  Strings of another producer's error must not be freed by us. */
static bool error_is_ours(const NbError *err) {
  return NB_ERR_HAS(err, release) &&
         (err->release == NULL || err->release == sdk_error_release);
}

static char *vformat(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

const char *nb_status_name(int status) {
  static const char *const names[] = {
      "NB_OK",           "NB_END",          "NB_SCHEMA_CHANGED",
      "NB_INVALID",      "NB_IO",           "NB_UNAVAILABLE",
      "NB_DATA",         "NB_CANCELLED",    "NB_NOT_IMPLEMENTED",
      "NB_INTERNAL",     "NB_NOMEM",        "NB_ABI_MISMATCH",
      "NB_NOT_FOUND"};
  if (status < 0 || (size_t)status >= sizeof names / sizeof names[0])
    return "NB_UNRECOGNIZED";
  return names[status];
}

int nb_error_setv(NbError *err, int code, const char *fmt, va_list ap) {
  char *message;
  if (err == NULL) return code;
  if (err->release != NULL && NB_ERR_HAS(err, release)) err->release(err);
  if (NB_ERR_HAS(err, code)) err->code = code;
  /* Without room for release we could never free a string: keep the code
   * only. */
  if (!NB_ERR_HAS(err, release) || !NB_ERR_HAS(err, message)) return code;
  message = vformat(fmt, ap);
  err->message = message != NULL ? message : (char *)nomem_message;
  err->release = sdk_error_release;
  return code;
}

int nb_error_set(NbError *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nb_error_setv(err, code, fmt, ap);
  va_end(ap);
  return code;
}

/* Append a sentence to *slot (separated by a space), or set it. */
static void append_sentence(NbError *err, char **slot, const char *fmt,
                            va_list ap) {
  char *text, *joined;
  if (!error_is_ours(err)) return;
  text = vformat(fmt, ap);
  if (text == NULL) return;
  if (*slot == NULL) {
    *slot = text;
  } else {
    if (asprintf(&joined, "%s %s", *slot, text) < 0) {
      free(text);
      return;
    }
    free(text);
    free(*slot);
    *slot = joined;
  }
  err->release = sdk_error_release;
}

void nb_error_detail(NbError *err, const char *fmt, ...) {
  va_list ap;
  if (!NB_ERR_HAS(err, detail)) return;
  va_start(ap, fmt);
  append_sentence(err, &err->detail, fmt, ap);
  va_end(ap);
}

void nb_error_hint(NbError *err, const char *fmt, ...) {
  va_list ap;
  if (!NB_ERR_HAS(err, hint)) return;
  va_start(ap, fmt);
  append_sentence(err, &err->hint, fmt, ap);
  va_end(ap);
}

void nb_error_locate(NbError *err, const char *location, int64_t line,
                     int64_t column) {
  if (!error_is_ours(err)) return;
  if (NB_ERR_HAS(err, location)) {
    char *copy = location != NULL ? strdup(location) : NULL;
    if (location == NULL || copy != NULL) {
      free(err->location);
      err->location = copy;
      err->release = sdk_error_release;
    }
  }
  if (NB_ERR_HAS(err, line)) err->line = line;
  if (NB_ERR_HAS(err, column)) err->column = column;
}

void nb_error_record(NbError *err, const void *record, size_t len) {
  char *copy;
  if (!error_is_ours(err) || !NB_ERR_HAS(err, record_len)) return;
  copy = malloc(len > 0 ? len : 1);
  if (copy == NULL) return;
  if (len > 0) memcpy(copy, record, len);
  free(err->record);
  err->record = copy;
  err->record_len = len;
  err->release = sdk_error_release;
}

void nb_error_release(NbError *err) {
  uint32_t size;
  if (err == NULL) return;
  if (NB_ERR_HAS(err, release) && err->release != NULL) err->release(err);
  size = err->struct_size;
  memset(err, 0, size < sizeof *err ? size : sizeof *err);
  err->struct_size = size;
}

void nb_log(const NbHostApi *host, int level, const char *fmt, ...) {
  char small[512];
  char *text = small;
  va_list ap;
  int n;
  if (!NB_HOST_HAS(host, log)) return;
  va_start(ap, fmt);
  n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if ((size_t)n >= sizeof small) {
    text = malloc((size_t)n + 1);
    if (text == NULL) {
      text = small; /* the line cut short beats no line at all */
    } else {
      va_start(ap, fmt);
      vsnprintf(text, (size_t)n + 1, fmt, ap);
      va_end(ap);
    }
  }
  host->log(host->host_data, level, text);
  if (text != small) free(text);
}

const char *nbsdk_quote(const char *text, size_t len, char *buf, size_t cap) {
  if (cap == 0) return "";
  if (len < cap) {
    memcpy(buf, text, len);
    buf[len] = '\0';
    return buf;
  }
  if (cap < 4) {
    buf[0] = '\0';
    return buf;
  }
  memcpy(buf, text, cap - 4);
  memcpy(buf + cap - 4, "...", 4);
  return buf;
}

int nb_file_close_logged(const NbHostApi *host, NbFile *file, const char *path) {
  if (file == NULL || host == NULL || host->file_close == NULL) return NB_OK;
  NbError e;
  nb_error_init(&e);
  int rc = host->file_close(file, &e);
  if (rc != NB_OK)
    nb_log(host, NB_LOG_ERROR, "could not close file \"%s\": %s", path != NULL ? path : "?",
           e.message != NULL ? e.message : nb_status_name(rc));
  nb_error_release(&e);
  return rc;
}
