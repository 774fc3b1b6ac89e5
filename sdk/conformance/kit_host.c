/*
 * kit_host.c - the conformance kit's NbHostApi: logging to stderr, no
 * cancellation, counters ignored, and files through plain stdio without
 * compression.  The kit must not depend on nebula-host, and a connector
 * that passes here uses nothing beyond the documented host API.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kit.h"

struct NbFile {
  FILE *fp;
  KitHost *host;
  char *path;
  bool writing;
  bool is_std;
};

static const char *level_name(int level) {
  switch (level) {
    case NB_LOG_ERROR: return "error";
    case NB_LOG_WARN: return "warning";
    case NB_LOG_INFO: return "info";
    default: return "debug";
  }
}

static void host_log(void *data, int level, const char *message) {
  KitHost *host = data;
  host->log_lines++;
  fprintf(stderr, "connector %s: %s\n", level_name(level), message);
}

static int host_is_cancelled(void *data) {
  (void)data;
  return 0;
}

static void host_counter_add(void *data, const char *name, int64_t delta) {
  (void)data;
  (void)name;
  (void)delta;
}

static int io_error(NbError *err, int code, const char *what,
                    const char *path) {
  return nb_error_set(err, code, "could not %s file \"%s\": %s", what, path,
                      strerror(errno));
}

static NbFile *file_new(KitHost *host, FILE *fp, const char *path,
                        bool writing, bool is_std) {
  NbFile *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->path = strdup(path);
  if (f->path == NULL) {
    free(f);
    return NULL;
  }
  f->fp = fp;
  f->host = host;
  f->writing = writing;
  f->is_std = is_std;
  host->open_files++;
  return f;
}

static int host_open_read(void *data, const char *path, NbFile **out,
                          NbError *err) {
  KitHost *host = data;
  bool is_std = strcmp(path, "-") == 0;
  FILE *fp = is_std ? stdin : fopen(path, "rb");
  if (fp == NULL)
    return io_error(err, errno == ENOENT ? NB_NOT_FOUND : NB_IO, "open",
                    path);
  *out = file_new(host, fp, path, false, is_std);
  if (*out == NULL) {
    if (!is_std) fclose(fp);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

static int host_read(NbFile *f, void *buf, size_t capacity, size_t *n_read,
                     NbError *err) {
  size_t n = fread(buf, 1, capacity, f->fp);
  if (n == 0 && ferror(f->fp)) return io_error(err, NB_IO, "read", f->path);
  *n_read = n;
  return NB_OK;
}

static int host_skip(NbFile *f, uint64_t n, NbError *err) {
  char buf[65536];
  while (n > 0) {
    size_t want = n < sizeof buf ? (size_t)n : sizeof buf;
    size_t got = fread(buf, 1, want, f->fp);
    if (got == 0) {
      if (ferror(f->fp)) return io_error(err, NB_IO, "read", f->path);
      return nb_error_set(err, NB_END,
                          "file \"%s\" ends before the resume offset",
                          f->path);
    }
    n -= got;
  }
  return NB_OK;
}

static bool compression_is_plain(const NbWriteOptions *o) {
  if (o == NULL || !NB_STRUCT_HAS(NbWriteOptions, o, compression)) return true;
  return o->compression == NULL || strcmp(o->compression, "none") == 0 ||
         strcmp(o->compression, "auto") == 0;
}

static int host_open_write(void *data, const char *path,
                           const NbWriteOptions *options, NbFile **out,
                           NbError *err) {
  KitHost *host = data;
  bool is_std = strcmp(path, "-") == 0;
  int64_t resume = -1;
  FILE *fp;
  if (!compression_is_plain(options))
    return nb_error_set(err, NB_NOT_IMPLEMENTED,
                        "the conformance kit writes uncompressed files only "
                        "(compression \"%s\" requested)",
                        options->compression);
  if (options != NULL && NB_STRUCT_HAS(NbWriteOptions, options, resume_length))
    resume = options->resume_length;
  if (is_std) {
    fp = stdout;
  } else if (resume >= 0) {
    fp = fopen(path, "r+b");
    if (fp == NULL) return io_error(err, NB_IO, "open", path);
    if (ftruncate(fileno(fp), (off_t)resume) != 0 ||
        fseeko(fp, 0, SEEK_END) != 0) {
      int saved = errno;
      fclose(fp);
      errno = saved;
      return io_error(err, NB_IO, "truncate", path);
    }
  } else {
    fp = fopen(path, "wb");
    if (fp == NULL) return io_error(err, NB_IO, "open", path);
  }
  *out = file_new(host, fp, path, true, is_std);
  if (*out == NULL) {
    if (!is_std) fclose(fp);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

static int host_write(NbFile *f, const void *buf, size_t len, NbError *err) {
  if (len > 0 && fwrite(buf, 1, len, f->fp) != len)
    return io_error(err, NB_IO, "write", f->path);
  return NB_OK;
}

static int host_commit(NbFile *f, uint64_t *durable_length, NbError *err) {
  off_t end;
  if (fflush(f->fp) != 0) return io_error(err, NB_IO, "write", f->path);
  if (!f->is_std && fsync(fileno(f->fp)) != 0)
    return io_error(err, NB_IO, "sync", f->path);
  end = f->is_std ? 0 : ftello(f->fp);
  if (end < 0) return io_error(err, NB_IO, "seek in", f->path);
  if (durable_length != NULL) *durable_length = (uint64_t)end;
  return NB_OK;
}

static int host_close(NbFile *f, NbError *err) {
  int rc = NB_OK;
  if (f == NULL) return NB_OK;
  if (f->is_std) {
    if (f->writing && fflush(f->fp) != 0) rc = io_error(err, NB_IO, "write", f->path);
  } else if (fclose(f->fp) != 0) {
    rc = io_error(err, NB_IO, "close", f->path);
  }
  f->host->open_files--;
  free(f->path);
  free(f);
  return rc;
}

void kit_host_init(KitHost *host) {
  memset(host, 0, sizeof *host);
  host->api.struct_size = sizeof host->api;
  host->api.abi_version = NB_ABI_CURRENT;
  host->api.host_data = host;
  host->api.log = host_log;
  host->api.is_cancelled = host_is_cancelled;
  host->api.counter_add = host_counter_add;
  host->api.file_open_read = host_open_read;
  host->api.file_read = host_read;
  host->api.file_open_write = host_open_write;
  host->api.file_write = host_write;
  host->api.file_commit = host_commit;
  host->api.file_close = host_close;
  host->api.file_skip = host_skip;
}
