/*
 * avro_dest.c - the avro destination: one Avro object container file per
 * stream ("{stream}" in path is replaced by the stream's base name).
 *
 * Records are encoded into the current block; a block is compressed and
 * written, with its count, size and the file's sync marker, once it holds
 * block_bytes (uncompressed) and at every commit.  So a commit always ends
 * on a block boundary: the state is, per file, its durable length and its
 * 16-byte sync marker, and a resumed run truncates the file there and goes
 * on appending blocks with the same marker, without a second header.  The
 * header (magic, avro.schema, avro.codec, sync marker) is written once,
 * when the file is created; on resume the header the file starts with must
 * be the one this run would write (same schema and codec), else the run
 * stops before writing anything.
 *
 * Memory: the current block (about block_bytes plus one row) and its
 * compressed copy, per stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/random.h>
#include <unistd.h>

#include "avro_buf.h"
#include "avro_codec.h"
#include "avro_connector.h"
#include "avro_schema_out.h"

#define STATE_MAGIC "nebula-avro-dest 1\n"
#define SYNC_SIZE 16

typedef struct SavedFile {
  char *path;
  uint64_t length;
  uint8_t sync[SYNC_SIZE];
} SavedFile;

typedef struct OutStream {
  char *name;
  char *path;
  NbFile *file;
  struct ArrowSchema schema; /* our copy */
  NbField *fields;           /* point into schema */
  size_t n_fields;
  uint8_t sync[SYNC_SIZE];
  AvroBuf block;             /* encoded records of the current block */
  int64_t block_rows;
  int64_t rows_written;      /* rows of this run, for error messages */
} OutStream;

typedef struct AvroDest {
  const NbHostApi *host;
  char *path;
  AvroCodec codec;
  int32_t level;
  size_t block_bytes;
  OutStream *streams;
  size_t n_streams;
  SavedFile *saved;
  size_t n_saved;
  AvroBuf packed;            /* a compressed block */
  AvroBuf frame;             /* count, size (and header) before a block */
  AvroBuf state;
} AvroDest;

/* ------------------------------------------------------------------------
 * State: "nebula-avro-dest 1\n" then per file
 * "<length> <sync as 32 hex digits> <path length> <path>\n"
 * ------------------------------------------------------------------------ */

static SavedFile *saved_find(AvroDest *d, const char *path) {
  size_t i = NB_KEYED_FIND(d->saved, d->n_saved, SavedFile, path, path);
  return i < d->n_saved ? &d->saved[i] : NULL;
}

static int saved_set(AvroDest *d, const char *path, uint64_t length, const uint8_t *sync) {
  size_t i;
  SavedFile *v = NB_KEYED_FIND_OR_ADD(d->saved, &d->n_saved, SavedFile, path, path, &i);
  if (v == NULL) return NB_NOMEM;
  d->saved = v;
  v[i].length = length;
  memcpy(v[i].sync, sync, SYNC_SIZE);
  return NB_OK;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

/* The sync marker as 32 hex digits, then a space. */
static bool parse_sync(const char **s, const char *end, uint8_t *sync) {
  const char *p = *s;
  if (end - p < 2 * SYNC_SIZE + 1 || p[2 * SYNC_SIZE] != ' ') return false;
  for (int i = 0; i < SYNC_SIZE; i++) {
    int hi = hex_value(p[2 * i]), lo = hex_value(p[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    sync[i] = (uint8_t)(hi << 4 | lo);
  }
  *s = p + 2 * SYNC_SIZE + 1;
  return true;
}

static int parse_state(AvroDest *d, const char *s, size_t len, NbError *err) {
  const char *end = s + len;
  if (!nb_text_expect(&s, end, STATE_MAGIC)) goto bad;
  while (s < end) {
    uint64_t length;
    uint8_t sync[SYNC_SIZE];
    char *path;
    if (!nb_text_u64(&s, end, ' ', &length) || !parse_sync(&s, end, sync)) goto bad;
    int rc = nb_text_path(&s, end, &path);
    if (rc == NB_INVALID) goto bad;
    if (rc == NB_OK) rc = saved_set(d, path, length, sync);
    free(path);
    if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory opening the avro destination");
  }
  return NB_OK;
bad:
  nb_error_set(err, NB_INVALID, "the saved state is not an avro destination state");
  nb_error_hint(err, "Resume with the same destination, or start afresh without the state file.");
  return NB_INVALID;
}

static int build_state(AvroDest *d) {
  AvroBuf *b = &d->state;
  b->len = 0;
  if (!avro_buf_bytes(b, STATE_MAGIC, strlen(STATE_MAGIC))) return NB_NOMEM;
  for (size_t i = 0; i < d->n_saved; i++) {
    const SavedFile *f = &d->saved[i];
    size_t plen = strlen(f->path);
    if (!avro_buf_reserve(b, plen + 100)) return NB_NOMEM;
    b->len += (size_t)snprintf((char *)b->data + b->len, 30, "%llu ", (unsigned long long)f->length);
    for (int k = 0; k < SYNC_SIZE; k++)
      b->len += (size_t)snprintf((char *)b->data + b->len, 3, "%02x", f->sync[k]);
    b->len += (size_t)snprintf((char *)b->data + b->len, 30, " %zu ", plen);
    avro_put_bytes(b, f->path, plen);
    avro_put_bytes(b, "\n", 1);
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Header and blocks
 * ------------------------------------------------------------------------ */

/* The file header: magic, metadata map {avro.schema, avro.codec}, sync. */
static int build_header(AvroDest *d, const OutStream *s, AvroBuf *out) {
  AvroBuf schema = {0};
  const char *codec = avro_codec_name(d->codec);
  bool ok = avro_schema_write(s->fields, s->n_fields, &schema) == NB_OK;
  out->len = 0;
  ok = ok && avro_buf_bytes(out, "Obj\x01", 4) && avro_buf_long(out, 2) &&
       avro_buf_string(out, "avro.schema", 11) && avro_buf_string(out, schema.data, schema.len) &&
       avro_buf_string(out, "avro.codec", 10) && avro_buf_string(out, codec, strlen(codec)) &&
       avro_buf_long(out, 0) && avro_buf_bytes(out, s->sync, SYNC_SIZE);
  avro_buf_free(&schema);
  return ok ? NB_OK : NB_NOMEM;
}

/* Compress and write the current block, if it has rows. */
static int flush_block(AvroDest *d, OutStream *s, NbError *err) {
  if (s->block_rows == 0) return NB_OK;
  int rc = avro_codec_compress(d->host, d->codec, d->level, s->block.data, s->block.len,
                               &d->packed, err);
  if (rc != NB_OK) {
    nb_error_detail(err, "While writing a block of file \"%s\".", s->path);
    return rc;
  }
  d->frame.len = 0;
  if (!avro_buf_long(&d->frame, s->block_rows) || !avro_buf_long(&d->frame, (int64_t)d->packed.len) ||
      !avro_buf_bytes(&d->packed, s->sync, SYNC_SIZE))
    return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", s->path);
  rc = d->host->file_write(s->file, d->frame.data, d->frame.len, err);
  if (rc == NB_OK) rc = d->host->file_write(s->file, d->packed.data, d->packed.len, err);
  if (rc != NB_OK) return rc;
  s->block.len = 0;
  s->block_rows = 0;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

/* Does the file start with want (the header this run would write)?  Read
 * with plain POSIX calls, not the host's file layer: the host would count
 * the file as an input of the run and then refuse to write it. */
static int check_existing_header(const OutStream *s, const AvroBuf *want, NbError *err) {
  int fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return nb_error_set(err, errno == ENOENT ? NB_INVALID : NB_IO, "cannot resume Avro file \"%s\": %s",
                        s->path, strerror(errno));
  uint8_t *got = malloc(want->len);
  size_t have = 0;
  while (got != NULL && have < want->len) {
    ssize_t n = read(fd, got + have, want->len - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += (size_t)n;
  }
  close(fd);
  bool same = got != NULL && have == want->len && memcmp(got, want->data, want->len) == 0;
  free(got);
  if (!same) {
    nb_error_set(err, NB_INVALID, "cannot resume Avro file \"%s\": its header is not the one this run would write",
                 s->path);
    nb_error_detail(err, "The schema of stream \"%s\" or the codec changed since the run that wrote the file, or the file was replaced.",
                    s->name);
    nb_error_hint(err, "Resume with the same source and settings, or start afresh without the state file.");
    return NB_INVALID;
  }
  return NB_OK;
}

/* Open the stream's file: created with a header, or resumed at the saved
 * length after checking the header. */
static int open_stream_file(AvroDest *d, OutStream *s, NbError *err) {
  const SavedFile *saved = saved_find(d, s->path);
  bool resume = saved != NULL && saved->length > 0;
  if (resume) memcpy(s->sync, saved->sync, SYNC_SIZE);
  else if (getrandom(s->sync, SYNC_SIZE, 0) != SYNC_SIZE)
    return nb_error_set(err, NB_IO, "could not draw a sync marker for file \"%s\"", s->path);
  AvroBuf header = {0};
  if (build_header(d, s, &header) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", s->path);
  int rc = NB_OK;
  if (resume && saved->length < header.len) {
    rc = nb_error_set(err, NB_INVALID, "cannot resume Avro file \"%s\": the saved length %llu is shorter than its header",
                      s->path, (unsigned long long)saved->length);
    nb_error_hint(err, "Start afresh without the state file.");
  }
  if (rc == NB_OK && resume) rc = check_existing_header(s, &header, err);
  if (rc == NB_OK) {
    NbWriteOptions opts;
    memset(&opts, 0, sizeof opts);
    opts.struct_size = (uint32_t)sizeof opts;
    opts.compression = "none";
    opts.resume_length = resume ? (int64_t)saved->length : -1;
    rc = d->host->file_open_write(d->host->host_data, s->path, &opts, &s->file, err);
  }
  if (rc == NB_OK && !resume) rc = d->host->file_write(s->file, header.data, header.len, err);
  avro_buf_free(&header);
  return rc;
}

static void stream_free(const NbHostApi *host, OutStream *s) {
  nb_file_close_logged(host, s->file, s->path);
  if (s->schema.release != NULL) s->schema.release(&s->schema);
  free(s->fields);
  free(s->name);
  free(s->path);
  avro_buf_free(&s->block);
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static inline const uint8_t *string_at(const NbColumnView *v, int64_t row, size_t *len) {
  int64_t i = row + v->offset;
  if (v->field.type == NB_TYPE_LARGE_UTF8) {
    const int64_t *o = v->offsets;
    *len = (size_t)(o[i + 1] - o[i]);
    return v->data + o[i];
  }
  const int32_t *o = v->offsets;
  *len = (size_t)(o[i + 1] - o[i]);
  return v->data + o[i];
}

/* An Avro decimal: the unscaled value's big-endian two's complement in as
 * few bytes as keep its sign. */
static void put_decimal(AvroBuf *b, const uint8_t *le16) {
  uint8_t be[16];
  for (int i = 0; i < 16; i++) be[i] = le16[15 - i];
  int start = 0;
  while (start < 15 && ((be[start] == 0x00 && !(be[start + 1] & 0x80)) ||
                        (be[start] == 0xff && (be[start + 1] & 0x80))))
    start++;
  avro_put_long(b, 16 - start);
  avro_put_bytes(b, be + start, (size_t)(16 - start));
}

/* Append the value of one column of one row; room for the fixed-size part
 * (AVRO_LONG_MAX_BYTES * 2 + 16) is reserved by the caller. */
static bool put_value(AvroBuf *b, const NbColumnView *v, int64_t row) {
  int64_t i = row + v->offset;
  if (!v->field.nullable && nb_view_is_null(v, row)) return false; /* caller reports */
  if (v->field.nullable) {
    if (nb_view_is_null(v, row)) {
      avro_put_long(b, 0);
      return true;
    }
    avro_put_long(b, 1);
  }
  switch (v->field.type) {
  case NB_TYPE_INT64:
  case NB_TYPE_TIMESTAMP:
    avro_put_long(b, ((const int64_t *)v->data)[i]);
    return true;
  case NB_TYPE_DATE32:
    avro_put_long(b, ((const int32_t *)v->data)[i]);
    return true;
  case NB_TYPE_FLOAT64:
    avro_put_double(b, ((const double *)v->data)[i]);
    return true;
  case NB_TYPE_BOOL:
    b->data[b->len++] = (uint8_t)((v->data[i >> 3] >> (i & 7)) & 1);
    return true;
  case NB_TYPE_DECIMAL128:
    put_decimal(b, v->data + 16 * i);
    return true;
  default: {
    size_t len;
    const uint8_t *p = string_at(v, row, &len);
    return avro_buf_string(b, p, len);
  }
  }
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

int avro_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest, NbError *err) {
  const char *path;
  int codec;
  int64_t level, block_bytes;
  int rc;
  *dest = NULL;
  rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0')
    return nb_error_set(err, NB_INVALID, "setting \"path\" of the avro destination is required");
  rc = nb_setting_enum(args->settings, "codec", AVRO_CODEC_CHOICES, AVRO_CODEC_NULL, &codec, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "compression_level", 0, &level, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "block_bytes", 1048576, &block_bytes, err);
  if (rc != NB_OK) return rc;
  if (level < 0 || level > 22)
    return nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"compression_level\" of the avro destination: not in 0..22",
                        (long long)level);
  if (block_bytes < 1 || block_bytes > (1 << 30))
    return nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"block_bytes\" of the avro destination: not in 1..1073741824",
                        (long long)block_bytes);
  if (codec != AVRO_CODEC_NULL && !(NB_HOST_HAS(host, block_compress) && NB_HOST_HAS(host, block_compress_bound))) {
    nb_error_set(err, NB_INVALID, "codec \"%s\" of the avro destination needs a host of ABI 1.2", avro_codec_name((AvroCodec)codec));
    nb_error_hint(err, "Use codec = \"null\", or a newer nebula-host.");
    return NB_INVALID;
  }
  AvroDest *d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the avro destination");
  d->host = host;
  d->codec = (AvroCodec)codec;
  d->level = (int32_t)level;
  d->block_bytes = (size_t)block_bytes;
  d->path = strdup(path);
  if (d->path == NULL) {
    avro_dest_close(d);
    return nb_error_set(err, NB_NOMEM, "out of memory opening the avro destination");
  }
  if (args->state != NULL) {
    rc = parse_state(d, args->state, args->state_len, err);
    if (rc != NB_OK) {
      avro_dest_close(d);
      return rc;
    }
  }
  *dest = d;
  return NB_OK;
}

static int keep_schema(OutStream *s, const struct ArrowSchema *schema, NbError *err) {
  int rc = nb_schema_copy(schema, &s->schema, err);
  if (rc == NB_OK) rc = nb_schema_fields(&s->schema, &s->fields, &s->n_fields, err);
  return rc;
}

int avro_dest_prepare(void *dest, const char *stream_name, const struct ArrowSchema *schema,
                      uint32_t *dest_stream, NbError *err) {
  AvroDest *d = dest;
  if (NB_KEYED_FIND(d->streams, d->n_streams, OutStream, name, stream_name) < d->n_streams) {
    nb_error_set(err, NB_INVALID, "the schema of stream \"%s\" changed: an Avro file holds one schema",
                 stream_name);
    nb_error_hint(err, "Write each schema to its own file (\"{stream}\" in path), or make the source's schema fixed.");
    return NB_INVALID;
  }
  char *path = nb_stream_path(d->path, stream_name);
  if (path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
  size_t other = NB_KEYED_FIND(d->streams, d->n_streams, OutStream, path, path);
  if (other < d->n_streams) {
    nb_error_set(err, NB_INVALID, "streams \"%s\" and \"%s\" would both be written to \"%s\"",
                 d->streams[other].name, stream_name, path);
    nb_error_hint(err, "An Avro file holds one schema: put \"{stream}\" in the destination path.");
    free(path);
    return NB_INVALID;
  }
  OutStream *v = NB_KEYED_APPEND(d->streams, d->n_streams, OutStream, name, stream_name);
  if (v == NULL) {
    free(path);
    return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
  }
  d->streams = v;
  OutStream *s = &v[d->n_streams];
  s->path = path;
  int rc = keep_schema(s, schema, err);
  if (rc == NB_OK) rc = open_stream_file(d, s, err);
  if (rc != NB_OK) {
    stream_free(d->host, s);
    return rc;
  }
  *dest_stream = (uint32_t)d->n_streams++;
  return NB_OK;
}

int avro_dest_write(void *dest, uint32_t dest_stream, const struct ArrowArray *batch, NbError *err) {
  AvroDest *d = dest;
  if (dest_stream >= d->n_streams)
    return nb_error_set(err, NB_INVALID, "destination stream %u was not prepared", dest_stream);
  OutStream *s = &d->streams[dest_stream];
  NbColumnView *views = NULL;
  size_t n_views = 0;
  int rc = NB_OK;
  if (s->n_fields > 0) {
    rc = nb_batch_views(&s->schema, batch, &views, &n_views, err);
    if (rc != NB_OK) return rc;
  }
  const size_t fixed = s->n_fields * (2 * AVRO_LONG_MAX_BYTES + 17);
  for (int64_t row = 0; row < batch->length && rc == NB_OK; row++) {
    if (!avro_buf_reserve(&s->block, fixed)) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", s->path);
      break;
    }
    size_t mark = s->block.len;
    for (size_t c = 0; c < n_views; c++) {
      const NbColumnView *v = nb_column_view_at(views, c);
      if (!put_value(&s->block, v, row)) {
        s->block.len = mark; /* nothing of the row */
        if (!v->field.nullable && nb_view_is_null(v, row)) {
          rc = nb_error_set(err, NB_DATA, "a null in column \"%s\", declared not nullable, of stream \"%s\"",
                            v->field.name, s->name);
          nb_error_locate(err, s->path, row + 1, (int64_t)c + 1);
        } else {
          rc = nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", s->path);
        }
        break;
      }
    }
    if (rc != NB_OK) break;
    s->block_rows++;
    s->rows_written++;
    if (s->block.len >= d->block_bytes) rc = flush_block(d, s, err);
  }
  free(views);
  return rc;
}

int avro_dest_commit(void *dest, const void **state, size_t *state_len, NbError *err) {
  AvroDest *d = dest;
  for (size_t i = 0; i < d->n_streams; i++) {
    OutStream *s = &d->streams[i];
    uint64_t length = 0;
    int rc = flush_block(d, s, err);
    if (rc == NB_OK) rc = d->host->file_commit(s->file, &length, err);
    if (rc != NB_OK) return rc;
    if (saved_set(d, s->path, length, s->sync) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory committing file \"%s\"", s->path);
  }
  if (build_state(d) != NB_OK)
    return nb_error_set(err, NB_NOMEM, "out of memory committing the avro destination");
  *state = d->state.data;
  *state_len = d->state.len;
  return NB_OK;
}

void avro_dest_close(void *dest) {
  AvroDest *d = dest;
  if (d == NULL) return;
  for (size_t i = 0; i < d->n_streams; i++) {
    NbError e;
    nb_error_init(&e);
    /* Rows after the last commit: written as a last block, not synced. */
    if (flush_block(d, &d->streams[i], &e) != NB_OK)
      nb_log(d->host, NB_LOG_ERROR, "could not write the last block of \"%s\": %s",
             d->streams[i].path, e.message ? e.message : "error");
    nb_error_release(&e);
    stream_free(d->host, &d->streams[i]);
  }
  for (size_t i = 0; i < d->n_saved; i++) free(d->saved[i].path);
  free(d->saved);
  free(d->streams);
  avro_buf_free(&d->packed);
  avro_buf_free(&d->frame);
  avro_buf_free(&d->state);
  free(d->path);
  free(d);
}
