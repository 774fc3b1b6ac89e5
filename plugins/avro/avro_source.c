/*
 * avro_source.c - the avro source: Avro object container files (a glob
 * pattern gives one stream per file, in sorted order; "-" is standard
 * input).
 *
 * The header (magic, metadata map, sync marker) is read and its schema
 * parsed when the stream's schema is asked for.  Then blocks one at a
 * time: count, size, the (compressed) data, the sync marker, which must be
 * the header's.  A block is read into memory as it arrives (a lying size
 * hits the end of the file before much is allocated) and is refused above
 * max_block_bytes, compressed or not.  Records are decoded from the block
 * with bounds checks; a block whose records do not use exactly its bytes
 * is corrupt.  Every corruption is an NB_DATA error naming the file and
 * the block's offset; rows decoded before it are handed over first.
 *
 * Position: NBP1 (offset of the current block, records of it already
 * handed over).  Resuming skips to that block, then that many records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "avro_buf.h"
#include "avro_codec.h"
#include "avro_connector.h"
#include "avro_decode.h"
#include "avro_schema_in.h"

#define SYNC_SIZE 16
#define READ_SIZE 65536
#define MAX_META_BYTES (16u << 20)

typedef struct Stream {
  char *path;
  NbFile *file;
  bool opened;            /* header read */
  bool ended;
  uint8_t rbuf[READ_SIZE];
  size_t rpos, rlen;
  uint64_t offset;        /* file offset of rbuf[rpos] */
  uint8_t sync[SYNC_SIZE];
  AvroCodec codec;
  AvroSchema schema;
  AvroColumn *cols;
  size_t n_cols;
  NbField *fields;
  NbBatchBuilder *builder;
  uint64_t header_end;
  uint64_t resume_offset;  /* the end of the last block wholly handed over */
  /* the current block */
  uint64_t block_offset;  /* of its count */
  uint64_t next_offset;   /* of the block after it */
  int64_t block_count;
  int64_t block_done;     /* records decoded from it */
  bool in_block;
  AvroBuf raw, data;
  AvroCursor cursor;
  /* resume */
  bool seek_pending;
  uint64_t seek_block, seek_records;
  /* an error met after rows were decoded: returned by the next call */
  NbError deferred;
  int deferred_rc;
  uint8_t position[NB_POSITION_MAX_BYTES];
} Stream;

typedef struct AvroSource {
  const NbHostApi *host;
  uint64_t batch_rows, batch_bytes;
  size_t max_block_bytes;
  Stream **streams;
  size_t n_streams;
  AvroBuf scratch;
} AvroSource;

/* ------------------------------------------------------------------------
 * Reading bytes
 * ------------------------------------------------------------------------ */

/* Refill when empty; *eof at the end of the file. */
static int fill(AvroSource *src, Stream *s, bool *eof, NbError *err) {
  *eof = false;
  if (s->rpos < s->rlen) return NB_OK;
  size_t n = 0;
  int rc = src->host->file_read(s->file, s->rbuf, READ_SIZE, &n, err);
  if (rc != NB_OK) return rc;
  s->rpos = 0;
  s->rlen = n;
  *eof = n == 0;
  return NB_OK;
}

/* Copy n bytes into dst (growing as they arrive); NB_END when the file
 * ends first. */
static int read_into(AvroSource *src, Stream *s, AvroBuf *dst, uint64_t n, NbError *err) {
  dst->len = 0;
  while (n > 0) {
    bool eof;
    int rc = fill(src, s, &eof, err);
    if (rc != NB_OK) return rc;
    if (eof) return NB_END;
    size_t take = s->rlen - s->rpos;
    if (take > n) take = (size_t)n;
    if (!avro_buf_bytes(dst, s->rbuf + s->rpos, take))
      return nb_error_set(err, NB_NOMEM, "out of memory reading \"%s\"", s->path);
    s->rpos += take;
    s->offset += take;
    n -= take;
  }
  return NB_OK;
}

/* A zigzag long from the file.  NB_END at the end of the file before its
 * first byte (*at_start true) or inside it; NB_DATA when malformed. */
static int read_long(AvroSource *src, Stream *s, int64_t *out, bool *at_start, NbError *err) {
  uint8_t bytes[AVRO_LONG_MAX_BYTES];
  *at_start = true;
  for (size_t i = 0; i < AVRO_LONG_MAX_BYTES; i++) {
    bool eof;
    int rc = fill(src, s, &eof, err);
    if (rc != NB_OK) return rc;
    if (eof) return NB_END;
    *at_start = false;
    bytes[i] = s->rbuf[s->rpos++];
    s->offset++;
    if ((bytes[i] & 0x80) == 0) {
      AvroCursor c = {bytes, bytes + i + 1};
      return avro_read_long(&c, out) ? NB_OK : NB_DATA;
    }
  }
  return NB_DATA;
}

static int corrupt(Stream *s, uint64_t offset, NbError *err, const char *fmt, ...)
    NB_PRINTF(4, 5);
static int corrupt(Stream *s, uint64_t offset, NbError *err, const char *fmt, ...) {
  char what[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  nb_error_set(err, NB_DATA, "corrupt Avro file \"%s\" at byte offset %llu: %s", s->path,
               (unsigned long long)offset, what);
  nb_error_locate(err, s->path, 0, 0);
  return NB_DATA;
}

/* ------------------------------------------------------------------------
 * Header
 * ------------------------------------------------------------------------ */

static int read_meta_value(AvroSource *src, Stream *s, AvroBuf *out, const char *what, NbError *err) {
  int64_t len;
  bool start;
  uint64_t at = s->offset;
  int rc = read_long(src, s, &len, &start, err);
  if (rc == NB_OK && (len < 0 || (uint64_t)len > MAX_META_BYTES))
    return corrupt(s, at, err, "a header %s of %lld bytes", what, (long long)len);
  if (rc == NB_OK) rc = read_into(src, s, out, (uint64_t)len, err);
  if (rc == NB_END || rc == NB_DATA) return corrupt(s, at, err, "the header is truncated or malformed (in a %s)", what);
  return rc;
}

static int parse_header_schema(AvroSource *src, Stream *s, const AvroBuf *text, NbError *err) {
  char why[256];
  if (!avro_schema_parse((const char *)text->data, text->len, &s->schema, why, sizeof why)) {
    nb_error_set(err, NB_DATA, "the schema in Avro file \"%s\" cannot be read: %s", s->path, why);
    nb_error_locate(err, s->path, 0, 0);
    return NB_DATA;
  }
  int rc = avro_columns(&s->schema, &s->cols, &s->n_cols, err);
  if (rc != NB_OK) return rc;
  s->fields = calloc(s->n_cols + 1, sizeof *s->fields);
  if (s->fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading \"%s\"", s->path);
  for (size_t i = 0; i < s->n_cols; i++) s->fields[i] = s->cols[i].field;
  size_t rows = src->batch_rows < 65536 ? (size_t)src->batch_rows : 65536;
  return nb_batch_builder_new(s->fields, s->n_cols, rows, &s->builder, err);
}

static int read_header(AvroSource *src, Stream *s, NbError *err) {
  AvroBuf key = {0}, value = {0}, schema = {0};
  bool have_codec = false, start;
  int rc = src->host->file_open_read(src->host->host_data, s->path, &s->file, err);
  if (rc != NB_OK) return rc;
  rc = read_into(src, s, &key, 4, err);
  if (rc == NB_OK && memcmp(key.data, "Obj\x01", 4) != 0) rc = NB_END;
  if (rc == NB_END) {
    rc = corrupt(s, 0, err, "not an Avro object container file (no \"Obj\\x01\" magic)");
    goto out;
  }
  s->codec = AVRO_CODEC_NULL;
  for (int64_t count = 1; rc == NB_OK && count != 0;) {
    uint64_t at = s->offset;
    rc = read_long(src, s, &count, &start, err);
    if (rc == NB_END || rc == NB_DATA) {
      rc = corrupt(s, at, err, "the header's metadata map is truncated or malformed");
      break;
    }
    if (rc == NB_OK && count < 0) { /* a block with its byte size */
      int64_t size;
      if (count == INT64_MIN || read_long(src, s, &size, &start, err) != NB_OK) {
        rc = corrupt(s, at, err, "the header's metadata map is malformed");
        break;
      }
      count = -count;
    }
    if (count > 100000) {
      rc = corrupt(s, at, err, "the header claims %lld metadata entries", (long long)count);
      break;
    }
    for (int64_t i = 0; rc == NB_OK && i < count; i++) {
      rc = read_meta_value(src, s, &key, "metadata key", err);
      if (rc == NB_OK) rc = read_meta_value(src, s, &value, "metadata value", err);
      if (rc != NB_OK) break;
      if (key.len == 11 && memcmp(key.data, "avro.schema", 11) == 0) {
        AvroBuf t = schema;
        schema = value;
        value = t;
      } else if (key.len == 10 && memcmp(key.data, "avro.codec", 10) == 0) {
        have_codec = true;
        if (!avro_codec_parse((const char *)value.data, value.len, &s->codec)) {
          nb_error_set(err, NB_DATA, "Avro file \"%s\" uses codec \"%.*s\", which is not supported", s->path,
                       (int)(value.len > 40 ? 40 : value.len), value.data ? (const char *)value.data : "");
          nb_error_hint(err, "Supported codecs: null, deflate, snappy, zstandard.");
          rc = NB_DATA;
        }
      }
    }
  }
  (void)have_codec;
  if (rc == NB_OK) {
    uint64_t at = s->offset;
    rc = read_into(src, s, &value, SYNC_SIZE, err);
    if (rc == NB_END) rc = corrupt(s, at, err, "the header ends before its sync marker");
    else if (rc == NB_OK) memcpy(s->sync, value.data, SYNC_SIZE);
  }
  if (rc == NB_OK && schema.data == NULL) rc = corrupt(s, 4, err, "the header has no avro.schema");
  if (rc == NB_OK) rc = parse_header_schema(src, s, &schema, err);
  s->header_end = s->offset;
  s->resume_offset = s->offset;
  s->opened = rc == NB_OK;
out:
  avro_buf_free(&key);
  avro_buf_free(&value);
  avro_buf_free(&schema);
  return rc;
}

/* ------------------------------------------------------------------------
 * Blocks
 * ------------------------------------------------------------------------ */

/* Read the next block; NB_END at the end of the file. */
static int load_block(AvroSource *src, Stream *s, NbError *err) {
  int64_t count, size;
  bool start;
  uint64_t at = s->offset;
  int rc = read_long(src, s, &count, &start, err);
  if (rc == NB_END && start) return NB_END;
  if (rc == NB_OK) rc = read_long(src, s, &size, &start, err);
  if (rc == NB_END) return corrupt(s, at, err, "the block is truncated (in its count or size)");
  if (rc == NB_DATA) return corrupt(s, at, err, "the block's count or size is not a valid long");
  if (rc != NB_OK) return rc;
  if (count < 0 || size < 0)
    return corrupt(s, at, err, "the block claims %lld records of %lld bytes", (long long)count, (long long)size);
  if ((uint64_t)size > src->max_block_bytes)
    return corrupt(s, at, err, "the block claims %lld bytes, more than max_block_bytes (%zu)", (long long)size,
                   src->max_block_bytes);
  rc = read_into(src, s, &s->raw, (uint64_t)size, err);
  if (rc == NB_END)
    return corrupt(s, at, err, "the block is truncated: %lld bytes claimed, the file ends after %zu", (long long)size,
                   s->raw.len);
  if (rc != NB_OK) return rc;
  uint8_t sync[SYNC_SIZE];
  AvroBuf sb = {0};
  rc = read_into(src, s, &sb, SYNC_SIZE, err);
  if (rc == NB_OK) memcpy(sync, sb.data, SYNC_SIZE);
  avro_buf_free(&sb);
  if (rc == NB_END) return corrupt(s, at, err, "the block is truncated before its sync marker");
  if (rc != NB_OK) return rc;
  if (memcmp(sync, s->sync, SYNC_SIZE) != 0)
    return corrupt(s, at, err, "the block's sync marker is not the header's (a corrupt block, or a length that lies)");
  NbError local;
  nb_error_init(&local);
  rc = avro_codec_decompress(src->host, s->codec, s->raw.data, s->raw.len, src->max_block_bytes, &s->data, &local);
  if (rc != NB_OK) {
    if (rc == NB_DATA) corrupt(s, at, err, "the %s block cannot be decompressed: %s", avro_codec_name(s->codec),
                               local.message ? local.message : "corrupt");
    else nb_error_set(err, rc, "%s", local.message ? local.message : "error");
    nb_error_release(&local);
    return rc;
  }
  /* An empty block leaves the buffer unallocated: give the cursor memory
   * to point at (no arithmetic on NULL). */
  if (!avro_buf_reserve(&s->data, 1)) return nb_error_set(err, NB_NOMEM, "out of memory reading \"%s\"", s->path);
  s->cursor.p = s->data.data;
  s->cursor.end = s->data.data + s->data.len;
  /* Each record takes at least min_bytes: a count beyond that lies. */
  size_t min = s->schema.root->min_bytes;
  if ((min > 0 && (uint64_t)count > s->data.len / min) || (min == 0 && count > (1 << 24)))
    return corrupt(s, at, err, "the block claims %lld records in %zu bytes", (long long)count, s->data.len);
  s->block_offset = at;
  s->next_offset = s->offset;
  s->block_count = count;
  s->block_done = 0;
  s->in_block = true;
  return NB_OK;
}

/* Decode one record of the current block into the builder. */
static int next_record(AvroSource *src, Stream *s, NbError *err) {
  const char *why = "";
  if (!avro_decode_record(&s->schema, s->cols, s->n_cols, s->builder, &s->cursor, &src->scratch, &why))
    return corrupt(s, s->block_offset, err, "record %lld of the block: %s", (long long)s->block_done + 1, why);
  s->block_done++;
  if (s->block_done == s->block_count) {
    s->in_block = false;
    s->resume_offset = s->next_offset;
    if (avro_cursor_left(&s->cursor) != 0)
      return corrupt(s, s->block_offset, err, "%zu bytes are left after the block's %lld records",
                     avro_cursor_left(&s->cursor), (long long)s->block_count);
  }
  return NB_OK;
}

/* Go to the saved position: the block at seek_block, then seek_records
 * records of it (decoded and dropped). */
static int apply_seek(AvroSource *src, Stream *s, NbError *err) {
  s->seek_pending = false;
  if (s->seek_block < s->header_end)
    return corrupt(s, s->seek_block, err, "the saved position is inside the header (the file was replaced?)");
  if (s->seek_block > s->offset) {
    uint64_t skip = s->seek_block - s->offset;
    uint64_t buffered = s->rlen - s->rpos;
    if (skip <= buffered) {
      s->rpos += (size_t)skip;
    } else {
      s->rpos = s->rlen;
      int rc = src->host->file_skip(s->file, skip - buffered, err);
      if (rc == NB_END) {
        s->ended = true;
        return corrupt(s, s->seek_block, err, "the saved position is beyond the end of the file");
      }
      if (rc != NB_OK) return rc;
    }
    s->offset = s->seek_block;
  }
  s->resume_offset = s->seek_block;
  if (s->seek_records == 0) return NB_OK;
  int rc = load_block(src, s, err);
  if (rc == NB_END || (rc == NB_OK && (uint64_t)s->block_count < s->seek_records))
    return corrupt(s, s->seek_block, err, "the saved position (record %llu of this block) is not in the file",
                   (unsigned long long)s->seek_records);
  while (rc == NB_OK && (uint64_t)s->block_done < s->seek_records) rc = next_record(src, s, err);
  nb_batch_builder_reset(s->builder);
  return rc;
}

/* ------------------------------------------------------------------------
 * Streams
 * ------------------------------------------------------------------------ */

/* nb_path_expand's callback: one stream per file. */
static int add_stream(void *cookie, const char *path, int64_t size_bytes) {
  AvroSource *src = cookie;
  (void)size_bytes;
  Stream **v = realloc(src->streams, (src->n_streams + 1) * sizeof *v);
  if (v == NULL) return NB_NOMEM;
  src->streams = v;
  Stream *s = calloc(1, sizeof *s);
  if (s == NULL || (s->path = strdup(path)) == NULL) {
    free(s);
    return NB_NOMEM;
  }
  nb_error_init(&s->deferred);
  v[src->n_streams++] = s;
  return NB_OK;
}

static int expand_paths(AvroSource *src, const char *pattern, NbError *err) {
  int rc = nb_path_expand(NULL, pattern, add_stream, src, err);
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory opening the avro source");
  return rc;
}

static void stream_free(const NbHostApi *host, Stream *s) {
  if (s == NULL) return;
  if (s->file != NULL) host->file_close(s->file, NULL);
  nb_batch_builder_free(s->builder);
  avro_schema_free(&s->schema);
  free(s->cols);
  free(s->fields);
  avro_buf_free(&s->raw);
  avro_buf_free(&s->data);
  nb_error_release(&s->deferred);
  free(s->path);
  free(s);
}

static int stream_ready(AvroSource *src, uint32_t index, Stream **out, NbError *err) {
  if (index >= src->n_streams) return nb_error_set(err, NB_INVALID, "stream %u does not exist", index);
  Stream *s = src->streams[index];
  *out = s;
  if (s->opened) return NB_OK;
  if (s->file != NULL) return corrupt(s, s->offset, err, "the header could not be read");
  return read_header(src, s, err);
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

int avro_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source, NbError *err) {
  const char *path;
  int64_t max_block;
  *source = NULL;
  int rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "max_block_bytes", 268435456, &max_block, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0')
    return nb_error_set(err, NB_INVALID, "setting \"path\" of the avro source is required");
  if (max_block < 1024 || max_block > ((int64_t)1 << 40))
    return nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"max_block_bytes\": not in 1024..1099511627776",
                        (long long)max_block);
  AvroSource *src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the avro source");
  src->host = host;
  src->batch_rows = args->batch_rows ? args->batch_rows : 65536;
  src->batch_bytes = args->batch_bytes ? args->batch_bytes : (64u << 20);
  src->max_block_bytes = (size_t)max_block;
  rc = expand_paths(src, path, err);
  if (rc != NB_OK) {
    avro_source_close(src);
    return rc;
  }
  *source = src;
  return NB_OK;
}

int avro_source_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)err;
  *count = (uint32_t)((AvroSource *)source)->n_streams;
  return NB_OK;
}

int avro_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  AvroSource *src = source;
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  nb_stream_info_set(out, src->streams[index]->path, -1);
  return NB_OK;
}

int avro_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  Stream *s = NULL;
  int rc = stream_ready(source, index, &s, err);
  if (rc != NB_OK) return rc;
  return nb_schema_export(s->fields, s->n_cols, out, err);
}

int avro_source_seek(void *source, uint32_t index, const void *position, size_t position_len, NbError *err) {
  AvroSource *src = source;
  if (index >= src->n_streams) return nb_error_set(err, NB_INVALID, "stream %u does not exist", index);
  uint64_t v[2];
  int rc = nb_position_decode(position, position_len, v, 2, err);
  if (rc != NB_OK) return rc;
  Stream *s = src->streams[index];
  s->seek_pending = true;
  s->seek_block = v[0];
  s->seek_records = v[1];
  return NB_OK;
}

static void set_position(Stream *s, NbBatchInfo *info) {
  uint64_t v[2] = {s->in_block ? s->block_offset : s->resume_offset, s->in_block ? (uint64_t)s->block_done : 0};
  info->position = s->position;
  info->position_len = nb_position_encode(s->position, sizeof s->position, v, 2);
  if (NB_STRUCT_HAS(NbBatchInfo, info, bytes_read)) info->bytes_read = (int64_t)s->offset;
}

int avro_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  AvroSource *src = source;
  Stream *s = NULL;
  int rc = stream_ready(src, index, &s, err);
  if (rc != NB_OK) return rc;
  set_position(s, info);
  if (s->deferred_rc != NB_OK) {
    /* The stream is broken here: every later call says so again. */
    nb_error_set(err, s->deferred_rc, "%s", s->deferred.message ? s->deferred.message : "corrupt Avro file");
    nb_error_locate(err, s->path, 0, 0);
    return s->deferred_rc;
  }
  if (s->ended) return NB_END;
  if (s->seek_pending) {
    rc = apply_seek(src, s, err);
    if (rc != NB_OK) {
      s->deferred_rc = rc;
      nb_error_set(&s->deferred, rc, "%s", err && err->message ? err->message : "corrupt Avro file");
      return rc;
    }
  }
  size_t rows = 0;
  while (rows < src->batch_rows && nb_batch_builder_bytes(s->builder) < src->batch_bytes) {
    if (src->host->is_cancelled(src->host->host_data))
      return nb_error_set(err, NB_CANCELLED, "cancelled reading \"%s\"", s->path);
    if (!s->in_block) {
      rc = load_block(src, s, err);
      if (rc == NB_END) {
        s->ended = true;
        break;
      }
      if (rc != NB_OK) break;
      if (s->block_count == 0) {
        s->in_block = false;
        s->resume_offset = s->next_offset;
        continue;
      }
    }
    size_t before = rows;
    rc = next_record(src, s, err);
    if (rc != NB_OK) {
      /* The failed record's partial values: drop them. */
      for (size_t c = 0; c < s->n_cols; c++)
        nb_column_truncate(nb_batch_builder_column(s->builder, c), before);
      break;
    }
    rows++;
  }
  if (rc != NB_OK && rc != NB_END) {
    /* Keep the error for the calls to come; with rows decoded before it,
     * hand those over first. */
    s->deferred_rc = rc;
    nb_error_set(&s->deferred, rc, "%s", err && err->message ? err->message : "corrupt Avro file");
    if (rows == 0) {
      nb_batch_builder_reset(s->builder);
      return rc;
    }
    nb_error_release(err);
  }
  rc = nb_batch_builder_finish(s->builder, out, err);
  if (rc != NB_OK) return rc;
  set_position(s, info);
  return NB_OK;
}

void avro_source_close(void *source) {
  AvroSource *src = source;
  if (src == NULL) return;
  for (size_t i = 0; i < src->n_streams; i++) stream_free(src->host, src->streams[i]);
  free(src->streams);
  avro_buf_free(&src->scratch);
  free(src);
}
