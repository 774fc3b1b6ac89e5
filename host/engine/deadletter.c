/*
 * deadletter.c - formatting, appending and syncing dead-letter records (see
 * deadletter.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "deadletter.h"
#include "jsonread.h"
#include "nebula/sdk.h"
#include "textutil.h"

struct NbhDeadLetter {
  int fd;
  char *path;
  uint64_t length;
};

static int io_error(NbError *err, const char *what, const char *path) {
  int saved = errno;
  return nb_error_set(err, NB_IO, "could not %s dead-letter file \"%s\": %s",
                      what, path, strerror(saved));
}

int nbh_dead_letter_open(const char *path, int64_t resume_length,
                         NbhDeadLetter **out, NbError *err) {
  NbhDeadLetter *dl;
  struct stat st;
  int flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC;

  if (resume_length < 0) flags |= O_TRUNC;
  dl = calloc(1, sizeof *dl);
  if (dl == NULL || (dl->path = strdup(path)) == NULL) {
    free(dl);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  dl->fd = open(path, flags, 0644);
  if (dl->fd < 0) {
    io_error(err, "open", path);
    free(dl->path);
    free(dl);
    return NB_IO;
  }
  if (resume_length >= 0) {
    if (fstat(dl->fd, &st) != 0) {
      io_error(err, "stat", path);
      nbh_dead_letter_close(dl);
      return NB_IO;
    }
    if ((uint64_t)st.st_size < (uint64_t)resume_length) {
      nb_error_set(err, NB_INVALID,
                   "dead-letter file \"%s\" is shorter than the state file says",
                   path);
      nb_error_detail(err,
                      "The last commit saved a length of %" PRId64
                      " bytes; the file has %lld.",
                      resume_length, (long long)st.st_size);
      nb_error_hint(err,
                    "Restore the file, or delete the state file to run the "
                    "pipeline from the start.");
      nbh_dead_letter_close(dl);
      return NB_INVALID;
    }
    if (ftruncate(dl->fd, (off_t)resume_length) != 0) {
      io_error(err, "truncate", path);
      nbh_dead_letter_close(dl);
      return NB_IO;
    }
    dl->length = (uint64_t)resume_length;
  }
  *out = dl;
  return NB_OK;
}

int nbh_dead_letter_append(NbhDeadLetter *dl, const char *line, size_t len,
                           NbError *err) {
  while (len > 0) {
    ssize_t n = write(dl->fd, line, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error(err, "write", dl->path);
    }
    line += n;
    len -= (size_t)n;
    dl->length += (uint64_t)n;
  }
  return NB_OK;
}

int nbh_dead_letter_sync(NbhDeadLetter *dl, uint64_t *length, NbError *err) {
  if (fsync(dl->fd) != 0) return io_error(err, "sync", dl->path);
  *length = dl->length;
  return NB_OK;
}

void nbh_dead_letter_close(NbhDeadLetter *dl) {
  if (dl == NULL) return;
  if (dl->fd >= 0) close(dl->fd);
  free(dl->path);
  free(dl);
}

static void put_string_field(NbhBuf *buf, const char *key, const char *value) {
  nbh_buf_printf(buf, ",\"%s\":", key);
  if (value == NULL) {
    nbh_buf_puts(buf, "null");
    return;
  }
  nbh_buf_puts(buf, "\"");
  nbh_buf_json_escape(buf, value, strlen(value));
  nbh_buf_puts(buf, "\"");
}

static void put_base64(NbhBuf *buf, const unsigned char *data, size_t len) {
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  char quad[4];
  size_t i;
  for (i = 0; i + 2 < len; i += 3) {
    uint32_t v = (uint32_t)data[i] << 16 | (uint32_t)data[i + 1] << 8 | data[i + 2];
    quad[0] = alphabet[v >> 18];
    quad[1] = alphabet[(v >> 12) & 63];
    quad[2] = alphabet[(v >> 6) & 63];
    quad[3] = alphabet[v & 63];
    nbh_buf_append(buf, quad, 4);
  }
  if (i < len) {
    uint32_t v = (uint32_t)data[i] << 16;
    if (i + 1 < len) v |= (uint32_t)data[i + 1] << 8;
    quad[0] = alphabet[v >> 18];
    quad[1] = alphabet[(v >> 12) & 63];
    quad[2] = i + 1 < len ? alphabet[(v >> 6) & 63] : '=';
    quad[3] = '=';
    nbh_buf_append(buf, quad, 4);
  }
}

char *nbh_dead_letter_format(const char *stream, const NbError *err,
                             size_t *len) {
  NbhBuf buf = NBH_BUF_INIT;
  nbh_buf_puts(&buf, "{\"stream\":\"");
  nbh_buf_json_escape(&buf, stream, strlen(stream));
  nbh_buf_puts(&buf, "\"");
  put_string_field(&buf, "location", err->location);
  if (err->line > 0)
    nbh_buf_printf(&buf, ",\"line\":%" PRId64, err->line);
  else
    nbh_buf_puts(&buf, ",\"line\":null");
  if (err->column > 0)
    nbh_buf_printf(&buf, ",\"column\":%" PRId64, err->column);
  else
    nbh_buf_puts(&buf, ",\"column\":null");
  put_string_field(&buf, "reason",
                   err->message != NULL ? err->message : "bad record");
  if (err->detail != NULL) put_string_field(&buf, "detail", err->detail);
  if (err->record == NULL) {
    nbh_buf_puts(&buf, ",\"record\":null");
  } else if (nbh_utf8_valid(err->record, err->record_len)) {
    nbh_buf_puts(&buf, ",\"record\":\"");
    nbh_buf_json_escape(&buf, err->record, err->record_len);
    nbh_buf_puts(&buf, "\"");
  } else {
    /* Not text: a JSON string would have to replace bytes.  Keep them. */
    nbh_buf_puts(&buf, ",\"record\":null,\"record_base64\":\"");
    put_base64(&buf, (const unsigned char *)err->record, err->record_len);
    nbh_buf_puts(&buf, "\"");
  }
  nbh_buf_puts(&buf, "}\n");
  if (buf.failed) {
    nbh_buf_free(&buf);
    return NULL;
  }
  *len = buf.len;
  return nbh_buf_take(&buf);
}
