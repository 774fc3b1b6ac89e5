/*
 * io_read.c - reading a file for a connector: detect the codec by its
 * magic bytes (skipping leading skippable frames), then read and skip
 * plain or decoded bytes, with corrupt input reported by offset.
 */
#define _GNU_SOURCE
#include "io_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Scratch buffer for skipping compressed input (at most). */
#define SKIP_BUF_SIZE ((size_t)64 << 10)
/* Enough leading bytes to recognise every magic (snappy's is 10). */
#define MAGIC_PEEK 10

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

/* The message of a failed raw_read, for a sticky error; inner released. */
static int raw_fail(ReadSide *r, NbError *inner, NbError *err) {
  int rc = inner->code != 0 ? inner->code : NB_IO;
  io_sticky_fail(&r->status, &r->message, err, rc, "%s",
                 inner->message != NULL ? inner->message : "read failed");
  if (inner->hint != NULL) nb_error_hint(err, "%s", inner->hint);
  nb_error_release(inner);
  return rc;
}

static const char *codec_name_of(const NbhDecoderOps *ops) {
  return ops ? ops->name : "none";
}

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
  char *msg = io_format_message(fmt, ap);
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

/* Whether p[0..n) is the start of a magic number detect_codec knows (or
 * of a skippable frame's, whose low nibble varies). */
static bool could_be_magic(const uint8_t *p, size_t n) {
  static const uint8_t gzip[] = {0x1f, 0x8b}, zstd[] = {0x28, 0xb5, 0x2f, 0xfd},
                       lz4[] = {0x04, 0x22, 0x4d, 0x18}, lz4_legacy[] = {0x02, 0x21, 0x4c, 0x18},
                       skippable[] = {0x50, 0x2a, 0x4d, 0x18};
  const struct { const uint8_t *bytes; size_t len; } magics[] = {
      {gzip, sizeof gzip}, {zstd, sizeof zstd}, {lz4, sizeof lz4},
      {lz4_legacy, sizeof lz4_legacy}, {(const uint8_t *)NBH_SNAPPY_STREAM_ID,
                                        NBH_SNAPPY_STREAM_ID_LEN}};
  for (size_t m = 0; m < sizeof magics / sizeof magics[0]; m++) {
    size_t k = n < magics[m].len ? n : magics[m].len;
    if (memcmp(p, magics[m].bytes, k) == 0) return true;
  }
  size_t k = n < sizeof skippable ? n : sizeof skippable;
  return k == 0 || ((p[0] & 0xF0u) == 0x50 && memcmp(p + 1, skippable + 1, k - 1) == 0);
}

/* Read the leading bytes until they decide the codec: MAGIC_PEEK of them,
 * the end of the file, or fewer that begin no magic number.  On a pipe a
 * short first line ("a\n") then does not wait for more input (issue 9,
 * item 12: a slow producer's first records are delivered at once). */
static int peek_magic(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  for (;;) {
    size_t have = r->raw_len - r->raw_pos;
    if (have >= MAGIC_PEEK || r->eof || !could_be_magic(r->raw + r->raw_pos, have))
      return NB_OK;
    int rc = raw_want(f, have + 1, err);
    if (rc != NB_OK) return rc;
  }
}

static int detect_codec(NbFile *f, NbError *err) {
  ReadSide *r = &f->r;
  int rc = peek_magic(f, err);
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
    io_file_free(f);
    return NB_NOMEM;
  }
  int rc = detect_codec(f, err);
  if (rc != NB_OK) {
    io_file_free(f);
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
  int rc = io_resolve_sizes(sizes, path, &read_size, &write_size, err);
  if (rc != NB_OK) return rc;
  NbFile *f = io_file_new(path, MODE_READ, false);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  if (strcmp(path, "-") == 0) {
    f->fd = STDIN_FILENO;
  } else {
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
      int e = errno;
      io_file_free(f);
      return io_open_error(err, path, e);
    }
    f->owns_fd = true;
  }
  struct stat st;
  if (fstat(f->fd, &st) != 0) {
    int e = errno;
    io_file_free(f);
    return io_open_error(err, path, e);
  }
  if (S_ISDIR(st.st_mode)) {
    io_file_free(f);
    return io_open_error(err, path, EISDIR);
  }
  /* Opening for reading changes nothing: check the descriptor itself. */
  if (files != NULL) {
    rc = nbh_run_files_opened_read(files, path, &st, &f->entry, err);
    if (rc != NB_OK) {
      io_file_free(f);
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
  int rc = io_resolve_sizes(sizes, path, &read_size, &write_size, err);
  if (rc != NB_OK) return rc;
  NbFile *f = io_file_new(path, MODE_READ, true);
  if (f == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening \"%s\"", path);
  f->store = store;
  f->store_host = host;
  rc = store->reader_open(host, path, 0, &f->reader, err);
  if (rc != NB_OK) {
    f->reader = NULL;
    io_file_free(f);
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
    return io_sticky_fail(&r->status, &r->message, err, NB_NOMEM,
                       "out of memory decoding %s data in %s", r->ops->name, f->what);
  /* Where the bad byte is: where decoding stopped, unless the codec knows
   * better (lz4 refuses a frame header before consuming it). */
  uint64_t at = r->consumed;
  if (r->ops->error_offset != NULL) at = r->dec_start + r->ops->error_offset(r->dec);
  return io_sticky_fail(&r->status, &r->message, err, NB_DATA,
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
      return io_sticky_fail(&r->status, &r->message, err, NB_DATA,
                         "truncated %s data in %s: unexpected end of file after byte %" PRIu64,
                         r->ops->name, f->what, r->consumed);
    *at_eof = true;
    return NB_OK;
  }
  if (used == 0 && *made == 0)
    return io_sticky_fail(&r->status, &r->message, err, NB_INTERNAL,
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
  if (file->r.status != NB_OK) return io_sticky_repeat(file->r.status, file->r.message, err);
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
    return io_sticky_fail(&r->status, &r->message, err, NB_IO, "could not seek in %s: %s",
                       f->what, strerror(errno));
  uint64_t size = (uint64_t)st.st_size;
  uint64_t target = (uint64_t)here + rest;
  bool short_file = target > size || target < (uint64_t)here;
  if (short_file) target = size;
  if (lseek(f->fd, (off_t)target, SEEK_SET) < 0)
    return io_sticky_fail(&r->status, &r->message, err, NB_IO, "could not seek in %s: %s",
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
  if (r->status != NB_OK) return io_sticky_repeat(r->status, r->message, err);
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

