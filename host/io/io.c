/*
 * io.c - the host's file layer (see io.h): open, read, skip, write, commit
 * and close files for connectors, with compression detected by magic bytes
 * on input and chosen by option or extension on output.  The codecs
 * themselves live in codec_*.c behind codec.h; this file owns descriptors,
 * buffers, the writer thread, error messages and durability.
 *
 * Memory is constant per open file: one raw input buffer (plus the
 * decoder's own window) when reading; two fill buffers and one output sink
 * when writing.
 */
#define _GNU_SOURCE
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "nebula/sdk.h"

/* Read size from the file: large reads keep syscalls off the profile. */
#define RAW_BUF_SIZE ((size_t)1 << 20)
/* Caller-side fill buffer when writing (two of them with the thread). */
#define WRITE_BUF_SIZE ((size_t)1 << 20)
/* Compressed output gathered before a write(2). */
#define SINK_SIZE ((size_t)1 << 20)
/* Scratch buffer for skipping compressed input. */
#define SKIP_BUF_SIZE ((size_t)64 << 10)
/* Enough leading bytes to recognise every magic (snappy's is 10). */
#define MAGIC_PEEK 10

enum { MODE_READ, MODE_WRITE };

typedef struct ReadSide {
  const NbhDecoderOps *ops; /* NULL: plain */
  void *dec;
  uint8_t *raw;
  size_t raw_pos;
  size_t raw_len;
  bool eof;           /* read(2) returned 0 */
  bool seekable;      /* a regular file: plain skips use lseek */
  uint64_t consumed;  /* raw bytes consumed (decoded or returned) */
  uint8_t *scratch;   /* skip buffer, allocated on first compressed skip */
  int status;         /* sticky error, NB_OK if none */
  char *message;      /* its message */
} ReadSide;

typedef struct WriteSide {
  const NbhEncoderOps *ops; /* NULL: plain */
  void *enc;
  uint8_t *fill;      /* the buffer the caller's bytes go to */
  size_t fill_len;
  NbhSink sink;       /* compressed bytes waiting for write(2) */
  /* Bytes in the file: resume length + written.  Atomic because the writer
   * thread adds to it while nbh_file_raw_offset may read it. */
  _Atomic uint64_t length;
  bool created;       /* we created the file: sync its directory once */
  bool dir_synced;
  bool regular;       /* a regular file (fsync applies) */
  /* The writer thread: it compresses and writes one buffer while the caller
   * fills the other.  Everything below is guarded by mu. */
  bool threaded;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t *spare;     /* the free buffer, NULL while the thread holds it */
  uint8_t *job;       /* the buffer the thread works on */
  size_t job_len;
  bool job_pending;
  bool stop;
  int status;         /* sticky error, NB_OK if none */
  char *message;
} WriteSide;

struct NbFile {
  int mode;
  int fd;
  bool owns_fd;       /* false for stdin / stdout */
  char *path;
  char *what;         /* "file \"x\"" or "standard input" for messages */
  ReadSide r;
  WriteSide w;
};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char *describe(const char *path, bool reading) {
  char *s = NULL;
  if (strcmp(path, "-") == 0)
    return strdup(reading ? "standard input" : "standard output");
  if (asprintf(&s, "file \"%s\"", path) < 0) return NULL;
  return s;
}

static char *format_message(const char *fmt, va_list ap) {
  char *s = NULL;
  if (vasprintf(&s, fmt, ap) < 0) return NULL;
  return s;
}

/* Record a sticky error (status + message) and set err from it. */
static int sticky_fail(int *status, char **message, NbError *err, int code,
                       const char *fmt, ...) NB_PRINTF(5, 6);
static int sticky_fail(int *status, char **message, NbError *err, int code,
                       const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = format_message(fmt, ap);
  va_end(ap);
  *status = code;
  free(*message);
  *message = msg;
  return nb_error_set(err, code, "%s", msg ? msg : "out of memory");
}

static int sticky_repeat(int status, const char *message, NbError *err) {
  return nb_error_set(err, status, "%s", message ? message : "out of memory");
}

static const char *codec_name_of(const NbhDecoderOps *ops) {
  return ops ? ops->name : "none";
}

/* read(2) retrying on EINTR. */
static ssize_t read_retry(int fd, void *buf, size_t len) {
  ssize_t n;
  do {
    n = read(fd, buf, len);
  } while (n < 0 && errno == EINTR);
  return n;
}

/* write(2) all of buf; 0 or -1 with errno. */
static int write_all(int fd, const uint8_t *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

static void file_free(NbFile *f) {
  if (f == NULL) return;
  if (f->owns_fd && f->fd >= 0) close(f->fd);
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

static NbFile *file_new(const char *path, int mode) {
  NbFile *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->fd = -1;
  f->mode = mode;
  f->path = strdup(path);
  f->what = describe(path, mode == MODE_READ);
  if (f->path == NULL || f->what == NULL) {
    file_free(f);
    return NULL;
  }
  return f;
}

static int open_error(NbError *err, const char *path, int errnum) {
  int code = errnum == ENOENT ? NB_NOT_FOUND : NB_IO;
  return nb_error_set(err, code, "could not open file \"%s\": %s", path, strerror(errnum));
}

/* ------------------------------------------------------------------------
 * Reading
 * ------------------------------------------------------------------------ */

static uint32_t le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static bool is_skippable_magic(const uint8_t *p) {
  return (le32(p) & 0xFFFFFFF0u) == 0x184D2A50u;
}

/* Read more into the raw buffer after what it holds, until it holds at
 * least `want` bytes or the file ends.  Used only before decoding starts. */
static int raw_peek(NbFile *f, size_t want, NbError *err) {
  ReadSide *r = &f->r;
  while (r->raw_len < want && !r->eof) {
    ssize_t n = read_retry(f->fd, r->raw + r->raw_len, RAW_BUF_SIZE - r->raw_len);
    if (n < 0)
      return nb_error_set(err, NB_IO, "could not read %s: %s", f->what, strerror(errno));
    if (n == 0) r->eof = true;
    r->raw_len += (size_t)n;
  }
  return NB_OK;
}

/* zstd and lz4 share the skippable frame magic: look past the skippable
 * frames in the first buffer for the magic that decides.  A file that is
 * skippable frames only decodes to nothing with either; call it zstd. */
static const NbhDecoderOps *detect_after_skippable(const uint8_t *p, size_t len) {
  size_t at = 0;
  while (at + 8 <= len && is_skippable_magic(p + at)) {
    uint64_t size = le32(p + at + 4);
    if (size > len - at - 8) return &nbh_zstd_decoder;
    at += 8 + (size_t)size;
  }
  if (at + 4 <= len && le32(p + at) == 0x184D2204u) return &nbh_lz4_decoder;
  return &nbh_zstd_decoder;
}

static int detect_codec(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  int rc = raw_peek(f, MAGIC_PEEK, err);
  if (rc != NB_OK) return rc;
  const uint8_t *p = r->raw;
  size_t n = r->raw_len;
  r->ops = NULL;
  if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b) {
    r->ops = &nbh_gzip_decoder;
  } else if (n >= 4 && le32(p) == 0xFD2FB528u) {
    r->ops = &nbh_zstd_decoder;
  } else if (n >= 4 && le32(p) == 0x184D2204u) {
    r->ops = &nbh_lz4_decoder;
  } else if (n >= NBH_SNAPPY_STREAM_ID_LEN &&
             memcmp(p, NBH_SNAPPY_STREAM_ID, NBH_SNAPPY_STREAM_ID_LEN) == 0) {
    r->ops = &nbh_snappy_decoder;
  } else if (n >= 8 && is_skippable_magic(p)) {
    rc = raw_peek(f, RAW_BUF_SIZE, err);
    if (rc != NB_OK) return rc;
    r->ops = detect_after_skippable(r->raw, r->raw_len);
  } else if (n >= 4 && le32(p) == 0x184C2102u) {
    nb_error_set(err, NB_INVALID, "%s uses the legacy lz4 format, which is not supported",
                 f->what);
    nb_error_hint(err, "Compress it with the lz4 frame format (lz4 without -l).");
    return NB_INVALID;
  }
  if (r->ops == NULL) return NB_OK;
  r->dec = r->ops->create();
  if (r->dec == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
  return NB_OK;
}

int nbh_file_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  (void)host_data;
  if (out == NULL || path == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_read: path and out must not be NULL");
  *out = NULL;
  NbFile *f = file_new(path, MODE_READ);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  if (strcmp(path, "-") == 0) {
    f->fd = STDIN_FILENO;
  } else {
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
      int e = errno;
      file_free(f);
      return open_error(err, path, e);
    }
    f->owns_fd = true;
  }
  struct stat st;
  if (fstat(f->fd, &st) != 0) {
    int e = errno;
    file_free(f);
    return open_error(err, path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    file_free(f);
    return open_error(err, path, EISDIR);
  }
  f->r.seekable = S_ISREG(st.st_mode);
  f->r.raw = malloc(RAW_BUF_SIZE);
  if (f->r.raw == NULL) {
    file_free(f);
    return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  }
  int rc = detect_codec(f, err);
  if (rc != NB_OK) {
    file_free(f);
    return rc;
  }
  *out = f;
  return NB_OK;
}

/* Refill the (empty) raw buffer. */
static int raw_refill(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  ssize_t n = read_retry(f->fd, r->raw, RAW_BUF_SIZE);
  if (n < 0)
    return sticky_fail(&r->status, &r->message, err, NB_IO, "could not read %s: %s", f->what,
                       strerror(errno));
  r->raw_pos = 0;
  r->raw_len = (size_t)n;
  if (n == 0) r->eof = true;
  return NB_OK;
}

static int read_plain(NbFile *f, uint8_t *out, size_t cap, size_t *made, NbError *err) {
  ReadSide *r = &f->r;
  size_t total = 0;
  while (total < cap) {
    if (r->raw_pos < r->raw_len) {
      size_t n = r->raw_len - r->raw_pos;
      if (n > cap - total) n = cap - total;
      memcpy(out + total, r->raw + r->raw_pos, n);
      r->raw_pos += n;
      total += n;
      continue;
    }
    /* Like read(2): return what came rather than wait for more, so that
     * a reader of a pipe gets a slow producer's data as it arrives. */
    if (r->eof || total > 0) break;
    if (cap - total >= RAW_BUF_SIZE) {
      /* Large reads go straight to the caller's buffer. */
      ssize_t n = read_retry(f->fd, out + total, cap - total);
      if (n < 0) {
        *made = total;
        r->consumed += total;
        return sticky_fail(&r->status, &r->message, err, NB_IO, "could not read %s: %s",
                           f->what, strerror(errno));
      }
      if (n == 0) r->eof = true;
      total += (size_t)n;
      continue;
    }
    if (raw_refill(f, err) != NB_OK) {
      *made = total;
      r->consumed += total;
      return r->status;
    }
  }
  *made = total;
  r->consumed += total;
  return NB_OK;
}

static int corrupt(NbFile *f, NbError *err, int rc, const char *msg) {
  ReadSide *r = &f->r;
  if (rc == NBH_CODEC_NOMEM)
    return sticky_fail(&r->status, &r->message, err, NB_NOMEM,
                       "out of memory decoding %s data in %s", r->ops->name, f->what);
  return sticky_fail(&r->status, &r->message, err, NB_DATA,
                     "corrupt %s data in %s at byte %" PRIu64 ": %s", r->ops->name, f->what,
                     r->consumed, msg);
}

/* One step of decoding into out: refill if needed, decode once.  *made is
 * what was produced; *at_eof is set at a clean end of input. */
static int decode_step(NbFile *f, uint8_t *out, size_t cap, size_t *made, bool *at_eof,
                       NbError *err) {
  ReadSide *r = &f->r;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  size_t used = 0;
  *made = 0;
  *at_eof = false;
  if (r->raw_pos == r->raw_len && !r->eof) {
    int rc = raw_refill(f, err);
    if (rc != NB_OK) return rc;
  }
  size_t avail = r->raw_len - r->raw_pos;
  int rc = r->ops->decode(r->dec, r->raw + r->raw_pos, avail, &used, out, cap, made, msg);
  r->raw_pos += used;
  r->consumed += used;
  if (rc != NBH_CODEC_OK) return corrupt(f, err, rc, msg);
  if (avail == 0 && *made == 0) {
    if (!r->ops->at_frame_end(r->dec))
      return sticky_fail(&r->status, &r->message, err, NB_DATA,
                         "truncated %s data in %s: unexpected end of file after byte %" PRIu64,
                         r->ops->name, f->what, r->consumed);
    *at_eof = true;
    return NB_OK;
  }
  if (used == 0 && *made == 0)
    return sticky_fail(&r->status, &r->message, err, NB_INTERNAL,
                       "%s decoder made no progress in %s at byte %" PRIu64, r->ops->name,
                       f->what, r->consumed);
  return NB_OK;
}

static int read_decoded(NbFile *f, uint8_t *out, size_t cap, size_t *n_read, NbError *err) {
  size_t total = 0;
  while (total < cap) {
    size_t made;
    bool at_eof;
    /* As read_plain: no wait for more input once something was decoded. */
    if (total > 0 && f->r.raw_pos == f->r.raw_len && !f->r.eof) break;
    int rc = decode_step(f, out + total, cap - total, &made, &at_eof, err);
    total += made;
    if (rc != NB_OK) {
      /* Hand over what was decoded before the error; the error stays and
       * is returned by the next call. */
      if (total > 0) {
        nb_error_release(err);
        break;
      }
      *n_read = 0;
      return rc;
    }
    if (at_eof) break;
  }
  *n_read = total;
  return NB_OK;
}

int nbh_file_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err) {
  if (n_read) *n_read = 0;
  if (file == NULL || file->mode != MODE_READ || n_read == NULL || (buf == NULL && capacity))
    return nb_error_set(err, NB_INVALID, "file_read: not a file opened for reading");
  if (file->r.status != NB_OK) return sticky_repeat(file->r.status, file->r.message, err);
  if (capacity == 0) return NB_OK;
  if (file->r.ops == NULL) return read_plain(file, buf, capacity, n_read, err);
  return read_decoded(file, buf, capacity, n_read, err);
}

static int skip_end(NbFile *f, uint64_t wanted, uint64_t skipped, NbError *err) {
  nb_error_set(err, NB_END, "could not skip %" PRIu64 " bytes of %s: it ends after %" PRIu64
               " bytes", wanted, f->what, skipped);
  return NB_END;
}

/* Plain regular file: consume the buffer, then lseek. */
static int skip_seek(NbFile *f, uint64_t n, NbError *err) {
  ReadSide *r = &f->r;
  uint64_t start = r->consumed;
  size_t buffered = r->raw_len - r->raw_pos;
  if (n <= buffered) {
    r->raw_pos += (size_t)n;
    r->consumed += n;
    return NB_OK;
  }
  r->raw_pos = r->raw_len;
  r->consumed += buffered;
  uint64_t rest = n - buffered;
  struct stat st;
  off_t here = lseek(f->fd, 0, SEEK_CUR);
  if (here < 0 || fstat(f->fd, &st) != 0)
    return sticky_fail(&r->status, &r->message, err, NB_IO, "could not seek in %s: %s",
                       f->what, strerror(errno));
  uint64_t size = (uint64_t)st.st_size;
  uint64_t target = (uint64_t)here + rest;
  bool short_file = target > size || target < (uint64_t)here;
  if (short_file) target = size;
  if (lseek(f->fd, (off_t)target, SEEK_SET) < 0)
    return sticky_fail(&r->status, &r->message, err, NB_IO, "could not seek in %s: %s",
                       f->what, strerror(errno));
  r->consumed += target - (uint64_t)here;
  if (short_file) {
    r->eof = true;
    return skip_end(f, n, r->consumed - start, err);
  }
  return NB_OK;
}

int nbh_file_skip(NbFile *file, uint64_t n, NbError *err) {
  if (file == NULL || file->mode != MODE_READ)
    return nb_error_set(err, NB_INVALID, "file_skip: not a file opened for reading");
  ReadSide *r = &file->r;
  if (r->status != NB_OK) return sticky_repeat(r->status, r->message, err);
  if (r->ops == NULL && r->seekable) return skip_seek(file, n, err);
  if (r->scratch == NULL) {
    r->scratch = malloc(SKIP_BUF_SIZE);
    if (r->scratch == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory skipping in %s", file->what);
  }
  uint64_t done = 0;
  while (done < n) {
    size_t want = n - done < SKIP_BUF_SIZE ? (size_t)(n - done) : SKIP_BUF_SIZE;
    size_t got = 0;
    int rc = nbh_file_read(file, r->scratch, want, &got, err);
    if (rc != NB_OK) return rc;
    if (got == 0) return skip_end(file, n, done, err);
    done += got;
  }
  return NB_OK;
}

uint64_t nbh_file_raw_offset(const NbFile *file) {
  if (file == NULL) return 0;
  if (file->mode == MODE_READ) return file->r.consumed;
  return atomic_load(&file->w.length);
}

const char *nbh_file_codec(const NbFile *file) {
  if (file == NULL) return "none";
  if (file->mode == MODE_READ) return codec_name_of(file->r.ops);
  return file->w.ops ? file->w.ops->name : "none";
}

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

static int sink_flush(NbhSink *sink) {
  NbFile *f = sink->owner;
  if (sink->len == 0) return 0;
  if (write_all(f->fd, sink->buf, sink->len) != 0) return -1;
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
  if (rc == NBH_CODEC_SINK) {
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
    if (write_all(f->fd, buf, len) != 0) {
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
  if (!w->threaded) return w->status == NB_OK ? NB_OK : sticky_repeat(w->status, w->message, err);
  pthread_mutex_lock(&w->mu);
  int rc = w->status == NB_OK ? NB_OK : sticky_repeat(w->status, w->message, err);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

/* With the thread idle: end the frame (a complete one even when empty if
 * the file would otherwise be an invalid 0-byte compressed file) and write
 * the sink out. */
static int finish_frame(NbFile *f, NbError *err) {
  WriteSide *w = &f->w;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  if (w->status != NB_OK) return sticky_repeat(w->status, w->message, err);
  if (w->ops != NULL) {
    bool always = w->length == 0 && w->sink.len == 0;
    int rc = w->ops->end_frame(w->enc, always, &w->sink, msg);
    if (rc == NBH_CODEC_OK && w->sink.flush(&w->sink) != 0) rc = NBH_CODEC_SINK;
    if (rc != NBH_CODEC_OK) {
      record_write_failure(f, rc, errno, msg);
      return sticky_repeat(w->status, w->message, err);
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
    size_t room = WRITE_BUF_SIZE - w->fill_len;
    size_t n = len < room ? len : room;
    memcpy(w->fill + w->fill_len, p, n);
    w->fill_len += n;
    p += n;
    len -= n;
    if (w->fill_len == WRITE_BUF_SIZE) {
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

int nbh_file_commit(NbFile *file, uint64_t *durable_length, NbError *err) {
  if (file == NULL || file->mode != MODE_WRITE)
    return nb_error_set(err, NB_INVALID, "file_commit: not a file opened for writing");
  WriteSide *w = &file->w;
  drain(file);
  int rc = finish_frame(file, err);
  if (rc != NB_OK) return rc;
  if (w->regular && fsync(file->fd) != 0)
    return sticky_fail(&w->status, &w->message, err, NB_IO, "could not fsync %s: %s",
                       file->what, strerror(errno));
  if (w->created && !w->dir_synced) {
    rc = sync_directory(file, err);
    if (rc != NB_OK) return rc;
    w->dir_synced = true;
  }
  if (durable_length) *durable_length = w->length;
  return NB_OK;
}

int nbh_file_close(NbFile *file, NbError *err) {
  if (file == NULL) return NB_OK;
  int rc = NB_OK;
  if (file->mode == MODE_WRITE) {
    WriteSide *w = &file->w;
    drain(file);
    rc = finish_frame(file, err);
    if (w->threaded) {
      pthread_mutex_lock(&w->mu);
      w->stop = true;
      pthread_cond_broadcast(&w->cv);
      pthread_mutex_unlock(&w->mu);
      pthread_join(w->thread, NULL);
      pthread_mutex_destroy(&w->mu);
      pthread_cond_destroy(&w->cv);
    }
    if (file->owns_fd) {
      int fd = file->fd;
      file->fd = -1;
      if (close(fd) != 0 && rc == NB_OK)
        rc = nb_error_set(err, NB_IO, "could not close %s: %s", file->what, strerror(errno));
    }
  }
  file_free(file);
  return rc;
}

/* ------------------------------------------------------------------------
 * Writing: open
 * ------------------------------------------------------------------------ */

/* Open (and for a resume, truncate) the descriptor. */
static int open_for_write(NbFile *f, int64_t resume_length, NbError *err) {
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
    w->regular = fstat(f->fd, &out) == 0 && S_ISREG(out.st_mode);
    return NB_OK;
  }
  int flags = O_WRONLY | O_CLOEXEC;
  if (resume_length < 0) flags |= O_CREAT | O_TRUNC;
  else if (resume_length == 0) flags |= O_CREAT;
  struct stat before;
  bool existed = stat(f->path, &before) == 0;
  f->fd = open(f->path, flags, 0666);
  if (f->fd < 0) return open_error(err, f->path, errno);
  f->owns_fd = true;
  w->created = !existed;
  struct stat st;
  if (fstat(f->fd, &st) != 0) return open_error(err, f->path, errno);
  if (S_ISDIR(st.st_mode)) return open_error(err, f->path, EISDIR);
  w->regular = S_ISREG(st.st_mode);
  if (resume_length < 0 || !w->regular) return NB_OK;
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
                        bool threaded, NbError *err) {
  WriteSide *w = &f->w;
  char msg[NBH_CODEC_MSG_SIZE] = "";
  w->ops = ops;
  w->fill = malloc(WRITE_BUF_SIZE);
  if (w->fill == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
  if (ops != NULL) {
    w->sink.buf = malloc(SINK_SIZE);
    if (w->sink.buf == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
    w->sink.cap = SINK_SIZE;
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
  w->spare = malloc(WRITE_BUF_SIZE);
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

int nbh_file_open_write_ex(const char *path, const NbWriteOptions *options, int threading,
                           NbFile **out, NbError *err) {
  if (out == NULL || path == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_write: path and out must not be NULL");
  *out = NULL;
  const char *compression = NULL;
  int level = 0, threads = 0;
  int64_t resume_length = -1;
  if (options != NULL) {
    /* Read only the fields the caller's struct has. */
    size_t size = options->struct_size;
    if (size >= offsetof(NbWriteOptions, compression) + sizeof options->compression)
      compression = options->compression;
    if (size >= offsetof(NbWriteOptions, level) + sizeof options->level) level = options->level;
    if (size >= offsetof(NbWriteOptions, threads) + sizeof options->threads)
      threads = options->threads;
    if (size >= offsetof(NbWriteOptions, resume_length) + sizeof options->resume_length)
      resume_length = options->resume_length;
  }
  const NbhEncoderOps *ops = NULL;
  int rc = choose_encoder(path, compression, &ops, err);
  if (rc != NB_OK) return rc;
  rc = check_level(path, ops, level, err);
  if (rc != NB_OK) return rc;
  if (threads < 0)
    return nb_error_set(err, NB_INVALID, "negative thread count %d for file \"%s\"", threads,
                        path);
  NbFile *f = file_new(path, MODE_WRITE);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  rc = open_for_write(f, resume_length, err);
  bool threaded = threading != NBH_THREAD_NEVER;
  if (rc == NB_OK) rc = setup_writer(f, ops, level, threads, threaded, err);
  if (rc != NB_OK) {
    file_free(f);
    return rc;
  }
  *out = f;
  return NB_OK;
}

int nbh_file_open_write(void *host_data, const char *path, const NbWriteOptions *options,
                        NbFile **out, NbError *err) {
  (void)host_data;
  return nbh_file_open_write_ex(path, options, NBH_THREAD_AUTO, out, err);
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
}
