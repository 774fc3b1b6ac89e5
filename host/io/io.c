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
#include "block_codec.h"
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
#include "run_files.h"

/* Buffer sizes are in NbhIoSizes (io.h): by default 1 MiB read from the
 * file at once and 1 MiB filled by the caller before compression, large
 * enough to keep syscalls off the profile. */
/* Compressed output gathered before a write(2): at least the write buffer,
 * and never under what one encoder step may reserve (lz4 and snappy
 * reserve a little over 64 KiB). */
#define SINK_MIN ((size_t)256 << 10)
/* Scratch buffer for skipping compressed input (at most). */
#define SKIP_BUF_SIZE ((size_t)64 << 10)
/* Enough leading bytes to recognise every magic (snappy's is 10). */
#define MAGIC_PEEK 10

enum { MODE_READ, MODE_WRITE };

typedef struct ReadSide {
  const NbhDecoderOps *ops; /* NULL: plain */
  void *dec;
  uint8_t *raw;
  size_t raw_cap;
  size_t raw_pos;
  size_t raw_len;
  uint64_t dec_start; /* consumed when the decoder began (after skipped frames) */
  bool only_skippable; /* the file is skippable frames only: no data */
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
  size_t fill_cap;    /* size of fill (and of spare) */
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
  NbhRunFile *entry;  /* the run's record of it (run_files.h), or NULL */
  /* Reading through a storage module (storage.h) instead of fd: the
   * module, the connection's API it is given, and its reader. */
  const NbStorage *store;
  const NbHostApi *store_host;
  void *reader;
  ReadSide r;
  WriteSide w;
};

/* ------------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------------ */

static char *describe(const char *path, bool reading, bool object) {
  char *s = NULL;
  if (strcmp(path, "-") == 0)
    return strdup(reading ? "standard input" : "standard output");
  if (asprintf(&s, "%s \"%s\"", object ? "object" : "file", path) < 0) return NULL;
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

/* Raw bytes from the file's descriptor or from its storage module's
 * reader: NB_OK with *got (0 at the end), else a status with err saying
 * what could not be read and why (the module's message names bucket and
 * key; it never holds secrets, abi.h). */
static int raw_read(NbFile *f, void *buf, size_t len, size_t *got, NbError *err) {
  *got = 0;
  if (f->store != NULL) {
    NbError inner;
    nb_error_init(&inner);
    int rc = f->store->reader_read(f->reader, buf, len, got, &inner);
    if (rc == NB_OK && *got <= len) return NB_OK;
    if (rc == NB_OK) {
      *got = 0;
      rc = NB_INTERNAL;
    }
    /* file_read may return NB_IO, NB_DATA (and NB_NOMEM, NB_INTERNAL):
     * the module has already retried what was transient, and a stopping
     * run (NB_CANCELLED) ends with the reason the host already knows. */
    if (rc == NB_UNAVAILABLE || rc == NB_CANCELLED) rc = NB_IO;
    else if (rc != NB_IO && rc != NB_DATA && rc != NB_NOMEM) rc = NB_INTERNAL;
    nb_error_set(err, rc, "could not read %s: %s", f->what,
                 inner.message != NULL ? inner.message : nb_status_name(rc));
    if (inner.hint != NULL) nb_error_hint(err, "%s", inner.hint);
    nb_error_release(&inner);
    return rc;
  }
  ssize_t n = read_retry(f->fd, buf, len);
  if (n < 0) return nb_error_set(err, NB_IO, "could not read %s: %s", f->what, strerror(errno));
  *got = (size_t)n;
  return NB_OK;
}

/* The message of a failed raw_read, for a sticky error; err released. */
static int raw_fail(ReadSide *r, NbError *inner, NbError *err) {
  int rc = inner->code != 0 ? inner->code : NB_IO;
  sticky_fail(&r->status, &r->message, err, rc, "%s",
              inner->message != NULL ? inner->message : "read failed");
  if (inner->hint != NULL) nb_error_hint(err, "%s", inner->hint);
  nb_error_release(inner);
  return rc;
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
  if (f->store != NULL && f->reader != NULL) f->store->reader_close(f->reader);
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

static NbFile *file_new(const char *path, int mode, const NbStorage *store) {
  NbFile *f = calloc(1, sizeof *f);
  if (f == NULL) return NULL;
  f->fd = -1;
  f->mode = mode;
  f->path = strdup(path);
  f->what = describe(path, mode == MODE_READ, store != NULL);
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

/* Make raw[raw_pos..raw_len) hold at least `want` (<= raw_cap) bytes,
 * unless the file ends first.  Used before decoding starts, so errors are
 * not sticky: they fail the open. */
static int raw_want(NbFile *f, size_t want, NbError *err) {
  ReadSide *r = &f->r;
  if (r->raw_len - r->raw_pos >= want) return NB_OK;
  if (r->raw_pos > 0) {
    memmove(r->raw, r->raw + r->raw_pos, r->raw_len - r->raw_pos);
    r->raw_len -= r->raw_pos;
    r->raw_pos = 0;
  }
  while (r->raw_len < want && !r->eof) {
    size_t n = 0;
    int rc = raw_read(f, r->raw + r->raw_len, r->raw_cap - r->raw_len, &n, err);
    if (rc != NB_OK) return rc;
    if (n == 0) r->eof = true;
    r->raw_len += n;
  }
  return NB_OK;
}

/* Consume up to n raw bytes; *left is what the file lacked. */
static int raw_discard(NbFile *f, uint64_t n, uint64_t *left, NbError *err) {
  ReadSide *r = &f->r;
  while (n > 0) {
    int rc = raw_want(f, 1, err);
    if (rc != NB_OK) return rc;
    size_t have = r->raw_len - r->raw_pos;
    if (have == 0) break;
    size_t k = n < have ? (size_t)n : have;
    r->raw_pos += k;
    r->consumed += k;
    n -= k;
  }
  *left = n;
  return NB_OK;
}

/* A data error found while opening: kept (sticky) and returned by the
 * first read, as a decoder's would be, after an open that succeeds. */
static void open_data_error(NbFile *f, const char *fmt, ...) NB_PRINTF(2, 3);
static void open_data_error(NbFile *f, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = format_message(fmt, ap);
  va_end(ap);
  free(f->r.message);
  f->r.message = msg;
  f->r.status = NB_DATA;
}

/* The file begins with a skippable frame, which zstd and lz4 share: step
 * over the skippable frames (any number, any size, across buffer refills)
 * to the first real frame, whose magic decides.  A file of skippable
 * frames only holds no data. */
static int skip_leading_frames(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  for (;;) {
    int rc = raw_want(f, 8, err);
    if (rc != NB_OK) return rc;
    const uint8_t *p = r->raw + r->raw_pos;
    size_t have = r->raw_len - r->raw_pos;
    if (have == 0) {
      r->only_skippable = true;
      return NB_OK;
    }
    if (have >= 4 && !is_skippable_magic(p)) break;
    uint64_t frame_at = r->consumed;
    if (have < 4) {
      open_data_error(f, "truncated zstd or lz4 data in %s: unexpected end of file after byte "
                      "%" PRIu64 ", inside the magic number of the frame at byte %" PRIu64,
                      f->what, r->consumed + have, frame_at);
      return NB_OK;
    }
    if (have < 8) {
      open_data_error(f, "truncated skippable frame (zstd or lz4) in %s: unexpected end of file "
                      "after byte %" PRIu64 ", inside the frame header at byte %" PRIu64,
                      f->what, r->consumed + have, frame_at);
      return NB_OK;
    }
    uint64_t size = le32(p + 4), left = 0;
    r->raw_pos += 8;
    r->consumed += 8;
    rc = raw_discard(f, size, &left, err);
    if (rc != NB_OK) return rc;
    if (left > 0) {
      open_data_error(f, "truncated skippable frame (zstd or lz4) in %s: unexpected end of file "
                      "after byte %" PRIu64 "; the frame at byte %" PRIu64 " declares %" PRIu64
                      " bytes of content", f->what, r->consumed, frame_at, size);
      return NB_OK;
    }
  }
  uint32_t magic = le32(r->raw + r->raw_pos);
  if (magic == 0xFD2FB528u) r->ops = &nbh_zstd_decoder;
  else if (magic == 0x184D2204u) r->ops = &nbh_lz4_decoder;
  else
    open_data_error(f, "corrupt data in %s at byte %" PRIu64 ": after skippable frames (zstd "
                    "or lz4), neither a zstd nor an lz4 frame begins (magic number 0x%08" PRIx32
                    ")", f->what, r->consumed, magic);
  return NB_OK;
}

static int detect_codec(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  int rc = raw_want(f, MAGIC_PEEK, err);
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
  } else if (n >= 4 && is_skippable_magic(p)) {
    rc = skip_leading_frames(f, err);
    if (rc != NB_OK) return rc;
  } else if (n >= 4 && le32(p) == 0x184C2102u) {
    nb_error_set(err, NB_INVALID, "%s uses the legacy lz4 format, which is not supported",
                 f->what);
    nb_error_hint(err, "Compress it with the lz4 frame format (lz4 without -l).");
    return NB_INVALID;
  }
  if (r->ops == NULL) return NB_OK;
  r->dec_start = r->consumed;
  r->dec = r->ops->create();
  if (r->dec == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
  return NB_OK;
}

/* Check sizes (NULL: the defaults) and fill *read_size / *write_size. */
static int resolve_sizes(const NbhIoSizes *sizes, const char *path, size_t *read_size,
                         size_t *write_size, NbError *err) {
  *read_size = sizes && sizes->read_buffer ? sizes->read_buffer : NBH_IO_DEFAULT_BUFFER;
  *write_size = sizes && sizes->write_buffer ? sizes->write_buffer : NBH_IO_DEFAULT_BUFFER;
  if (*read_size < NBH_IO_MIN_BUFFER || *write_size < NBH_IO_MIN_BUFFER)
    return nb_error_set(err, NB_INVALID, "buffer size under %zu bytes for file \"%s\"",
                        NBH_IO_MIN_BUFFER, path);
  return NB_OK;
}

static int open_read_common(NbhRunFiles *files, const char *path, const NbhIoSizes *sizes,
                            NbFile **out, NbError *err);

int nbh_file_open_read(void *host_data, const char *path, NbFile **out, NbError *err) {
  (void)host_data;
  return open_read_common(NULL, path, NULL, out, err);
}

int nbh_file_open_read_in(NbhRunFiles *files, const char *path, NbFile **out, NbError *err) {
  return open_read_common(files, path, NULL, out, err);
}

int nbh_file_open_read_ex(const char *path, const NbhIoSizes *sizes, NbFile **out,
                          NbError *err) {
  return open_read_common(NULL, path, sizes, out, err);
}

/* The common end of an open for reading: buffers and codec detection.
 * Frees f on failure. */
static int finish_open_read(NbFile *f, size_t read_size, NbFile **out, NbError *err) {
  f->r.raw_cap = read_size;
  f->r.raw = malloc(read_size);
  if (f->r.raw == NULL) {
    nb_error_set(err, NB_NOMEM, "out of memory opening %s", f->what);
    file_free(f);
    return NB_NOMEM;
  }
  int rc = detect_codec(f, err);
  if (rc != NB_OK) {
    file_free(f);
    return rc;
  }
  *out = f;
  return NB_OK;
}

/* Open path for reading with the given buffer sizes, checked against the
 * run's files when files is not NULL. */
static int open_read_common(NbhRunFiles *files, const char *path, const NbhIoSizes *sizes,
                            NbFile **out, NbError *err) {
  if (out == NULL || path == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_read: path and out must not be NULL");
  *out = NULL;
  size_t read_size = 0, write_size = 0;
  int rc = resolve_sizes(sizes, path, &read_size, &write_size, err);
  if (rc != NB_OK) return rc;
  NbFile *f = file_new(path, MODE_READ, NULL);
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
  /* Opening for reading changes nothing: check the descriptor itself. */
  if (files != NULL) {
    rc = nbh_run_files_opened_read(files, path, &st, &f->entry, err);
    if (rc != NB_OK) {
      file_free(f);
      return rc;
    }
  }
  f->r.seekable = S_ISREG(st.st_mode);
  return finish_open_read(f, read_size, out, err);
}

/* The module's status from reader_open, limited to what file_open_read
 * may return (abi.h). */
static int open_status(int rc) {
  if (rc == NB_NOT_FOUND || rc == NB_INVALID || rc == NB_IO || rc == NB_NOMEM) return rc;
  if (rc == NB_UNAVAILABLE || rc == NB_CANCELLED || rc == NB_END) return NB_IO;
  return NB_INTERNAL;
}

int nbh_file_open_read_storage(const NbStorage *store, const NbHostApi *host, const char *path,
                               const NbhIoSizes *sizes, NbFile **out, NbError *err) {
  if (out == NULL || path == NULL || store == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_read: path and out must not be NULL");
  *out = NULL;
  size_t read_size = 0, write_size = 0;
  int rc = resolve_sizes(sizes, path, &read_size, &write_size, err);
  if (rc != NB_OK) return rc;
  NbFile *f = file_new(path, MODE_READ, store);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening \"%s\"", path);
  f->store = store;
  f->store_host = host;
  rc = store->reader_open(host, path, 0, &f->reader, err);
  if (rc != NB_OK) {
    f->reader = NULL;
    file_free(f);
    rc = open_status(rc);
    if (err != NULL && err->release != NULL) err->code = rc;
    return rc;
  }
  /* Skips reopen the object at the target offset (a ranged GET). */
  f->r.seekable = true;
  return finish_open_read(f, read_size, out, err);
}

/* Refill the (empty) raw buffer. */
static int raw_refill(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  NbError inner;
  size_t n = 0;
  nb_error_init(&inner);
  if (raw_read(f, r->raw, r->raw_cap, &n, &inner) != NB_OK) return raw_fail(r, &inner, err);
  r->raw_pos = 0;
  r->raw_len = n;
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
    if (cap - total >= r->raw_cap) {
      /* Large reads go straight to the caller's buffer. */
      NbError inner;
      size_t n = 0;
      nb_error_init(&inner);
      if (raw_read(f, out + total, cap - total, &n, &inner) != NB_OK) {
        *made = total;
        r->consumed += total;
        return raw_fail(r, &inner, err);
      }
      if (n == 0) r->eof = true;
      total += n;
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
  /* Where the bad byte is: where decoding stopped, unless the codec knows
   * better (lz4 refuses a frame header before consuming it). */
  uint64_t at = r->consumed;
  if (r->ops->error_offset != NULL) at = r->dec_start + r->ops->error_offset(r->dec);
  return sticky_fail(&r->status, &r->message, err, NB_DATA,
                     "corrupt %s data in %s at byte %" PRIu64 ": %s", r->ops->name, f->what, at,
                     msg);
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

static int read_any(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err);

int nbh_file_read(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err) {
  int rc = read_any(file, buf, capacity, n_read, err);
  if (file != NULL && file->mode == MODE_READ) nbh_run_file_read_to(file->entry, file->r.consumed);
  return rc;
}

static int read_any(NbFile *file, void *buf, size_t capacity, size_t *n_read, NbError *err) {
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

/* Plain object of a storage module: open it again at the target offset
 * rather than read and discard what is before. */
static int skip_reopen(NbFile *f, uint64_t n, uint64_t start, uint64_t rest, NbError *err) {
  ReadSide *r = &f->r;
  uint64_t target = r->consumed + rest;
  void *reader = NULL;
  if (target < r->consumed)
    return skip_end(f, n, r->consumed - start, err);
  NbError inner;
  nb_error_init(&inner);
  int rc = f->store->reader_open(f->store_host, f->path, target, &reader, &inner);
  if (rc == NB_END) {
    nb_error_release(&inner);
    r->eof = true;
    return skip_end(f, n, r->consumed - start, err);
  }
  if (rc != NB_OK) {
    inner.code = open_status(rc) == NB_INTERNAL ? NB_INTERNAL : NB_IO;
    return raw_fail(r, &inner, err);
  }
  f->store->reader_close(f->reader);
  f->reader = reader;
  r->consumed = target;
  return NB_OK;
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
  if (f->store != NULL) return skip_reopen(f, n, start, rest, err);
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

static int skip_any(NbFile *file, uint64_t n, NbError *err);

int nbh_file_skip(NbFile *file, uint64_t n, NbError *err) {
  int rc = skip_any(file, n, err);
  if (file != NULL && file->mode == MODE_READ) nbh_run_file_read_to(file->entry, file->r.consumed);
  return rc;
}

static int skip_any(NbFile *file, uint64_t n, NbError *err) {
  if (file == NULL || file->mode != MODE_READ)
    return nb_error_set(err, NB_INVALID, "file_skip: not a file opened for reading");
  ReadSide *r = &file->r;
  if (r->status != NB_OK) return sticky_repeat(r->status, r->message, err);
  if (r->ops == NULL && r->seekable) return skip_seek(file, n, err);
  size_t scratch_size = r->raw_cap < SKIP_BUF_SIZE ? r->raw_cap : SKIP_BUF_SIZE;
  if (r->scratch == NULL) {
    r->scratch = malloc(scratch_size);
    if (r->scratch == NULL)
      return nb_error_set(err, NB_NOMEM, "out of memory skipping in %s", file->what);
  }
  uint64_t done = 0;
  while (done < n) {
    size_t want = n - done < scratch_size ? (size_t)(n - done) : scratch_size;
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
  if (file->mode == MODE_READ)
    return file->r.only_skippable ? "skippable" : codec_name_of(file->r.ops);
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
  nbh_run_file_committed(file->entry, w->length);
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
  if (f->fd < 0) return open_error(err, f->path, errno);
  f->owns_fd = true;
  w->created = !existed;
  struct stat st;
  if (fstat(f->fd, &st) != 0) return open_error(err, f->path, errno);
  if (S_ISDIR(st.st_mode)) return open_error(err, f->path, EISDIR);
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

static int open_write_common(NbhRunFiles *files, const char *path,
                             const NbWriteOptions *options, int threading,
                             const NbhIoSizes *sizes, NbFile **out, NbError *err) {
  if (out == NULL || path == NULL)
    return nb_error_set(err, NB_INVALID, "file_open_write: path and out must not be NULL");
  *out = NULL;
  size_t read_size = 0, write_size = 0;
  int rc = resolve_sizes(sizes, path, &read_size, &write_size, err);
  if (rc != NB_OK) return rc;
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
  rc = choose_encoder(path, compression, &ops, err);
  if (rc != NB_OK) return rc;
  rc = check_level(path, ops, level, err);
  if (rc != NB_OK) return rc;
  if (threads < 0)
    return nb_error_set(err, NB_INVALID, "negative thread count %d for file \"%s\"", threads,
                        path);
  if (files != NULL && (rc = nbh_run_files_check_write(files, path, err)) != NB_OK) return rc;
  NbFile *f = file_new(path, MODE_WRITE, NULL);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  rc = open_for_write(f, resume_length, files, err);
  bool threaded = threading != NBH_THREAD_NEVER;
  if (rc == NB_OK) rc = setup_writer(f, ops, level, threads, threaded, write_size, err);
  if (rc != NB_OK) {
    file_free(f);
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
