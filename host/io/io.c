/*
 * io.c - the host's file layer (see io.h): open, read, skip, write, commit
 * and close files for connectors, with compression detected by magic bytes
 * on input and chosen by option or extension on output.  The codecs
 * themselves live in codec_*.c behind codec.h.  This file owns handles,
 * error messages and closing; reading is io_read.c, writing (the writer
 * thread, commits, durability) io_write.c.
 *
 * Memory is constant per open file: one raw input buffer (plus the
 * decoder's own window) when reading; two fill buffers and one output sink
 * when writing.
 */
#define _GNU_SOURCE
#include "io_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block_codec.h"

/* Buffer sizes are in NbhIoSizes (io.h): by default 1 MiB read from the
 * file at once and 1 MiB filled by the caller before compression, large
 * enough to keep syscalls off the profile. */
static char *describe(const char *path, bool reading, bool object) {
  char *s = NULL;
  if (strcmp(path, "-") == 0)
    return strdup(reading ? "standard input" : "standard output");
  if (asprintf(&s, "%s \"%s\"", object ? "object" : "file", path) < 0) return NULL;
  return s;
}

char *io_format_message(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

int io_sticky_fail(int *status, char **message, NbError *err, int code, const char *fmt,
                   ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = io_format_message(fmt, ap);
  va_end(ap);
  *status = code;
  free(*message);
  *message = msg;
  return nb_error_set(err, code, "%s", msg ? msg : "out of memory");
}

int io_sticky_repeat(int status, const char *message, NbError *err) {
  return nb_error_set(err, status, "%s", message ? message : "out of memory");
}

void io_file_free(NbFile *f) {
  if (f == NULL) return;
  if (f->owns_fd && f->fd >= 0) close(f->fd);
  if (f->store != NULL && f->reader != NULL) f->store->reader_close(f->reader);
  if (f->store != NULL && f->writer != NULL) f->store->writer_close(f->writer);
  free(f->store_message);
  if (f->r.ops && f->r.dec) f->r.ops->destroy(f->r.dec);
  free(f->r.raw);
  free(f->r.scratch);
  free(f->r.message);
  if (f->w.ops && f->w.enc) f->w.ops->destroy(f->w.enc);
  free(f->w.fill);
  free(f->w.spare);
  free(f->w.sink.buf);
  free(f->w.message);
  free(f->path);
  free(f->what);
  free(f);
}

NbFile *io_file_new(const char *path, int mode, bool object) {
  NbFile *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->fd = -1;
  f->mode = mode;
  f->path = strdup(path);
  f->what = describe(path, mode == MODE_READ, object);
  if (f->path == NULL || f->what == NULL) {
    io_file_free(f);
    return NULL;
  }
  return f;
}

int io_open_error(NbError *err, const char *path, int errnum) {
  int code = errnum == ENOENT ? NB_NOT_FOUND : NB_IO;
  return nb_error_set(err, code, "could not open file \"%s\": %s", path, strerror(errnum));
}

/* Check sizes (NULL: the defaults) and fill *read_size / *write_size. */
int io_resolve_sizes(const NbhIoSizes *sizes, const char *path, size_t *read_size,
                         size_t *write_size, NbError *err) {
  *read_size = sizes && sizes->read_buffer ? sizes->read_buffer : NBH_IO_DEFAULT_BUFFER;
  *write_size = sizes && sizes->write_buffer ? sizes->write_buffer : NBH_IO_DEFAULT_BUFFER;
  if (*read_size < NBH_IO_MIN_BUFFER || *write_size < NBH_IO_MIN_BUFFER)
    return nb_error_set(err, NB_INVALID, "buffer size under %zu bytes for file \"%s\"",
                        NBH_IO_MIN_BUFFER, path);
  return NB_OK;
}

int nbh_file_close(NbFile *file, NbError *err) {
  if (file == NULL) return NB_OK;
  int rc = NB_OK;
  if (file->mode == MODE_WRITE) rc = io_write_end(file, err);
  io_file_free(file);
  return rc;
}

void nbh_io_install(NbHostApi *api) {
  if (api == NULL) return;
  api->file_open_read = nbh_file_open_read;
  api->file_read = nbh_file_read;
  api->file_open_write = nbh_file_open_write;
  api->file_write = nbh_file_write;
  api->file_commit = nbh_file_commit;
  api->file_close = nbh_file_close;
  api->file_skip = nbh_file_skip;
  api->block_compress_bound = nbh_block_compress_bound;
  api->block_compress = nbh_block_compress;
  api->block_decompress = nbh_block_decompress;
}

