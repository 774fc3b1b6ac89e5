/*
 * io_write.c - writing a file for a connector: the codec chosen by option
 * or extension, the caller's bytes filled into one buffer while a writer
 * thread compresses and writes the other, commits that make the bytes
 * durable (fsync, and the directory once), and resume by truncation.
 */
#define _GNU_SOURCE
#include "io_internal.h"
#include "fdio.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compressed output gathered before a write(2): at least the write buffer,
 * and never under what one encoder step may reserve (lz4 and snappy
 * reserve a little over 64 KiB). */
#define SINK_MIN ((size_t)256 << 10)

/* ------------------------------------------------------------------------
 * Writing: codec choice
 * ------------------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const NbhEncoderOps *encoder_by_extension(const char *path) {
  if (ends_with(path, ".gz")) return &nbh_gzip_encoder;
  if (ends_with(path, ".zst")) return &nbh_zstd_encoder;
  if (ends_with(path, ".lz4")) return &nbh_lz4_encoder;
  if (ends_with(path, ".sz")) return &nbh_snappy_encoder;
  return NULL;
}

/* Resolve options->compression for path into *ops (NULL = plain). */
static int choose_encoder(const char *path, const char *compression,
                          const NbhEncoderOps **ops, NbError *err) {
  static const struct {
    const char *name;
    const NbhEncoderOps *ops;
  } table[] = {{"none", NULL},
               {"gzip", &nbh_gzip_encoder},
               {"zstd", &nbh_zstd_encoder},
               {"lz4", &nbh_lz4_encoder},
               {"snappy", &nbh_snappy_encoder}};
  if (compression == NULL || strcmp(compression, "auto") == 0) {
    *ops = strcmp(path, "-") == 0 ? NULL : encoder_by_extension(path);
    return NB_OK;
  }
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(compression, table[i].name) == 0) {
      *ops = table[i].ops;
      return NB_OK;
    }
  }
  nb_error_set(err, NB_INVALID, "unknown compression \"%s\" for file \"%s\"", compression, path);
  nb_error_hint(err, "Use none, gzip, zstd, lz4, snappy or auto.");
  return NB_INVALID;
}

static int check_level(const char *path, const NbhEncoderOps *ops, int level, NbError *err) {
  if (level == 0) return NB_OK;
  if (ops == NULL) {
    nb_error_set(err, NB_INVALID, "compression level %d given for file \"%s\", which is not "
                 "compressed", level, path);
    nb_error_hint(err, "Choose a compression, or name the file with .gz, .zst, .lz4 or .sz.");
    return NB_INVALID;
  }
  if (ops->min_level > ops->max_level) {
    nb_error_set(err, NB_INVALID, "compression level %d given for file \"%s\", but %s has "
                 "no levels", level, path, ops->name);
    nb_error_hint(err, "Leave the level at 0 with %s.", ops->name);
    return NB_INVALID;
  }
  if (level < ops->min_level || level > ops->max_level) {
    nb_error_set(err, NB_INVALID, "compression level %d is out of range for %s (file \"%s\")",
                 level, ops->name, path);
    nb_error_detail(err, "Levels of %s go from %d to %d; 0 means the default.", ops->name,
                    ops->min_level, ops->max_level);
    return NB_INVALID;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Writing: sink, encoding, writer thread
 * ------------------------------------------------------------------------ */

/* Write raw (compressed) bytes to the descriptor or the storage module.
 * 0, or -1 with errno set (for a module: EIO, its error kept in
 * store_status / store_message). */
static int raw_write(NbFile *f, const uint8_t *buf, size_t len) {
  if (f->store == NULL) return nbh_write_all(f->fd, buf, len);
  NbError e;
  nb_error_init(&e);
  int rc = f->store->writer_write(f->writer, buf, len, &e);
  if (rc == NB_OK) return 0;
  free(f->store_message);
  f->store_message = strdup(e.message != NULL ? e.message : nb_status_name(rc));
  f->store_status = rc;
  nb_error_release(&e);
  errno = EIO;
  return -1;
}

static int sink_flush(NbhSink *sink) {
  NbFile *f = sink->owner;
  if (sink->len == 0) return 0;
  if (raw_write(f, sink->buf, sink->len) != 0) return -1;
  f->w.length += sink->len;
  sink->len = 0;
  return 0;
}

/* Record an encoding or writing failure in *status / *message from the
 * codec's result; errnum is the sink's errno when rc is NBH_CODEC_SINK. */
static void record_failure(NbFile *f, int rc, int errnum, const char *msg, int *status_out,
                           char **message_out) {
  WriteSide *w = &f->w;
  char *text = NULL;
  int status = NB_IO;
  if (rc == NBH_CODEC_SINK && f->store != NULL) {
    if (asprintf(&text, "could not write to %s: %s", f->what,
                 f->store_message != NULL ? f->store_message : "out of memory") < 0)
      text = NULL;
    status = f->store_status != NB_OK ? f->store_status : NB_IO;
  } else if (rc == NBH_CODEC_SINK) {
    if (asprintf(&text, "could not write to %s: %s", f->what, strerror(errnum)) < 0) text = NULL;
  } else {
    status = rc == NBH_CODEC_NOMEM ? NB_NOMEM : NB_INTERNAL;
    if (asprintf(&text, "could not compress %s data for %s: %s", w->ops->name, f->what, msg) < 0)
      text = NULL;
  }
  free(*message_out);
  *message_out = text;
  *status_out = status;
}

/* The same on the caller's thread (no writer thread, or it is idle). */
static void record_write_failure(NbFile *f, int rc, int errnum, const char *msg) {
  record_failure(f, rc, errnum, msg, &f->w.status, &f->w.message);
}

/* Compress (or copy) one buffer into the file.  Runs on the writer thread
 * when there is one, else on the caller's; never both at once. */
static void consume(NbFile *f, const uint8_t *buf, size_t len, int *status, char **message) {
  WriteSide *w = &f->w;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  if (len == 0) return;
  if (w->ops == NULL) {
    if (raw_write(f, buf, len) != 0) {
      record_failure(f, NBH_CODEC_SINK, errno, NULL, status, message);
      return;
    }
    w->length += len;
    return;
  }
  int rc = w->ops->write(w->enc, buf, len, &w->sink, msg);
  if (rc != NBH_CODEC_OK) record_failure(f, rc, errno, msg, status, message);
}

static void *writer_main(void *arg) {
  NbFile *f = arg;
  WriteSide *w = &f->w;
  pthread_mutex_lock(&w->mu);
  for (;;) {
    while (!w->job_pending && !w->stop) pthread_cond_wait(&w->cv, &w->mu);
    if (!w->job_pending) break;
    uint8_t *buf = w->job;
    size_t len = w->job_len;
    bool failed = w->status != NB_OK;
    pthread_mutex_unlock(&w->mu);
    int status = NB_OK;
    char *message = NULL;
    if (!failed) consume(f, buf, len, &status, &message);
    pthread_mutex_lock(&w->mu);
    if (status != NB_OK) {
      w->status = status;
      w->message = message;
    }
    w->spare = buf;
    w->job = NULL;
    w->job_pending = false;
    pthread_cond_broadcast(&w->cv);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

/* Wait until the writer thread holds no buffer. */
static void wait_idle(WriteSide *w) {
  pthread_mutex_lock(&w->mu);
  while (w->job_pending) pthread_cond_wait(&w->cv, &w->mu);
  pthread_mutex_unlock(&w->mu);
}

/* Hand the fill buffer over: to the thread (taking the spare buffer in
 * exchange) or straight to consume(). */
static void submit_fill(NbFile *f) {
  WriteSide *w = &f->w;
  if (w->fill_len == 0) return;
  if (!w->threaded) {
    if (w->status == NB_OK) consume(f, w->fill, w->fill_len, &w->status, &w->message);
    w->fill_len = 0;
    return;
  }
  pthread_mutex_lock(&w->mu);
  while (w->job_pending) pthread_cond_wait(&w->cv, &w->mu);
  w->job = w->fill;
  w->job_len = w->fill_len;
  w->job_pending = true;
  w->fill = w->spare;
  w->spare = NULL;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  w->fill_len = 0;
}

/* Everything written so far has reached the encoder and the thread is
 * idle: the caller may touch the encoder and sink. */
static void drain(NbFile *f) {
  submit_fill(f);
  if (f->w.threaded) wait_idle(&f->w);
}

static int write_status(NbFile *f, NbError *err) {
  WriteSide *w = &f->w;
  if (!w->threaded) return w->status == NB_OK ? NB_OK : io_sticky_repeat(w->status, w->message, err);
  pthread_mutex_lock(&w->mu);
  int rc = w->status == NB_OK ? NB_OK : io_sticky_repeat(w->status, w->message, err);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* With the thread idle: end the frame (a complete one even when empty if
 * the file would otherwise be an invalid 0-byte compressed file) and write
 * the sink out. */
static int finish_frame(NbFile *f, NbError *err) {
  WriteSide *w = &f->w;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  if (w->status != NB_OK) return io_sticky_repeat(w->status, w->message, err);
  if (w->ops != NULL) {
    bool always = w->length == 0 && w->sink.len == 0;
    int rc = w->ops->end_frame(w->enc, always, &w->sink, msg);
    if (rc == NBH_CODEC_OK && w->sink.flush(&w->sink) != 0) rc = NBH_CODEC_SINK;
    if (rc != NBH_CODEC_OK) {
      record_write_failure(f, rc, errno, msg);
      return io_sticky_repeat(w->status, w->message, err);
    }
  }
  return NB_OK;
}

int nbh_file_write(NbFile *file, const void *buf, size_t len, NbError *err) {
  if (file == NULL || file->mode != MODE_WRITE || (buf == NULL && len))
    return nb_error_set(err, NB_INVALID, "file_write: not a file opened for writing");
  WriteSide *w = &file->w;
  int rc = write_status(file, err);
  if (rc != NB_OK) return rc;
  const uint8_t *p = buf;
  while (len > 0) {
    size_t room = w->fill_cap - w->fill_len;
    size_t n = len < room ? len : room;
    memcpy(w->fill + w->fill_len, p, n);
    w->fill_len += n;
    p += n;
    len -= n;
    if (w->fill_len == w->fill_cap) {
      submit_fill(file);
      rc = write_status(file, err);
      if (rc != NB_OK) return rc;
    }
  }
  return NB_OK;
}

static int sync_directory(NbFile *f, NbError *err) {
  char *copy = strdup(f->path);
  if (copy == NULL) return nb_error_set(err, NB_NOMEM, "out of memory syncing %s", f->what);
  int dfd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int rc = NB_OK;
  if (dfd < 0 || fsync(dfd) != 0) {
    int e = errno;
    if (!(dfd >= 0 && (e == EINVAL || e == ENOTSUP)))
      rc = nb_error_set(err, NB_IO, "could not fsync the directory of %s: %s", f->what,
                        strerror(e));
  }
  if (dfd >= 0) close(dfd);
  free(copy);
  return rc;
}

/* The commit of an object: the module makes the bytes durable and gives
 * the blob that describes them, recorded with the length for the state. */
static int commit_object(NbFile *file, uint64_t *durable_length, NbError *err) {
  WriteSide *w = &file->w;
  const char *blob = NULL;
  int rc = file->store->writer_commit(file->writer, &blob, err);
  if (rc != NB_OK) {
    /* Sticky: what follows a failed commit is not durable. */
    free(w->message);
    w->message = strdup(err != NULL && err->message != NULL ? err->message : nb_status_name(rc));
    w->status = rc;
    return rc;
  }
  if (blob == NULL || strlen(blob) > NB_STORAGE_BLOB_MAX || strpbrk(blob, "\"\\") != NULL)
    return io_sticky_fail(&w->status, &w->message, err, NB_INTERNAL, "storage module \"%s\" "
                          "returned an invalid state blob committing %s", file->store->name,
                          file->what);
  rc = nbh_run_file_committed_object(file->entry, w->length, blob, err);
  if (rc != NB_OK) return rc;
  if (durable_length) *durable_length = w->length;
  return NB_OK;
}

int nbh_file_finish_object(NbFile *file, NbError *err) {
  if (file == NULL || file->mode != MODE_WRITE || file->store == NULL || file->writer == NULL)
    return NB_OK;
  drain(file);
  int rc = finish_frame(file, err);
  if (rc == NB_OK) rc = file->store->writer_finish(file->writer, err);
  return rc;
}

int nbh_file_commit(NbFile *file, uint64_t *durable_length, NbError *err) {
  if (file == NULL || file->mode != MODE_WRITE)
    return nb_error_set(err, NB_INVALID, "file_commit: not a file opened for writing");
  WriteSide *w = &file->w;
  drain(file);
  int rc = finish_frame(file, err);
  if (rc != NB_OK) return rc;
  if (file->store != NULL) return commit_object(file, durable_length, err);
  if (w->regular && fsync(file->fd) != 0)
    return io_sticky_fail(&w->status, &w->message, err, NB_IO, "could not fsync %s: %s",
                       file->what, strerror(errno));
  if (w->created && !w->dir_synced) {
    rc = sync_directory(file, err);
    if (rc != NB_OK) return rc;
    w->dir_synced = true;
  }
  if (durable_length) *durable_length = w->length;
  nbh_run_file_committed(file->entry, w->length);
  return NB_OK;
}

int io_write_end(NbFile *file, NbError *err) {
  WriteSide *w = &file->w;
  drain(file);
  int rc = finish_frame(file, err);
  if (w->threaded) {
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
  }
  if (file->store != NULL && file->writer != NULL) {
    /* Completed by nbh_file_finish_object at the end of a complete run;
     * otherwise its upload stays pending, durable up to the last commit. */
    file->store->writer_close(file->writer);
    file->writer = NULL;
  }
  if (file->owns_fd) {
    int fd = file->fd;
    file->fd = -1;
    if (close(fd) != 0 && rc == NB_OK)
      rc = nb_error_set(err, NB_IO, "could not close %s: %s", file->what, strerror(errno));
  }
  return rc;
}

/* ------------------------------------------------------------------------
 * Writing: open
 * ------------------------------------------------------------------------ */

/* The descriptor just opened for writing is a file of the run that must
 * not be written (found by device and inode: it may have appeared after
 * the check by name): forget it, removing it if this open created it. */
static int check_opened(NbFile *f, NbhRunFiles *files, const struct stat *st, NbError *err) {
  if (files == NULL) return NB_OK;
  int rc = nbh_run_files_opened_write(files, f->path, st, &f->entry, err);
  if (rc != NB_OK && f->w.created) unlink(f->path);
  return rc;
}

/* Open (and for a resume, truncate) the descriptor.  Not with O_TRUNC: the
 * file is emptied only after its identity was checked against the run's
 * files, so an input or the state is never destroyed by the open. */
static int open_for_write(NbFile *f, int64_t resume_length, NbhRunFiles *files, NbError *err) {
  WriteSide *w = &f->w;
  if (strcmp(f->path, "-") == 0) {
    if (resume_length > 0) {
      nb_error_set(err, NB_INVALID, "cannot resume writing standard output at byte %" PRId64,
                   resume_length);
      nb_error_detail(err, "Standard output cannot be truncated to the length of an earlier run.");
      nb_error_hint(err, "Write to a file to resume, or start without saved state.");
      return NB_INVALID;
    }
    f->fd = STDOUT_FILENO;
    /* Redirected to a file, standard output is synced like one. */
    struct stat out;
    if (fstat(f->fd, &out) != 0)
      return nb_error_set(err, NB_IO, "could not inspect standard output: %s", strerror(errno));
    w->regular = S_ISREG(out.st_mode);
    return check_opened(f, files, &out, err);
  }
  int flags = O_WRONLY | O_CLOEXEC;
  if (resume_length <= 0) flags |= O_CREAT;
  struct stat before;
  bool existed = stat(f->path, &before) == 0;
  f->fd = open(f->path, flags, 0666);
  if (f->fd < 0) return io_open_error(err, f->path, errno);
  f->owns_fd = true;
  w->created = !existed;
  struct stat st;
  if (fstat(f->fd, &st) != 0) return io_open_error(err, f->path, errno);
  if (S_ISDIR(st.st_mode)) return io_open_error(err, f->path, EISDIR);
  w->regular = S_ISREG(st.st_mode);
  int rc = check_opened(f, files, &st, err);
  if (rc != NB_OK) return rc;
  if (!w->regular) return NB_OK;
  if (resume_length < 0) {
    if (st.st_size > 0 && ftruncate(f->fd, 0) != 0)
      return nb_error_set(err, NB_IO, "could not truncate file \"%s\": %s", f->path,
                          strerror(errno));
    return NB_OK;
  }
  if ((uint64_t)resume_length > (uint64_t)st.st_size) {
    nb_error_set(err, NB_INVALID, "cannot resume writing file \"%s\" at byte %" PRId64
                 ": the file has only %" PRIu64 " bytes", f->path, resume_length,
                 (uint64_t)st.st_size);
    nb_error_detail(err, "An earlier run committed %" PRId64 " bytes; the file was shortened "
                    "or replaced since.", resume_length);
    nb_error_hint(err, "Restore the file, or start without saved state.");
    return NB_INVALID;
  }
  if (ftruncate(f->fd, (off_t)resume_length) != 0)
    return nb_error_set(err, NB_IO, "could not truncate file \"%s\" to %" PRId64 " bytes: %s",
                        f->path, resume_length, strerror(errno));
  if (lseek(f->fd, (off_t)resume_length, SEEK_SET) < 0)
    return nb_error_set(err, NB_IO, "could not seek in file \"%s\": %s", f->path,
                        strerror(errno));
  w->length = (uint64_t)resume_length;
  return NB_OK;
}

static int setup_writer(NbFile *f, const NbhEncoderOps *ops, int level, int threads,
                        bool threaded, size_t write_size, NbError *err) {
  WriteSide *w = &f->w;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  size_t sink_size = write_size > SINK_MIN ? write_size : SINK_MIN;
  w->ops = ops;
  w->fill_cap = write_size;
  w->fill = malloc(write_size);
  if (w->fill == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
  if (ops != NULL) {
    w->sink.buf = malloc(sink_size);
    if (w->sink.buf == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
    w->sink.cap = sink_size;
    w->sink.flush = sink_flush;
    w->sink.owner = f;
    w->enc = ops->create(level, threads, msg);
    if (w->enc == NULL)
      return nb_error_set(err, NB_INVALID, "could not start %s compression for %s: %s",
                          ops->name, f->what, msg);
    if (ops->file_header != NULL && w->length == 0) {
      memcpy(w->sink.buf, ops->file_header, ops->file_header_len);
      w->sink.len = ops->file_header_len;
    }
  }
  if (!threaded) return NB_OK;
  w->spare = malloc(write_size);
  if (w->spare == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
  if (pthread_mutex_init(&w->mu, NULL) != 0)
    return nb_error_set(err, NB_INTERNAL, "could not create a mutex for %s", f->what);
  if (pthread_cond_init(&w->cv, NULL) != 0) {
    pthread_mutex_destroy(&w->mu);
    return nb_error_set(err, NB_INTERNAL, "could not create a condition for %s", f->what);
  }
  int rc = pthread_create(&w->thread, NULL, writer_main, f);
  if (rc != 0) {
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    return nb_error_set(err, NB_IO, "could not start the writer thread for %s: %s", f->what,
                        strerror(rc));
  }
  w->threaded = true;
  return NB_OK;
}

/* What a caller asked of a file it writes, checked: NbWriteOptions read
 * as far as the caller's struct_size reaches (later fields keep their
 * defaults), the codec and level, and the write buffer size. */
typedef struct WriteRequest {
  const NbhEncoderOps *ops;
  int level;
  int threads;
  int64_t resume_length;   /* -1: start anew */
  size_t write_size;
} WriteRequest;

static int write_request(const char *path, const NbWriteOptions *options,
                         const NbhIoSizes *sizes, WriteRequest *q, NbError *err) {
  size_t read_size = 0;
  const char *compression = NULL;
  memset(q, 0, sizeof *q);
  q->resume_length = -1;
  int rc = io_resolve_sizes(sizes, path, &read_size, &q->write_size, err);
  if (rc != NB_OK) return rc;
  if (options != NULL) {
    size_t size = options->struct_size;
    if (size >= offsetof(NbWriteOptions, compression) + sizeof options->compression)
      compression = options->compression;
    if (size >= offsetof(NbWriteOptions, level) + sizeof options->level) q->level = options->level;
    if (size >= offsetof(NbWriteOptions, threads) + sizeof options->threads)
      q->threads = options->threads;
    if (size >= offsetof(NbWriteOptions, resume_length) + sizeof options->resume_length)
      q->resume_length = options->resume_length;
  }
  rc = choose_encoder(path, compression, &q->ops, err);
  if (rc == NB_OK) rc = check_level(path, q->ops, q->level, err);
  if (rc != NB_OK) return rc;
  if (q->threads < 0)
    return nb_error_set(err, NB_INVALID, "negative thread count %d for file \"%s\"", q->threads,
                        path);
  return NB_OK;
}

static int open_write_common(NbhRunFiles *files, const char *path,
                             const NbWriteOptions *options, int threading,
                             const NbhIoSizes *sizes, NbFile **out, NbError *err) {
  if (out == NULL || path == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_write: path and out must not be NULL");
  *out = NULL;
  WriteRequest q;
  int rc = write_request(path, options, sizes, &q, err);
  if (rc != NB_OK) return rc;
  if (files != NULL && (rc = nbh_run_files_check_write(files, path, err)) != NB_OK) return rc;
  NbFile *f = io_file_new(path, MODE_WRITE, false);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  rc = open_for_write(f, q.resume_length, files, err);
  bool threaded = threading != NBH_THREAD_NEVER;
  if (rc == NB_OK) rc = setup_writer(f, q.ops, q.level, q.threads, threaded, q.write_size, err);
  if (rc != NB_OK) {
    io_file_free(f);
    return rc;
  }
  *out = f;
  return NB_OK;
}

int nbh_file_open_write_ex(const char *path, const NbWriteOptions *options, int threading,
                           NbFile **out, NbError *err) {
  return open_write_common(NULL, path, options, threading, NULL, out, err);
}

int nbh_file_open_write_sized(const char *path, const NbWriteOptions *options, int threading,
                              const NbhIoSizes *sizes, NbFile **out, NbError *err) {
  return open_write_common(NULL, path, options, threading, sizes, out, err);
}

int nbh_file_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                        NbFile **out, NbError *err) {
  (void)host_data;
  return open_write_common(NULL, path, options, NBH_THREAD_AUTO, NULL, out, err);
}

int nbh_file_open_write_in(NbhRunFiles *files, const char *path, const NbWriteOptions *options,
                           NbFile **out, NbError *err) {
  return open_write_common(files, path, options, NBH_THREAD_AUTO, NULL, out, err);
}


/* ------------------------------------------------------------------------
 * Writing through a storage module
 * ------------------------------------------------------------------------ */

int nbh_file_open_write_storage(const NbStorage *store, const NbHostApi *host,
                                NbhRunFiles *files, const char *path,
                                const NbWriteOptions *options, const char *resume_blob,
                                NbFile **out, NbError *err) {
  if (out == NULL || path == NULL || store == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_write: path and out must not be NULL");
  *out = NULL;
  WriteRequest q;
  int rc = write_request(path, options, NULL, &q, err);
  if (rc != NB_OK) return rc;
  const int64_t resume_length = q.resume_length;
  if (resume_length > 0 && resume_blob == NULL) {
    nb_error_set(err, NB_INVALID, "cannot resume writing object \"%s\" at byte %" PRId64
                 ": the state file holds no upload state for it", path, resume_length);
    nb_error_detail(err, "An object is continued only through the multipart upload its last "
                         "commit recorded; appending to an existing object is not possible.");
    nb_error_hint(err, "Start without saved state (delete the state file) to write it anew.");
    return NB_INVALID;
  }
  if (files != NULL && (rc = nbh_run_files_check_write(files, path, err)) != NB_OK) return rc;
  NbFile *f = io_file_new(path, MODE_WRITE, true);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening \"%s\"", path);
  f->store = store;
  f->store_host = host;
  uint64_t from = resume_length > 0 ? (uint64_t)resume_length : 0;
  rc = store->writer_open(host, path, resume_length > 0 ? resume_blob : NULL, from, &f->writer,
                          err);
  if (rc == NB_OK && files != NULL) rc = nbh_run_files_opened_object(files, path, &f->entry, err);
  if (rc == NB_OK) {
    f->w.length = from;
    rc = setup_writer(f, q.ops, q.level, q.threads, true, q.write_size, err);
  }
  if (rc != NB_OK) {
    /* A new upload that will never be used is given up at once. */
    if (f->writer != NULL && resume_length <= 0) store->writer_abort(f->writer, NULL);
    io_file_free(f);
    return rc;
  }
  *out = f;
  return NB_OK;
}
