/*
 * arrow_dest.c - the arrow destination: each batch becomes one IPC
 * RecordBatch message, its body a near copy of the batch's own buffers.
 *
 * Layout (Arrow columnar format, "IPC"): a message is the continuation
 * marker 0xFFFFFFFF, the int32 length of the metadata (padded so that the
 * body starts 8-byte aligned), the Message flatbuffer, then the body: each
 * buffer at an 8-byte aligned offset, padded with zeros.  The streaming
 * format is Schema message, RecordBatch messages, end-of-stream marker
 * (0xFFFFFFFF 0x00000000).  The file format wraps it: "ARROW1\0\0", the
 * stream, the Footer flatbuffer (schema again and the Block list: offset,
 * metadata length and body length of each record batch), its int32
 * length, "ARROW1".
 *
 * Types written (the engine's, nebula/sdk.h): utf8 and large_utf8
 * (number and arrow.json as utf8 with ARROW:extension:name), int64,
 * float64 (DOUBLE), bool, decimal128(p,s), date32 (DAY), timestamp
 * (MICROSECOND, the zone; none for "").  Nulls: a validity bitmap when the
 * column has nulls, none otherwise.  Buffers are passed to file_write as
 * they are when the array's offset is 0 (the common case); a sliced array
 * gets its bitmaps shifted and its string offsets rebased in scratch.
 *
 * Compression (setting compression): each non-empty buffer becomes the
 * int64 uncompressed length followed by one LZ4 frame or zstd frame, made
 * by the host's block codecs (ABI 1.2); a buffer that does not shrink is
 * stored as it is with length -1, as the format allows.
 *
 * Exactly-once: dest_commit makes the file durable (file_commit) and the
 * state records, per file, the durable length, a fingerprint of its schema
 * and (file format) the Block list.  A resumed run truncates the file to
 * that length and appends; the file format's footer, written by
 * dest_finish only, lists the saved blocks and the new ones.  The
 * end-of-stream marker and the footer are never part of a committed state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrow_connector.h"
#include "arrow_ipc.h"

#define STATE_MAGIC "nebula-arrow-dest 1\n"
#define FILE_MAGIC_PADDED "ARROW1\0\0"

typedef struct OutFile {
  char *path;
  NbFile *file;
  bool file_format;        /* else the streaming format */
  uint64_t length;         /* bytes written (the logical end) */
  bool has_schema;         /* the schema message is in the file */
  uint64_t schema_hash;
  IpcSchema schema;        /* for the footer */
  IpcBlock *blocks;        /* record batches, for the footer */
  size_t n_blocks, cap_blocks;
} OutFile;

typedef struct DestStream {
  char *name;
  bool opened;             /* out is set (a failed prepare leaves it not) */
  size_t out;              /* index in files */
  struct ArrowSchema kept; /* our copy of the schema */
  NbField *fields;         /* point into kept */
  size_t n_fields;
} DestStream;

/* A file of a resumed state. */
typedef struct SavedFile {
  char *path;
  uint64_t length;
  uint64_t schema_hash;
  IpcBlock *blocks;
  size_t n_blocks;
} SavedFile;

/* A piece of the body: a pointer into the batch or into scratch. */
typedef struct Piece {
  const void *data;
  int64_t len;
} Piece;

typedef struct ArrowDest {
  const NbHostApi *host;
  char *path;
  bool per_stream;
  int format;              /* 0 auto, 1 file, 2 stream */
  int codec;               /* IPC_CODEC_* */
  const char *codec_name;  /* the host's block codec name */
  int32_t level;
  OutFile *files;
  size_t n_files;
  DestStream *streams;
  size_t n_streams;
  SavedFile *saved;
  size_t n_saved;
  FbBuilder fb;
  /* per batch */
  IpcNode *nodes;
  IpcBufferRef *refs;
  Piece *pieces;
  size_t cap_columns;
  uint8_t *scratch;        /* shifted bitmaps, rebased offsets, and
                              compressed buffers */
  size_t scratch_len, scratch_cap;
  char *state;
  size_t state_len, state_cap;
} ArrowDest;

/* ------------------------------------------------------------------------
 * State
 * ------------------------------------------------------------------------ */

static void saved_free(SavedFile *f) {
  free(f->path);
  free(f->blocks);
}

/* "nebula-arrow-dest 1\n", then per file "<length> <schema hash>
 * <n blocks> <path length> <path>\n" and one line "<offset> <metadata
 * length> <body length>\n" per block. */
static int parse_state(ArrowDest *d, const char *s, size_t len, NbError *err) {
  const char *end = s + len;
  if (!nb_text_expect(&s, end, STATE_MAGIC)) goto bad;
  while (s < end) {
    uint64_t length, hash, n_blocks;
    char *path;
    if (!nb_text_u64(&s, end, ' ', &length) || !nb_text_u64(&s, end, ' ', &hash) ||
        !nb_text_u64(&s, end, ' ', &n_blocks))
      goto bad;
    int rc = nb_text_path(&s, end, &path);
    if (rc == NB_NOMEM) goto nomem;
    /* A block's line is at least "0 0 0\n". */
    if (rc != NB_OK || n_blocks > (uint64_t)(end - s) / 6) {
      free(path);
      goto bad;
    }
    SavedFile *v = NB_KEYED_APPEND(d->saved, d->n_saved, SavedFile, path, path);
    free(path);
    if (v == NULL) goto nomem;
    d->saved = v;
    SavedFile *f = &v[d->n_saved++];
    f->blocks = calloc(n_blocks ? n_blocks : 1, sizeof *f->blocks);
    if (f->blocks == NULL) goto nomem;
    f->length = length;
    f->schema_hash = hash;
    for (uint64_t i = 0; i < n_blocks; i++) {
      uint64_t off, meta, body;
      if (!nb_text_u64(&s, end, ' ', &off) || !nb_text_u64(&s, end, ' ', &meta) ||
          !nb_text_u64(&s, end, '\n', &body) || meta > INT32_MAX ||
          off > length || body > length || meta + body > length - off)
        goto bad;
      f->blocks[i] = (IpcBlock){(int64_t)off, (int32_t)meta, (int64_t)body};
    }
    f->n_blocks = n_blocks;
  }
  return NB_OK;
bad:
  nb_error_set(err, NB_INVALID, "the saved state of the arrow destination is not understood");
  nb_error_hint(err, "The state file was written by another connector or is damaged; remove it to start the run from the beginning.");
  return NB_INVALID;
nomem:
  return nb_error_set(err, NB_NOMEM, "out of memory reading the arrow destination's state");
}

static bool state_reserve(ArrowDest *d, size_t more) {
  if (d->state_cap - d->state_len >= more) return true;
  size_t cap = d->state_cap ? d->state_cap : 256;
  while (cap - d->state_len < more) cap *= 2;
  char *p = realloc(d->state, cap);
  if (p == NULL) return false;
  d->state = p;
  d->state_cap = cap;
  return true;
}

static bool state_printf(ArrowDest *d, const char *fmt, unsigned long long a,
                         unsigned long long b, unsigned long long c) {
  if (!state_reserve(d, 80)) return false;
  d->state_len += (size_t)snprintf(d->state + d->state_len, 80, fmt, a, b, c);
  return true;
}

static bool build_state(ArrowDest *d) {
  d->state_len = 0;
  if (!state_reserve(d, strlen(STATE_MAGIC))) return false;
  memcpy(d->state, STATE_MAGIC, strlen(STATE_MAGIC));
  d->state_len = strlen(STATE_MAGIC);
  for (size_t i = 0; i < d->n_files; i++) {
    const OutFile *f = &d->files[i];
    size_t plen = strlen(f->path);
    if (!state_printf(d, "%llu %llu %llu ", f->length, f->schema_hash,
                      f->n_blocks) ||
        !state_printf(d, "%llu ", plen, 0, 0) || !state_reserve(d, plen + 1))
      return false;
    memcpy(d->state + d->state_len, f->path, plen);
    d->state_len += plen;
    d->state[d->state_len++] = '\n';
    for (size_t b = 0; b < f->n_blocks; b++)
      if (!state_printf(d, "%llu %llu %llu\n",
                        (unsigned long long)f->blocks[b].offset,
                        (unsigned long long)f->blocks[b].meta_length,
                        (unsigned long long)f->blocks[b].body_length))
        return false;
  }
  return true;
}

/* ------------------------------------------------------------------------
 * Files
 * ------------------------------------------------------------------------ */

static int put(ArrowDest *d, OutFile *f, const void *data, size_t len,
               NbError *err) {
  if (len == 0) return NB_OK;
  int rc = d->host->file_write(f->file, data, len, err);
  if (rc != NB_OK) return rc;
  f->length += len;
  return NB_OK;
}

static const uint8_t zeros[8];

static int put_padding(ArrowDest *d, OutFile *f, size_t len, NbError *err) {
  size_t pad = (8 - len % 8) % 8;
  return put(d, f, zeros, pad, err);
}

static bool wants_stream_format(const ArrowDest *d, const char *path) {
  if (d->format != 0) return d->format == 2;
  size_t n = strlen(path);
  return strcmp(path, "-") == 0 ||
         (n >= 7 && strcmp(path + n - 7, ".arrows") == 0);
}

static void out_file_free(OutFile *f) {
  free(f->path);
  ipc_schema_free(&f->schema);
  free(f->blocks);
}

static int open_file(ArrowDest *d, const char *path, size_t *index,
                     NbError *err) {
  *index = NB_KEYED_FIND(d->files, d->n_files, OutFile, path, path);
  if (*index < d->n_files) return NB_OK;
  OutFile *v = NB_KEYED_APPEND(d->files, d->n_files, OutFile, path, path);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening file \"%s\"", path);
  d->files = v;
  OutFile *f = &v[d->n_files];
  f->file_format = !wants_stream_format(d, path);

  NbWriteOptions opts;
  memset(&opts, 0, sizeof opts);
  opts.struct_size = (uint32_t)sizeof opts;
  opts.compression = "none"; /* IPC compresses its own buffers */
  opts.resume_length = -1;
  size_t saved = NB_KEYED_FIND(d->saved, d->n_saved, SavedFile, path, path);
  if (saved < d->n_saved) {
    SavedFile *s = &d->saved[saved];
    /* Resume: drop what was written after the last commit. */
    opts.resume_length = (int64_t)s->length;
    f->length = s->length;
    f->schema_hash = s->schema_hash;
    f->has_schema = s->length > (f->file_format ? 8u : 0u);
    f->blocks = s->blocks;
    f->n_blocks = f->cap_blocks = s->n_blocks;
    s->blocks = NULL;
    s->n_blocks = 0;
  }
  int rc = d->host->file_open_write(d->host->host_data, path, &opts, &f->file, err);
  if (rc == NB_OK && f->file_format && f->length == 0)
    rc = put(d, f, FILE_MAGIC_PADDED, 8, err);
  if (rc != NB_OK) {
    if (f->file != NULL) d->host->file_close(f->file, NULL);
    out_file_free(f);
    return rc;
  }
  *index = d->n_files++;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

/* The IPC description of the engine's columns. */
static int ipc_schema_of(const NbField *fields, size_t n, IpcSchema *out) {
  memset(out, 0, sizeof *out);
  out->fields = calloc(n ? n : 1, sizeof *out->fields);
  if (out->fields == NULL) return NB_NOMEM;
  out->n = n;
  for (size_t i = 0; i < n; i++) {
    const NbField *nf = &fields[i];
    IpcField *f = &out->fields[i];
    const char *ext = NULL;
    f->name = strdup(nf->name != NULL ? nf->name : "");
    f->nullable = nf->nullable;
    switch (nf->type) {
    case NB_TYPE_NUMBER: ext = "nebula.number"; f->type = IPC_T_UTF8; break;
    case NB_TYPE_JSON: ext = "arrow.json"; f->type = IPC_T_UTF8; break;
    case NB_TYPE_UTF8: f->type = IPC_T_UTF8; break;
    case NB_TYPE_LARGE_UTF8: f->type = IPC_T_LARGE_UTF8; break;
    case NB_TYPE_INT64: f->type = IPC_T_INT; f->bit_width = 64; f->is_signed = true; break;
    case NB_TYPE_FLOAT64: f->type = IPC_T_FLOAT; f->bit_width = 64; break;
    case NB_TYPE_BOOL: f->type = IPC_T_BOOL; break;
    case NB_TYPE_DECIMAL128:
      f->type = IPC_T_DECIMAL;
      f->bit_width = 128;
      f->precision = nf->precision;
      f->scale = nf->scale;
      break;
    case NB_TYPE_DATE32: f->type = IPC_T_DATE; f->unit = 0; break;
    case NB_TYPE_TIMESTAMP:
      f->type = IPC_T_TIMESTAMP;
      f->unit = IPC_UNIT_MICRO;
      if (nf->timezone == NULL || nf->timezone[0] != '\0') {
        f->timezone = strdup(nf->timezone != NULL ? nf->timezone : "UTC");
        if (f->timezone == NULL) return NB_NOMEM;
      }
      break;
    }
    if (ext != NULL && (f->extension = strdup(ext)) == NULL) return NB_NOMEM;
    if (f->name == NULL) return NB_NOMEM;
  }
  return NB_OK;
}

/* FNV-1a of the schema message: the same columns give the same bytes. */
static uint64_t fnv1a(const uint8_t *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
  return h & 0x7fffffffffffffffull;
}

/* Write a message: marker, metadata length, flatbuffer (already padded to
 * 8 bytes in d->fb).  *block gets its offset and metadata length. */
static int put_metadata(ArrowDest *d, OutFile *f, IpcBlock *block,
                        NbError *err) {
  if (d->fb.failed || d->fb.len > INT32_MAX - 8)
    return nb_error_set(err, NB_NOMEM, "out of memory encoding a message for file \"%s\"", f->path);
  uint8_t prefix[8];
  uint32_t len = (uint32_t)d->fb.len;
  memset(prefix, 0xff, 4);
  for (int i = 0; i < 4; i++) prefix[4 + i] = (uint8_t)(len >> (8 * i));
  block->offset = (int64_t)f->length;
  block->meta_length = (int32_t)(8 + len);
  int rc = put(d, f, prefix, 8, err);
  return rc != NB_OK ? rc : put(d, f, d->fb.data, d->fb.len, err);
}

/* The file's schema is the stream's: write it to a new file, check it
 * against the one a resumed or shared file already has. */
static int file_set_schema(ArrowDest *d, OutFile *f, const DestStream *s,
                           NbError *err) {
  IpcSchema schema;
  int rc = ipc_schema_of(s->fields, s->n_fields, &schema);
  if (rc != NB_OK) {
    ipc_schema_free(&schema);
    return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name);
  }
  ipc_schema_message(&d->fb, &schema);
  if (d->fb.failed) {
    ipc_schema_free(&schema);
    return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name);
  }
  uint64_t hash = fnv1a(d->fb.data, d->fb.len);
  if (f->has_schema) {
    ipc_schema_free(&schema);
    if (hash == f->schema_hash) {
      if (f->schema.fields == NULL) return ipc_schema_of(s->fields, s->n_fields, &f->schema) == NB_OK ? NB_OK : nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name);
      return NB_OK;
    }
    nb_error_set(err, NB_INVALID,
                 "stream \"%s\" does not have the schema file \"%s\" was started with",
                 s->name, f->path);
    nb_error_detail(err, "An Arrow IPC file holds one schema; the stream's columns or types differ from those already written (by another stream, an earlier schema of this stream, or the interrupted run being resumed).");
    nb_error_hint(err, "Put \"{stream}\" in the destination's path to write one file per stream, or start the run afresh.");
    return NB_INVALID;
  }
  IpcBlock ignored;
  rc = put_metadata(d, f, &ignored, err);
  if (rc != NB_OK) {
    ipc_schema_free(&schema);
    return rc;
  }
  f->schema = schema;
  f->schema_hash = hash;
  f->has_schema = true;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Batches
 * ------------------------------------------------------------------------ */

static bool reserve_columns(ArrowDest *d, size_t n_columns) {
  size_t need = 3 * n_columns + 1;
  if (d->cap_columns >= need) return true;
  IpcNode *nodes = realloc(d->nodes, need * sizeof *nodes);
  if (nodes != NULL) d->nodes = nodes;
  IpcBufferRef *refs = realloc(d->refs, need * sizeof *refs);
  if (refs != NULL) d->refs = refs;
  Piece *pieces = realloc(d->pieces, need * sizeof *pieces);
  if (pieces != NULL) d->pieces = pieces;
  if (nodes == NULL || refs == NULL || pieces == NULL) return false;
  d->cap_columns = need;
  return true;
}

/* Scratch space of n bytes, 8-aligned within scratch.  Scratch is grown
 * before a batch is laid out (scratch_need), so pointers stay valid. */
static uint8_t *scratch_take(ArrowDest *d, size_t n) {
  size_t at = (d->scratch_len + 7) & ~(size_t)7;
  if (at + n > d->scratch_cap) return NULL;
  d->scratch_len = at + n;
  return d->scratch + at;
}

static bool scratch_reserve(ArrowDest *d, size_t n) {
  d->scratch_len = 0;
  if (n <= d->scratch_cap) return true;
  uint8_t *p = realloc(d->scratch, n);
  if (p == NULL) return false;
  d->scratch = p;
  d->scratch_cap = n;
  return true;
}

static int64_t count_nulls(const uint8_t *validity, int64_t offset,
                           int64_t length) {
  int64_t set = 0;
  for (int64_t i = 0; i < length; i++) {
    int64_t k = offset + i;
    set += (validity[k >> 3] >> (k & 7)) & 1;
  }
  return length - set;
}

/* A bitmap of length bits starting at bit offset: the batch's own bytes
 * when offset is a multiple of 8, else a shifted copy. */
static Piece bitmap_piece(ArrowDest *d, const uint8_t *bits, int64_t offset,
                          int64_t length) {
  size_t bytes = (size_t)((length + 7) / 8);
  if ((offset & 7) == 0) return (Piece){bits + offset / 8, (int64_t)bytes};
  uint8_t *out = scratch_take(d, bytes);
  if (out == NULL) return (Piece){NULL, -1};
  memset(out, 0, bytes);
  for (int64_t i = 0; i < length; i++) {
    int64_t k = offset + i;
    if ((bits[k >> 3] >> (k & 7)) & 1) out[i >> 3] |= (uint8_t)(1u << (i & 7));
  }
  /* Bits past length must be zero only for hygiene; they are. */
  return (Piece){out, (int64_t)bytes};
}

static size_t fixed_width(NbType type) {
  switch (type) {
  case NB_TYPE_INT64: case NB_TYPE_FLOAT64: case NB_TYPE_TIMESTAMP: return 8;
  case NB_TYPE_DATE32: return 4;
  case NB_TYPE_DECIMAL128: return 16;
  default: return 0;
  }
}

static bool is_large(NbType type) { return type == NB_TYPE_LARGE_UTF8; }
static bool is_string(NbType type) {
  return type == NB_TYPE_UTF8 || type == NB_TYPE_LARGE_UTF8 ||
         type == NB_TYPE_NUMBER || type == NB_TYPE_JSON;
}

/* Scratch bytes a batch may need: shifted bitmaps and rebased offsets. */
static size_t scratch_need(const NbColumnView *views, size_t n, int64_t rows) {
  size_t need = 64;
  for (size_t c = 0; c < n; c++) {
    const NbColumnView *v = nb_column_view_at(views, c);
    if (v->offset == 0) continue;
    need += 2 * ((size_t)(rows + 7) / 8 + 8);
    if (is_string(v->field.type))
      need += ((size_t)rows + 1) * (is_large(v->field.type) ? 8 : 4) + 8;
  }
  return need;
}

/* The body pieces of one column: validity, then values (or offsets and
 * data).  Returns the number of pieces, 0 on a scratch failure. */
static size_t column_pieces(ArrowDest *d, const NbColumnView *v, int64_t rows,
                            IpcNode *node, Piece *out) {
  const struct ArrowArray *a = v->array;
  int64_t off = v->offset;
  int64_t nulls = 0;
  if (v->validity != NULL)
    nulls = a->null_count >= 0 ? a->null_count : count_nulls(v->validity, off, rows);
  node->length = rows;
  node->null_count = nulls;
  out[0] = nulls > 0 ? bitmap_piece(d, v->validity, off, rows) : (Piece){NULL, 0};
  if (out[0].len < 0) return 0;
  NbType type = v->field.type;
  if (type == NB_TYPE_BOOL) {
    out[1] = bitmap_piece(d, v->data, off, rows);
    return out[1].len < 0 ? 0 : 2;
  }
  size_t w = fixed_width(type);
  if (w != 0) {
    out[1] = (Piece){v->data + (size_t)off * w, rows * (int64_t)w};
    return 2;
  }
  /* strings */
  if (is_large(type)) {
    const int64_t *o = (const int64_t *)v->offsets + off;
    int64_t first = o[0];
    if (first != 0) {
      int64_t *r = (int64_t *)scratch_take(d, ((size_t)rows + 1) * 8);
      if (r == NULL) return 0;
      for (int64_t i = 0; i <= rows; i++) r[i] = o[i] - first;
      o = r;
    }
    out[1] = (Piece){o, (rows + 1) * 8};
    out[2] = (Piece){v->data + first, ((const int64_t *)v->offsets)[off + rows] - first};
  } else {
    const int32_t *o = (const int32_t *)v->offsets + off;
    int32_t first = o[0];
    if (first != 0) {
      int32_t *r = (int32_t *)scratch_take(d, ((size_t)rows + 1) * 4);
      if (r == NULL) return 0;
      for (int64_t i = 0; i <= rows; i++) r[i] = o[i] - first;
      o = r;
    }
    out[1] = (Piece){o, (rows + 1) * 4};
    out[2] = (Piece){v->data + first, (int64_t)((const int32_t *)v->offsets)[off + rows] - first};
  }
  return 3;
}

/* Compress every non-empty piece (the int64 uncompressed length, then the
 * frame; the raw bytes with length -1 when that is not smaller).  The
 * compressed pieces live in d->scratch after the layout's own use. */
static int compress_pieces(ArrowDest *d, OutFile *f, Piece *pieces, size_t n,
                           NbError *err) {
  size_t need = d->scratch_len + 8;
  for (size_t i = 0; i < n; i++) {
    if (pieces[i].len <= 0) continue;
    size_t bound = d->host->block_compress_bound(d->host->host_data, d->codec_name, (size_t)pieces[i].len);
    if (bound == 0)
      return nb_error_set(err, NB_INVALID, "codec %s cannot compress a buffer of %lld bytes for file \"%s\"",
                          d->codec_name, (long long)pieces[i].len, f->path);
    need += 16 + (bound > (size_t)pieces[i].len ? bound : (size_t)pieces[i].len);
  }
  if (need > d->scratch_cap) {
    /* Grow without losing what the layout put in scratch: pieces point
     * into it, so re-point them. */
    uint8_t *old = d->scratch;
    uint8_t *p = malloc(need);
    if (p == NULL) return nb_error_set(err, NB_NOMEM, "out of memory compressing a batch for file \"%s\"", f->path);
    memcpy(p, old, d->scratch_len);
    for (size_t i = 0; i < n; i++) {
      const uint8_t *q = pieces[i].data;
      if (q != NULL && old != NULL && q >= old && q < old + d->scratch_cap)
        pieces[i].data = p + (q - old);
    }
    free(old);
    d->scratch = p;
    d->scratch_cap = need;
  }
  for (size_t i = 0; i < n; i++) {
    if (pieces[i].len <= 0) continue;
    uint8_t *out = scratch_take(d, 8);
    size_t room = d->scratch_cap - d->scratch_len, got = 0;
    int rc = d->host->block_compress(d->host->host_data, d->codec_name, d->level,
                                     pieces[i].data, (size_t)pieces[i].len,
                                     out + 8, room, &got, err);
    if (rc != NB_OK) {
      nb_error_detail(err, "Compressing a buffer of file \"%s\" with %s.", f->path, d->codec_name);
      return rc;
    }
    int64_t raw = pieces[i].len;
    if ((int64_t)got >= raw) { /* store it uncompressed */
      memcpy(out + 8, pieces[i].data, (size_t)raw);
      got = (size_t)raw;
      raw = -1;
    }
    for (int k = 0; k < 8; k++) out[k] = (uint8_t)((uint64_t)raw >> (8 * k));
    d->scratch_len += got;
    pieces[i] = (Piece){out, (int64_t)(8 + got)};
  }
  return NB_OK;
}

static bool add_block(OutFile *f, const IpcBlock *b) {
  if (f->n_blocks == f->cap_blocks) {
    size_t cap = f->cap_blocks ? 2 * f->cap_blocks : 64;
    IpcBlock *v = realloc(f->blocks, cap * sizeof *v);
    if (v == NULL) return false;
    f->blocks = v;
    f->cap_blocks = cap;
  }
  f->blocks[f->n_blocks++] = *b;
  return true;
}

static int write_batch(ArrowDest *d, OutFile *f, const DestStream *s,
                       const NbColumnView *views, int64_t rows, NbError *err) {
  size_t n_pieces = 0;
  if (!reserve_columns(d, s->n_fields) ||
      !scratch_reserve(d, scratch_need(views, s->n_fields, rows)))
    return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
  for (size_t c = 0; c < s->n_fields; c++) {
    size_t k = column_pieces(d, nb_column_view_at(views, c), rows, &d->nodes[c],
                             &d->pieces[n_pieces]);
    if (k == 0) return nb_error_set(err, NB_INTERNAL, "scratch space for column %zu of file \"%s\" was too small", c + 1, f->path);
    n_pieces += k;
  }
  if (d->codec != IPC_CODEC_NONE) {
    int rc = compress_pieces(d, f, d->pieces, n_pieces, err);
    if (rc != NB_OK) return rc;
  }
  int64_t body = 0;
  for (size_t i = 0; i < n_pieces; i++) {
    d->refs[i].offset = body;
    d->refs[i].length = d->pieces[i].len;
    body += (d->pieces[i].len + 7) & ~(int64_t)7;
  }
  ipc_batch_message(&d->fb, rows, d->nodes, (uint32_t)s->n_fields, d->refs,
                    (uint32_t)n_pieces, d->codec, body);
  IpcBlock block;
  int rc = put_metadata(d, f, &block, err);
  for (size_t i = 0; i < n_pieces && rc == NB_OK; i++) {
    rc = put(d, f, d->pieces[i].data, (size_t)d->pieces[i].len, err);
    if (rc == NB_OK) rc = put_padding(d, f, (size_t)d->pieces[i].len, err);
  }
  if (rc != NB_OK) return rc;
  block.body_length = body;
  if (f->file_format && !add_block(f, &block))
    return nb_error_set(err, NB_NOMEM, "out of memory writing file \"%s\"", f->path);
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

int arrow_dest_open(const NbHostApi *host, const NbOpenArgs *args, void **dest,
                    NbError *err) {
  const char *path;
  int format, codec;
  int64_t level;
  int rc;
  *dest = NULL;
  rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc != NB_OK) return rc;
  if (path == NULL || path[0] == '\0')
    return nb_error_set(err, NB_INVALID, "setting \"path\" of the arrow destination is required");
  rc = nb_setting_enum(args->settings, "format", "auto|file|stream", 0, &format, err);
  if (rc == NB_OK) rc = nb_setting_enum(args->settings, "compression", "none|lz4_frame|zstd", 0, &codec, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "compression_level", 0, &level, err);
  if (rc != NB_OK) return rc;
  if (level < INT32_MIN || level > INT32_MAX)
    return nb_error_set(err, NB_INVALID, "invalid value %lld for setting \"compression_level\"", (long long)level);
  if (codec != 0 && !(NB_HOST_HAS(host, block_compress) && NB_HOST_HAS(host, block_compress_bound))) {
    nb_error_set(err, NB_NOT_IMPLEMENTED, "setting \"compression\" of the arrow destination needs a host with block compression (ABI 1.2)");
    nb_error_hint(err, "Use compression = none, or a newer nebula-host.");
    return NB_NOT_IMPLEMENTED;
  }
  ArrowDest *d = calloc(1, sizeof *d);
  if (d == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the arrow destination");
  d->host = host;
  d->format = format;
  d->codec = codec == 0 ? IPC_CODEC_NONE : codec == 1 ? IPC_CODEC_LZ4_FRAME : IPC_CODEC_ZSTD;
  d->codec_name = codec == 1 ? "lz4_frame" : "zstd";
  d->level = (int32_t)level;
  d->path = strdup(path);
  d->per_stream = nb_path_has_stream(path);
  fb_builder_init(&d->fb);
  if (d->path == NULL) {
    arrow_dest_close(d);
    return nb_error_set(err, NB_NOMEM, "out of memory opening the arrow destination");
  }
  if (args->state != NULL) {
    rc = parse_state(d, args->state, args->state_len, err);
    if (rc != NB_OK) {
      arrow_dest_close(d);
      return rc;
    }
  }
  *dest = d;
  return NB_OK;
}

/* The file of a new stream: its own ("{stream}" in path) or the one. */
static int open_stream_file(ArrowDest *d, DestStream *s, NbError *err) {
  char *path = nb_stream_path(d->path, s->name);
  int rc = path == NULL ? nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", s->name)
                        : open_file(d, path, &s->out, err);
  free(path);
  s->opened = rc == NB_OK;
  return rc;
}

int arrow_dest_prepare(void *dest, const char *stream_name,
                       const struct ArrowSchema *schema, uint32_t *dest_stream,
                       NbError *err) {
  ArrowDest *d = dest;
  size_t i;
  DestStream *v = NB_KEYED_FIND_OR_ADD(d->streams, &d->n_streams, DestStream, name, stream_name, &i);
  if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory preparing stream \"%s\"", stream_name);
  d->streams = v;
  int rc = v[i].opened ? NB_OK : open_stream_file(d, &v[i], err);
  if (rc != NB_OK) return rc;
  DestStream *s = &d->streams[i];
  rc = nb_schema_copy(schema, &s->kept, err);
  if (rc != NB_OK) return rc;
  free(s->fields);
  s->fields = NULL;
  rc = nb_schema_fields(&s->kept, &s->fields, &s->n_fields, err);
  if (rc != NB_OK) return rc;
  rc = file_set_schema(d, &d->files[s->out], s, err);
  if (rc != NB_OK) return rc;
  *dest_stream = (uint32_t)i;
  return NB_OK;
}

int arrow_dest_write(void *dest, uint32_t dest_stream,
                     const struct ArrowArray *batch, NbError *err) {
  ArrowDest *d = dest;
  if (dest_stream >= d->n_streams || !d->streams[dest_stream].opened)
    return nb_error_set(err, NB_INVALID, "destination stream %u was not prepared", dest_stream);
  DestStream *s = &d->streams[dest_stream];
  OutFile *f = &d->files[s->out];
  NbColumnView *views = NULL;
  size_t n_views = 0;
  if (batch->length == 0) return NB_OK;
  if (s->n_fields > 0) {
    int rc = nb_batch_views(&s->kept, batch, &views, &n_views, err);
    if (rc != NB_OK) return rc;
  }
  int rc = write_batch(d, f, s, views, batch->length, err);
  free(views);
  return rc;
}

int arrow_dest_commit(void *dest, const void **state, size_t *state_len,
                      NbError *err) {
  ArrowDest *d = dest;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length = 0;
    int rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) return rc;
    if (length != f->length) {
      nb_error_set(err, NB_IO, "file \"%s\" is %llu bytes long after a commit, %llu were written",
                   f->path, (unsigned long long)length, (unsigned long long)f->length);
      nb_error_hint(err, "Another process may be writing the same file.");
      return NB_IO;
    }
  }
  if (!build_state(d))
    return nb_error_set(err, NB_NOMEM, "out of memory committing the arrow destination");
  *state = d->state;
  *state_len = d->state_len;
  return NB_OK;
}

/* The end of a file: the end-of-stream marker, and for the file format
 * the footer, its length and the magic. */
static int put_end(ArrowDest *d, OutFile *f, NbError *err) {
  static const uint8_t eos[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  int rc = put(d, f, eos, 8, err);
  if (rc != NB_OK || !f->file_format) return rc;
  ipc_footer(&d->fb, &f->schema, f->blocks, f->n_blocks);
  if (d->fb.failed || d->fb.len > INT32_MAX)
    return nb_error_set(err, NB_NOMEM, "out of memory writing the footer of file \"%s\"", f->path);
  uint8_t tail[10];
  uint32_t len = (uint32_t)d->fb.len;
  for (int i = 0; i < 4; i++) tail[i] = (uint8_t)(len >> (8 * i));
  memcpy(tail + 4, IPC_MAGIC, 6);
  rc = put(d, f, d->fb.data, d->fb.len, err);
  return rc != NB_OK ? rc : put(d, f, tail, 10, err);
}

/* The schema of a file an earlier run wrote, read back from its start
 * (for the footer), checked against the fingerprint in the state. */
static int load_schema(ArrowDest *d, OutFile *f, NbError *err) {
  NbFile *in = NULL;
  uint8_t head[16], *meta = NULL;
  size_t got = 0, len = 0;
  const char *why = "the schema message is unreadable";
  int rc = d->host->file_open_read(d->host->host_data, f->path, &in, err);
  if (rc != NB_OK) return rc;
  rc = d->host->file_read(in, head, sizeof head, &got, err);
  if (rc == NB_OK && got == sizeof head && memcmp(head, IPC_MAGIC, 6) == 0) {
    len = (size_t)(uint32_t)fb_read_i32(head + 12);
    if (len > 0 && len <= IPC_MAX_METADATA && (meta = malloc(len)) != NULL) {
      size_t n = 0;
      got = 0;
      while (rc == NB_OK && got < len &&
             (rc = d->host->file_read(in, meta + got, len - got, &n, err)) == NB_OK && n > 0)
        got += n;
    }
  }
  d->host->file_close(in, NULL);
  if (rc != NB_OK) {
    free(meta);
    return rc;
  }
  IpcMessage msg;
  if (meta != NULL && got == len && fnv1a(meta, len) == f->schema_hash &&
      ipc_message_decode(meta, len, &msg, &why) && msg.header_type == IPC_HDR_SCHEMA) {
    int drc = ipc_schema_decode(&msg.header, &f->schema, &why);
    free(meta);
    if (drc == 0) return NB_OK;
    if (drc == -2) return nb_error_set(err, NB_NOMEM, "out of memory reading file \"%s\"", f->path);
  } else {
    free(meta);
  }
  nb_error_set(err, NB_IO, "file \"%s\" does not start with the schema the interrupted run wrote: %s",
               f->path, why);
  nb_error_hint(err, "The file was changed by another program; remove the state file to start afresh.");
  return NB_IO;
}

/* Files of the resumed state whose streams were complete before this run
 * began: no dest_prepare opened them, but they still need their end. */
static int open_saved_files(ArrowDest *d, NbError *err) {
  for (size_t i = 0; i < d->n_saved; i++) {
    size_t index;
    if (NB_KEYED_FIND(d->files, d->n_files, OutFile, path, d->saved[i].path) < d->n_files) continue;
    int rc = open_file(d, d->saved[i].path, &index, err);
    if (rc != NB_OK) return rc;
    OutFile *f = &d->files[index];
    if (f->file_format && f->has_schema && (rc = load_schema(d, f, err)) != NB_OK) return rc;
  }
  return NB_OK;
}

int arrow_dest_finish(void *dest, NbError *err) {
  ArrowDest *d = dest;
  int orc = open_saved_files(d, err);
  if (orc != NB_OK) return orc;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    uint64_t length;
    int rc = put_end(d, f, err);
    /* Durable, but not part of any state: a resumed run truncates to the
     * last commit and writes the footer again. */
    if (rc == NB_OK) rc = d->host->file_commit(f->file, &length, err);
    if (rc != NB_OK) {
      nb_error_detail(err, "Could not write the end of file \"%s\" (%s).", f->path,
                      f->file_format ? "end-of-stream marker and footer" : "end-of-stream marker");
      return rc;
    }
  }
  return NB_OK;
}

void arrow_dest_close(void *dest) {
  ArrowDest *d = dest;
  if (d == NULL) return;
  for (size_t i = 0; i < d->n_files; i++) {
    OutFile *f = &d->files[i];
    nb_file_close_logged(d->host, f->file, f->path);
    out_file_free(f);
  }
  for (size_t i = 0; i < d->n_streams; i++) {
    if (d->streams[i].kept.release != NULL) d->streams[i].kept.release(&d->streams[i].kept);
    free(d->streams[i].fields);
    free(d->streams[i].name);
  }
  for (size_t i = 0; i < d->n_saved; i++) saved_free(&d->saved[i]);
  free(d->saved);
  free(d->files);
  free(d->streams);
  fb_builder_free(&d->fb);
  free(d->nodes);
  free(d->refs);
  free(d->pieces);
  free(d->scratch);
  free(d->state);
  free(d->path);
  free(d);
}
