/*
 * parquet_source.c - the parquet source: Parquet files (a glob pattern
 * gives one stream per file) -> Arrow batches, one row group at a time.
 *
 * The file is read with pread: the footer first (magic, length checked
 * against the file's size), then, per row group, the column chunks of the
 * projected columns (`columns`), kept compressed and decoded page by page
 * by pq_colreader.c as each batch needs their rows: memory is the
 * compressed chunks of one row group, their dictionaries and the values
 * of one batch (plus the rest of the last page decoded).  Nested columns
 * are decoded a whole chunk at a time (record assembly walks every leaf).
 * A row group whose rows times the columns' widths exceed
 * max_row_group_bytes is refused before anything is allocated.
 *
 * Types (docs/parquet-connector.md): BOOLEAN -> bool; INT32 / INT64 and
 * their INT(8..64) and UINT(8..32) annotations -> int64; UINT64 ->
 * decimal128(20,0); FLOAT, DOUBLE -> float64; DATE -> date32; TIMESTAMP
 * (MILLIS, MICROS, NANOS) and INT96 -> timestamp (microseconds; a value
 * with nanoseconds that are not whole microseconds is an error, never
 * rounded), zone "UTC" when isAdjustedToUTC, "" otherwise; DECIMAL (INT32,
 * INT64, FIXED_LEN_BYTE_ARRAY, BYTE_ARRAY, up to 38 digits) -> decimal128;
 * STRING / ENUM / unannotated BYTE_ARRAY -> utf8 (bytes as they are);
 * JSON -> json; UUID -> utf8 (8-4-4-4-12 hex); TIME -> utf8 "HH:MM:SS"
 * with the fraction of its unit.  Nested columns (groups, repeated
 * fields) are not supported: a clear error names them, unless `columns`
 * leaves them out.
 *
 * Position: (row group, row within it); a resumed stream starts there.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "parquet_connector.h"
#include "pq_colreader.h"
#include "pq_nested.h"
#include "pq_format.h"

#define POSITION_VALUES 3 /* magic, row group, row */
#define POSITION_MAGIC 0x50515231u /* "PQR1" */
#define MAX_FOOTER ((uint64_t)1 << 30)

/* How a column's physical values become the Arrow value. */
typedef enum Conv {
  CV_BOOL, CV_I32, CV_U32, CV_I64, CV_U64, CV_F32, CV_F64, CV_DATE,
  CV_TS, CV_INT96, CV_DEC_I32, CV_DEC_I64, CV_DEC_BYTES, CV_STRING, CV_UUID,
  CV_TIME, CV_NESTED
} Conv;

typedef struct Column {
  uint32_t leaf;           /* column chunk index */
  const PqSchemaElem *elem;
  char *name;
  Conv conv;
  int64_t ts_div;          /* CV_TS/CV_TIME: units per microsecond (NANOS: 1000) */
  int64_t ts_mul;          /* MILLIS: 1000 */
  NbField field;
  PqColReader *reader;     /* flat columns of the loaded row group */
  PqNested *nested;        /* CV_NESTED: the field's tree and leaves */
} Column;

typedef struct Stream {
  char *path;
  int fd;
  int64_t size;
  uint8_t *footer;
  PqFileMeta meta;
  bool opened;
  Column *cols;
  size_t n_cols;
  NbBatchBuilder *builder;
  uint32_t rg;             /* current row group */
  int64_t row;             /* next row within it */
  bool loaded;             /* rg's columns are decoded */
  uint8_t position[NB_POSITION_MAX_BYTES];
  NbStringRef *refs;
  size_t refs_cap;
} Stream;

typedef struct ParquetSource {
  const NbHostApi *host;
  Stream *streams;
  size_t n_streams;
  char **want;             /* projection, NULL for all */
  size_t n_want;
  size_t max_page_bytes;
  uint64_t max_row_group_bytes;
  uint64_t batch_rows;
} ParquetSource;

/* ------------------------------------------------------------------------
 * Reading the file
 * ------------------------------------------------------------------------ */

static int read_at(const Stream *s, uint64_t off, void *buf, size_t n, NbError *err) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = pread(s->fd, (uint8_t *)buf + done, n - done, (off_t)(off + done));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return nb_error_set(err, NB_IO, "could not read \"%s\" at offset %llu: %s", s->path,
                                   (unsigned long long)(off + done), strerror(errno));
    if (r == 0) return nb_error_set(err, NB_DATA, "Parquet file \"%s\" ends at offset %llu, %zu bytes early (was it truncated while being read?)",
                                    s->path, (unsigned long long)(off + done), n - done);
    done += (size_t)r;
  }
  return NB_OK;
}

static int corrupt(const Stream *s, NbError *err, const char *what) {
  nb_error_set(err, NB_DATA, "\"%s\" is not a complete Parquet file: %s", s->path, what);
  nb_error_locate(err, s->path, 0, 0);
  nb_error_hint(err, "A Parquet file ends with its footer and \"PAR1\"; a writer that did not finish leaves none.");
  return NB_DATA;
}

static int open_file(Stream *s, NbError *err) {
  struct stat st;
  uint8_t tail[8], head[4];
  s->fd = open(s->path, O_RDONLY | O_CLOEXEC);
  if (s->fd < 0)
    return nb_error_set(err, errno == ENOENT ? NB_NOT_FOUND : NB_IO, "could not open \"%s\": %s", s->path,
                        strerror(errno));
  if (fstat(s->fd, &st) != 0) return nb_error_set(err, NB_IO, "could not stat \"%s\": %s", s->path, strerror(errno));
  if (!S_ISREG(st.st_mode)) return nb_error_set(err, NB_INVALID, "\"%s\" is not a regular file (Parquet is read with random access)", s->path);
  s->size = st.st_size;
  if (s->size < 12) return corrupt(s, err, "shorter than 12 bytes");
  int rc = read_at(s, 0, head, 4, err);
  if (rc == NB_OK) rc = read_at(s, (uint64_t)s->size - 8, tail, 8, err);
  if (rc != NB_OK) return rc;
  if (memcmp(head, "PAR1", 4) != 0) return corrupt(s, err, "no \"PAR1\" magic at its start");
  if (memcmp(tail + 4, "PAR1", 4) != 0) {
    if (memcmp(tail + 4, "PARE", 4) == 0) return corrupt(s, err, "the footer is encrypted (not supported)");
    return corrupt(s, err, "no \"PAR1\" magic at its end");
  }
  uint64_t flen = pq_le32(tail);
  if (flen > (uint64_t)s->size - 12 || flen > MAX_FOOTER) {
    char why[128];
    snprintf(why, sizeof why, "footer length %llu is past the file's %lld bytes", (unsigned long long)flen,
             (long long)s->size);
    return corrupt(s, err, why);
  }
  s->footer = malloc(flen ? flen : 1);
  if (s->footer == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the footer of \"%s\"", s->path);
  rc = read_at(s, (uint64_t)s->size - 8 - flen, s->footer, flen, err);
  if (rc != NB_OK) return rc;
  const char *why = NULL;
  size_t at = 0;
  if (!pq_meta_decode(s->footer, flen, &s->meta, &why, &at)) {
    nb_error_set(err, NB_DATA, "corrupt Parquet footer in \"%s\" at file offset %llu: %s", s->path,
                 (unsigned long long)((uint64_t)s->size - 8 - flen + at), why);
    nb_error_locate(err, s->path, 0, 0);
    return NB_DATA;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Schema
 * ------------------------------------------------------------------------ */

static char *elem_name(const PqSchemaElem *e) {
  char *n = malloc(e->name_len + 1);
  if (n == NULL) return NULL;
  memcpy(n, e->name, e->name_len);
  n[e->name_len] = '\0';
  return n;
}

static int unsupported_type(const Stream *s, const char *name, const PqSchemaElem *e, NbError *err) {
  nb_error_set(err, NB_DATA, "Parquet file \"%s\": column \"%s\" of physical type %s (converted type %d, logical type %d) is not supported",
               s->path, name, pq_type_name(e->type), e->converted, e->logical);
  nb_error_hint(err, "Leave the column out with the \"columns\" setting.");
  return NB_DATA;
}

static int time_unit(Column *c, int unit) {
  c->ts_mul = unit == PQ_UNIT_MILLIS ? 1000 : 1;
  c->ts_div = unit == PQ_UNIT_NANOS ? 1000 : 1;
  return unit;
}

static int decimal_field(Column *c, const PqSchemaElem *e, int32_t p, int32_t sc) {
  if (p < 1 || p > 38 || sc < 0 || sc > p) return -1;
  c->field.type = NB_TYPE_DECIMAL128;
  c->field.precision = p;
  c->field.scale = sc;
  if (e->type == PQ_INT32) c->conv = CV_DEC_I32;
  else if (e->type == PQ_INT64) c->conv = CV_DEC_I64;
  else if (e->type == PQ_BYTE_ARRAY || (e->type == PQ_FIXED && e->type_length >= 1 && e->type_length <= 16)) c->conv = CV_DEC_BYTES;
  else return -1;
  return 0;
}

/* The footer marks NUMBER columns (see parquet_dest.c). */
static bool is_number_column(const Stream *s, const char *name) {
  size_t n = strlen(name);
  for (uint32_t i = 0; i < s->meta.n_kv; i++) {
    const PqKeyValue *kv = &s->meta.kv[i];
    if (kv->key_len == n + 17 && memcmp(kv->key, "nebula:extension:", 17) == 0 &&
        memcmp(kv->key + 17, name, n) == 0 && kv->value != NULL && kv->value_len == 13 &&
        memcmp(kv->value, "nebula.number", 13) == 0)
      return true;
  }
  return false;
}

/* The Arrow field and conversion of a leaf. */
static int map_column(const Stream *s, Column *c, NbError *err) {
  const PqSchemaElem *e = c->elem;
  bool dec = e->logical == PQ_LT_DECIMAL || e->converted == PQ_CT_DECIMAL;
  c->field.name = c->name;
  c->field.nullable = e->repetition != PQ_REQUIRED;
  c->ts_mul = c->ts_div = 1;
  if (dec) {
    int32_t p = e->logical == PQ_LT_DECIMAL ? e->lt_precision : e->precision;
    int32_t sc = e->logical == PQ_LT_DECIMAL ? e->lt_scale : e->scale;
    if (decimal_field(c, e, p, sc) != 0) return unsupported_type(s, c->name, e, err);
    return NB_OK;
  }
  switch (e->type) {
    case PQ_BOOLEAN:
      c->field.type = NB_TYPE_BOOL;
      c->conv = CV_BOOL;
      return NB_OK;
    case PQ_INT32:
      if (e->logical == PQ_LT_DATE || e->converted == PQ_CT_DATE) {
        c->field.type = NB_TYPE_DATE32;
        c->conv = CV_DATE;
      } else if ((e->logical == PQ_LT_TIME && e->lt_unit == PQ_UNIT_MILLIS) || e->converted == PQ_CT_TIME_MILLIS) {
        c->field.type = NB_TYPE_UTF8;
        c->conv = CV_TIME;
        time_unit(c, PQ_UNIT_MILLIS);
      } else {
        bool u = (e->logical == PQ_LT_INTEGER && !e->lt_signed) || e->converted == PQ_CT_UINT_8 ||
                 e->converted == PQ_CT_UINT_16 || e->converted == PQ_CT_UINT_32;
        c->field.type = NB_TYPE_INT64;
        c->conv = u ? CV_U32 : CV_I32;
      }
      return NB_OK;
    case PQ_INT64:
      if (e->logical == PQ_LT_TIMESTAMP || e->converted == PQ_CT_TS_MILLIS || e->converted == PQ_CT_TS_MICROS) {
        int unit = e->logical == PQ_LT_TIMESTAMP ? e->lt_unit : e->converted == PQ_CT_TS_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
        bool utc = e->logical == PQ_LT_TIMESTAMP ? e->lt_utc : true;
        if (unit == PQ_UNIT_NONE) return unsupported_type(s, c->name, e, err);
        time_unit(c, unit);
        c->field.type = NB_TYPE_TIMESTAMP;
        c->field.timezone = utc ? "UTC" : "";
        c->conv = CV_TS;
      } else if (e->logical == PQ_LT_TIME || e->converted == PQ_CT_TIME_MICROS) {
        int unit = e->logical == PQ_LT_TIME ? e->lt_unit : PQ_UNIT_MICROS;
        if (unit == PQ_UNIT_NONE) return unsupported_type(s, c->name, e, err);
        time_unit(c, unit);
        c->field.type = NB_TYPE_UTF8;
        c->conv = CV_TIME;
      } else if ((e->logical == PQ_LT_INTEGER && !e->lt_signed) || e->converted == PQ_CT_UINT_64) {
        c->field.type = NB_TYPE_DECIMAL128;
        c->field.precision = 20;
        c->field.scale = 0;
        c->conv = CV_U64;
      } else {
        c->field.type = NB_TYPE_INT64;
        c->conv = CV_I64;
      }
      return NB_OK;
    case PQ_INT96:
      c->field.type = NB_TYPE_TIMESTAMP;
      c->field.timezone = "";
      c->conv = CV_INT96;
      return NB_OK;
    case PQ_FLOAT:
      c->field.type = NB_TYPE_FLOAT64;
      c->conv = CV_F32;
      return NB_OK;
    case PQ_DOUBLE:
      c->field.type = NB_TYPE_FLOAT64;
      c->conv = CV_F64;
      return NB_OK;
    case PQ_BYTE_ARRAY:
      if (e->logical == PQ_LT_BSON || e->converted == PQ_CT_BSON) return unsupported_type(s, c->name, e, err);
      c->field.type = e->logical == PQ_LT_JSON || e->converted == PQ_CT_JSON ? NB_TYPE_JSON
                      : is_number_column(s, c->name)                       ? NB_TYPE_NUMBER
                                                                           : NB_TYPE_UTF8;
      c->conv = CV_STRING;
      return NB_OK;
    case PQ_FIXED:
      if (e->logical == PQ_LT_UUID && e->type_length == 16) {
        c->field.type = NB_TYPE_UTF8;
        c->conv = CV_UUID;
        return NB_OK;
      }
      return unsupported_type(s, c->name, e, err);
    default:
      return unsupported_type(s, c->name, e, err);
  }
}

static bool wanted(const ParquetSource *src, const char *name) {
  if (src->want == NULL) return true;
  for (size_t i = 0; i < src->n_want; i++)
    if (strcmp(src->want[i], name) == 0) return true;
  return false;
}

/* Walk the schema tree: top-level fields, counting leaves (column chunks)
 * so a nested field left out by the projection is skipped correctly. */
static int subtree_leaves(const Stream *s, uint32_t *i, int depth, uint32_t *leaves, NbError *err) {
  if (*i >= s->meta.n_schema)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": the schema's groups claim more elements than it has", s->path);
  const PqSchemaElem *e = &s->meta.schema[*i];
  (*i)++;
  if (depth > 64) return nb_error_set(err, NB_DATA, "Parquet file \"%s\": schema nested deeper than 64 levels", s->path);
  if (e->num_children <= 0 && e->type >= 0) {
    (*leaves)++;
    return NB_OK;
  }
  if (e->num_children < 0 || (uint32_t)e->num_children > s->meta.n_schema - *i)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": schema element has %d children, %u elements are left",
                        s->path, e->num_children, s->meta.n_schema - *i);
  for (int32_t k = 0; k < e->num_children; k++) {
    int rc = subtree_leaves(s, i, depth + 1, leaves, err);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* A group, LIST, MAP or repeated field: one arrow.json column (see
 * pq_nested.h), never flattened or dropped. */
static int nested_column(const Stream *s, Column *c, uint32_t at, uint32_t first_leaf, NbError *err) {
  c->nested = calloc(1, sizeof *c->nested);
  if (c->nested == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of \"%s\"", s->path);
  int rc = pq_nested_build(s->meta.schema, s->meta.n_schema, &at, first_leaf, s->path, c->name, c->nested, err);
  if (rc != NB_OK) return rc;
  c->field.name = c->name;
  c->field.type = NB_TYPE_JSON;
  c->field.nullable = true;
  c->conv = CV_NESTED;
  return NB_OK;
}

static int build_columns(ParquetSource *src, Stream *s, NbError *err) {
  const PqFileMeta *m = &s->meta;
  if (m->n_schema == 0 || m->schema[0].num_children < 0 ||
      (uint32_t)m->schema[0].num_children > m->n_schema - 1)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": the schema has no valid root", s->path);
  s->cols = calloc((size_t)m->n_schema, sizeof *s->cols);
  if (s->cols == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of \"%s\"", s->path);
  uint32_t i = 1, leaves = 0;
  for (int32_t f = 0; f < m->schema[0].num_children; f++) {
    uint32_t at = i, first_leaf = leaves;
    if (at >= m->n_schema)
      return nb_error_set(err, NB_DATA, "Parquet file \"%s\": the schema's root claims more fields than it has", s->path);
    const PqSchemaElem *e = &m->schema[at];
    int rc = subtree_leaves(s, &i, 1, &leaves, err);
    if (rc != NB_OK) return rc;
    char *name = elem_name(e);
    if (name == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of \"%s\"", s->path);
    if (!wanted(src, name)) {
      free(name);
      continue;
    }
    Column *c = &s->cols[s->n_cols++];
    c->leaf = first_leaf;
    c->elem = e;
    c->name = name;
    if (leaves - first_leaf != 1 || e->num_children > 0 || e->repetition == PQ_REPEATED)
      rc = nested_column(s, c, at, first_leaf, err);
    else
      rc = map_column(s, c, err);
    if (rc != NB_OK) return rc;
  }
  /* The row counts must add up to the file's: a lying row group count
   * (a small file claiming 10^16 rows) would otherwise be read as rows of
   * nothing for years.  A file without columns has no rows to give. */
  int64_t total = 0;
  for (uint32_t g = 0; g < m->n_row_groups; g++) {
    int64_t n = m->row_groups[g].num_rows;
    if (m->row_groups[g].n_columns != leaves || n < 0)
      return nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u has %u column chunks and %lld rows, the schema %u columns",
                          s->path, g, m->row_groups[g].n_columns, (long long)n, leaves);
    if (n > INT64_MAX - total || (total += n) > m->num_rows)
      return nb_error_set(err, NB_DATA, "Parquet file \"%s\": the row groups hold more rows than the file's %lld (row group %u has %lld)",
                          s->path, (long long)m->num_rows, g, (long long)n);
  }
  if (total != m->num_rows)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": its row groups hold %lld rows, its footer says %lld",
                        s->path, (long long)total, (long long)m->num_rows);
  if (leaves == 0 && total > 0)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": %lld rows but no columns", s->path, (long long)total);
  for (size_t w = 0; src->want != NULL && w < src->n_want; w++) {
    bool found = false;
    for (size_t k = 0; k < s->n_cols && !found; k++) found = strcmp(s->cols[k].name, src->want[w]) == 0;
    if (!found) {
      nb_error_set(err, NB_INVALID, "setting \"columns\" names \"%s\", which file \"%s\" does not have", src->want[w], s->path);
      return NB_INVALID;
    }
  }
  return NB_OK;
}

static void log_discovery(const ParquetSource *src, const Stream *s) {
  const PqFileMeta *m = &s->meta;
  nb_log(src->host, NB_LOG_INFO, "%s: %lld rows in %u row groups, %lld bytes, created by %.*s", s->path,
         (long long)m->num_rows, m->n_row_groups, (long long)s->size, (int)m->created_by_len,
         m->created_by ? (const char *)m->created_by : "?");
  /* The first 20 row groups: enough to see their sizes, not a flood. */
  for (uint32_t g = 0; g < m->n_row_groups && g < 20; g++) {
    const PqRowGroup *rg = &m->row_groups[g];
    int64_t comp = 0;
    for (uint32_t k = 0; k < rg->n_columns; k++) comp += rg->columns[k].total_compressed;
    nb_log(src->host, NB_LOG_INFO, "%s: row group %u: %lld rows, %lld bytes stored (%lld uncompressed)", s->path, g,
           (long long)rg->num_rows, (long long)comp, (long long)rg->total_byte_size);
  }
  if (m->n_row_groups > 20) nb_log(src->host, NB_LOG_INFO, "%s: ... and %u more row groups", s->path, m->n_row_groups - 20);
  for (size_t k = 0; k < s->n_cols; k++) {
    const Column *c = &s->cols[k];
    uint32_t leaves = c->nested != NULL ? c->nested->n_leaves : 1;
    int64_t comp = 0, unc = 0;
    int codec = -1;
    for (uint32_t g = 0; g < m->n_row_groups; g++) {
      for (uint32_t l = 0; l < leaves; l++) {
        const PqColumnChunk *ch = &m->row_groups[g].columns[c->leaf + l];
        comp += ch->total_compressed;
        unc += ch->total_uncompressed;
        codec = ch->codec;
      }
    }
    char kind[64];
    if (c->nested != NULL) snprintf(kind, sizeof kind, "nested (%u leaf columns, read as json)", leaves);
    else snprintf(kind, sizeof kind, "%s", pq_type_name(c->elem->type));
    nb_log(src->host, NB_LOG_INFO, "%s: column \"%s\" %s, codec %s, %lld bytes (%lld uncompressed)", s->path, c->name,
           kind, pq_codec_name(codec), (long long)comp, (long long)unc);
  }
}

static int stream_ready(ParquetSource *src, uint32_t index, Stream **out, NbError *err) {
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  Stream *s = &src->streams[index];
  *out = s;
  if (s->opened) return NB_OK;
  int rc = open_file(s, err);
  if (rc == NB_OK) rc = build_columns(src, s, err);
  if (rc == NB_OK) {
    NbField *fields = calloc(s->n_cols ? s->n_cols : 1, sizeof *fields);
    if (fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    for (size_t k = 0; k < s->n_cols; k++) fields[k] = s->cols[k].field;
    rc = nb_batch_builder_new(fields, s->n_cols, (size_t)src->batch_rows, &s->builder, err);
    free(fields);
  }
  if (rc != NB_OK) return rc;
  log_discovery(src, s);
  s->opened = true;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Row groups
 * ------------------------------------------------------------------------ */

static void unload(Stream *s) {
  for (size_t k = 0; k < s->n_cols; k++) {
    pq_col_reader_free(s->cols[k].reader);
    s->cols[k].reader = NULL;
    if (s->cols[k].nested != NULL) pq_nested_free_leaves(s->cols[k].nested);
  }
  s->loaded = false;
}

/* Read column chunk `leaf` (schema element e) of the row group into a
 * reader; ref_in carries the nested leaf's levels (NULL for a flat column). */
static int load_chunk(ParquetSource *src, Stream *s, const Column *c, uint32_t leaf, const PqSchemaElem *e,
                      const PqChunkRef *ref_in, const PqRowGroup *g, PqColReader **out, NbError *err) {
  const PqColumnChunk *ch = &g->columns[leaf];
  if (!ch->has_meta || ch->external)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u, column \"%s\": %s", s->path, s->rg, c->name,
                        ch->external ? "the column chunk is in another file (not supported)" : "no column metadata");
  if (ch->type != e->type)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u, column \"%s\": chunk of type %s, the schema says %s",
                        s->path, s->rg, c->name, pq_type_name(ch->type), pq_type_name(e->type));
  int64_t start = ch->data_page_offset;
  if (ch->dict_page_offset > 0 && ch->dict_page_offset < start) start = ch->dict_page_offset;
  int64_t len = ch->total_compressed;
  if (start < 4 || len < 0 || start > s->size || len > s->size - start || (uint64_t)len > SIZE_MAX / 2)
    return nb_error_set(err, NB_DATA, "corrupt Parquet file \"%s\": row group %u, column \"%s\": chunk at offset %lld of %lld bytes is outside the file (%lld bytes)",
                        s->path, s->rg, c->name, (long long)start, (long long)len, (long long)s->size);
  uint8_t *buf = malloc(len ? (size_t)len : 1);
  if (buf == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading column \"%s\" of \"%s\"", c->name, s->path);
  int rc = read_at(s, (uint64_t)start, buf, (size_t)len, err);
  if (rc != NB_OK) {
    free(buf);
    return rc;
  }
  {
    PqChunkRef ref = {s->path, s->rg, c->name, e->type, e->type_length, c->field.nullable,
                      g->num_rows, (uint64_t)start, ch->codec, src->max_page_bytes, false, 0, 0, 0};
    if (ref_in != NULL) {
      ref.nested = true;
      ref.max_def = ref_in->max_def;
      ref.max_rep = ref_in->max_rep;
      ref.max_slots = ref_in->max_slots;
    }
    rc = pq_col_reader_open(src->host, &ref, buf, (size_t)len, out, err);
  }
  return rc;
}

static int load_column(ParquetSource *src, Stream *s, Column *c, const PqRowGroup *g, NbError *err) {
  if (c->nested == NULL) return load_chunk(src, s, c, c->leaf, c->elem, NULL, g, &c->reader, err);
  PqNested *n = c->nested;
  for (uint32_t k = 0; k < n->n_leaves; k++) {
    PqChunkRef ref;
    memset(&ref, 0, sizeof ref);
    const PqSchemaElem *e = pq_nested_leaf(n, k, &ref.max_def, &ref.max_rep);
    if (e == NULL) return nb_error_set(err, NB_INTERNAL, "nested column \"%s\": leaf %u not in its tree", c->name, k);
    /* Level slots are bounded like rows: 16 bytes of memory each at least. */
    ref.max_slots = (size_t)(src->max_row_group_bytes / 16);
    PqColReader *r = NULL;
    int rc = load_chunk(src, s, c, n->first_leaf + k, e, &ref, g, &r, err);
    if (rc == NB_OK) rc = pq_col_reader_fill(r, 0, 0, err);
    if (rc == NB_OK) pq_col_reader_take(r, &n->leaves[k]);
    pq_col_reader_free(r);
    if (rc != NB_OK) return rc;
  }
  pq_nested_rewind(n);
  return NB_OK;
}

static int load_row_group(ParquetSource *src, Stream *s, NbError *err) {
  const PqRowGroup *g = &s->meta.row_groups[s->rg];
  uint64_t need = 0;
  for (size_t k = 0; k < s->n_cols; k++) {
    size_t w = pq_phys_width(s->cols[k].elem->type, s->cols[k].elem->type_length);
    need += (uint64_t)g->num_rows * (w ? w + 1 : 9);
    if (need > src->max_row_group_bytes) break;
  }
  if ((uint64_t)g->num_rows > SIZE_MAX / 16 || need > src->max_row_group_bytes)
    return nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u has %lld rows, more than memory allows for the projected columns",
                        s->path, s->rg, (long long)g->num_rows);
  for (size_t k = 0; k < s->n_cols; k++) {
    int rc = load_column(src, s, &s->cols[k], g, err);
    if (rc != NB_OK) {
      unload(s);
      return rc;
    }
  }
  s->loaded = true;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static int value_error(const Stream *s, const Column *c, int64_t row, const char *why, NbError *err) {
  nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u, row %lld, column \"%s\": %s", s->path, s->rg,
               (long long)row, c->name, why);
  nb_error_locate(err, s->path, 0, 0);
  return NB_DATA;
}

static int append_timestamp(const Stream *s, const Column *c, NbColumnBuilder *b, int64_t v, int64_t row, NbError *err) {
  if (c->ts_div > 1) {
    if (v % c->ts_div != 0)
      return value_error(s, c, row, "nanoseconds that are not whole microseconds (Nebula timestamps are microseconds; never rounded)", err);
    v /= c->ts_div;
  }
  if (c->ts_mul > 1) {
    if (v > INT64_MAX / c->ts_mul || v < INT64_MIN / c->ts_mul) return value_error(s, c, row, "timestamp out of range", err);
    v *= c->ts_mul;
  }
  return nb_column_append_timestamp(b, v);
}

static int append_int96(const Stream *s, const Column *c, NbColumnBuilder *b, const uint8_t *p, int64_t row, NbError *err) {
  /* 8 bytes nanoseconds of the day, 4 bytes Julian day. */
  int64_t nanos = (int64_t)pq_le64(p);
  int64_t julian = (int64_t)(int32_t)pq_le32(p + 8);
  if (nanos < 0 || nanos >= 86400000000000LL) return value_error(s, c, row, "INT96 nanoseconds of the day out of range", err);
  if (nanos % 1000 != 0)
    return value_error(s, c, row, "INT96 nanoseconds that are not whole microseconds (never rounded)", err);
  int64_t days = julian - 2440588;
  return nb_column_append_timestamp(b, days * 86400000000LL + nanos / 1000);
}

static int append_decimal_bytes(const Stream *s, const Column *c, NbColumnBuilder *b, const uint8_t *p, size_t n,
                                int64_t row, NbError *err) {
  uint8_t le[16];
  if (n == 0 || n > 16) {
    /* Longer big-endian values are fine when the extra bytes are sign. */
    if (n == 0) return value_error(s, c, row, "empty decimal", err);
    uint8_t sign = (p[0] & 0x80) ? 0xFF : 0;
    for (size_t i = 0; i < n - 16; i++)
      if (p[i] != sign) return value_error(s, c, row, "decimal wider than 128 bits", err);
    p += n - 16;
    n = 16;
  }
  uint8_t sign = (p[0] & 0x80) ? 0xFF : 0;
  for (size_t i = 0; i < 16; i++) le[i] = i < n ? p[n - 1 - i] : sign;
  uint64_t low = pq_le64(le);
  int64_t high = (int64_t)pq_le64(le + 8);
  return nb_column_append_decimal128(b, low, high);
}

static int append_time(const Stream *s, const Column *c, NbColumnBuilder *b, int64_t v, int64_t row, NbError *err) {
  char buf[48];
  int64_t per_sec = c->ts_mul == 1000 ? 1000 : c->ts_div == 1000 ? 1000000000 : 1000000;
  int digits = per_sec == 1000 ? 3 : per_sec == 1000000 ? 6 : 9;
  if (v < 0 || v > 86400 * per_sec) return value_error(s, c, row, "time of day out of range", err);
  int64_t sec = v / per_sec, frac = v % per_sec;
  int n = snprintf(buf, sizeof buf, "%02lld:%02lld:%02lld.%0*lld", (long long)(sec / 3600), (long long)(sec / 60 % 60),
                   (long long)(sec % 60), digits, (long long)frac);
  return nb_column_append_utf8(b, buf, (size_t)n);
}

static int append_uuid(NbColumnBuilder *b, const uint8_t *p) {
  char buf[37];
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) buf[o++] = '-';
    buf[o++] = hex[p[i] >> 4];
    buf[o++] = hex[p[i] & 15];
  }
  return nb_column_append_utf8(b, buf, o);
}

/* Slot r of a BYTE_ARRAY window (NULL when empty: values.data may be NULL). */
static const uint8_t *byte_array_value(const PqColData *d, size_t r, size_t *n) {
  *n = (size_t)(d->offsets[r + 1] - d->offsets[r]);
  return *n ? d->values.data + d->offsets[r] : NULL;
}

/* Row r of the row group, held in slot `slot` of the column's window. */
static int append_value(const Stream *s, const Column *c, NbColumnBuilder *b, int64_t r, size_t slot, NbError *err) {
  const PqColData *d = pq_col_reader_data(c->reader);
  /* values.data is NULL while nothing was stored (only empty strings). */
  const uint8_t *p = d->width ? d->values.data + slot * d->width : NULL;
  size_t n;
  int32_t i32;
  int64_t i64;
  float f;
  double g;
  switch (c->conv) {
    case CV_BOOL: return nb_column_append_bool(b, p[0] != 0);
    case CV_I32: memcpy(&i32, p, 4); return nb_column_append_int64(b, i32);
    case CV_U32: return nb_column_append_int64(b, (int64_t)pq_le32(p));
    case CV_I64: memcpy(&i64, p, 8); return nb_column_append_int64(b, i64);
    case CV_U64: return nb_column_append_decimal128(b, pq_le64(p), 0);
    case CV_F32: memcpy(&f, p, 4); return nb_column_append_double(b, (double)f);
    case CV_F64: memcpy(&g, p, 8); return nb_column_append_double(b, g);
    case CV_DATE: memcpy(&i32, p, 4); return nb_column_append_date32(b, i32);
    case CV_TS: memcpy(&i64, p, 8); return append_timestamp(s, c, b, i64, r, err);
    case CV_INT96: return append_int96(s, c, b, p, r, err);
    case CV_DEC_I32: memcpy(&i32, p, 4); return nb_column_append_decimal128(b, (uint64_t)(int64_t)i32, i32 < 0 ? -1 : 0);
    case CV_DEC_I64: memcpy(&i64, p, 8); return nb_column_append_decimal128(b, (uint64_t)i64, i64 < 0 ? -1 : 0);
    case CV_DEC_BYTES:
      if (c->elem->type == PQ_BYTE_ARRAY) {
        const uint8_t *v = byte_array_value(d, slot, &n); /* before n is read */
        return append_decimal_bytes(s, c, b, v, n, r, err);
      }
      return append_decimal_bytes(s, c, b, p, d->width, r, err);
    case CV_UUID: return append_uuid(b, p);
    case CV_TIME:
      if (c->elem->type == PQ_INT32) {
        memcpy(&i32, p, 4);
        i64 = i32;
      } else {
        memcpy(&i64, p, 8);
      }
      return append_time(s, c, b, i64, r, err);
    case CV_STRING:
      p = byte_array_value(d, slot, &n);
      return nb_column_append_utf8(b, n ? (const char *)p : "", n);
    case CV_NESTED: break; /* append_nested */
  }
  return NB_INTERNAL;
}

/* Strings of rows [r0, r1) in one call (the fast path); the window starts
 * at r0. */
static int append_strings(Stream *s, size_t k, int64_t r0, int64_t r1, NbError *err) {
  const PqColData *d = pq_col_reader_data(s->cols[k].reader);
  size_t n = (size_t)(r1 - r0);
  if (n > s->refs_cap) {
    NbStringRef *v = realloc(s->refs, n * sizeof *v);
    if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    s->refs = v;
    s->refs_cap = n;
  }
  for (size_t i = 0; i < n; i++) {
    size_t r = i;
    bool valid = d->valid == NULL || d->valid[r];
    s->refs[i].len = valid ? (size_t)(d->offsets[r + 1] - d->offsets[r]) : 0;
    s->refs[i].data = !valid ? NULL : s->refs[i].len ? (const char *)d->values.data + d->offsets[r] : "";
  }
  int rc = nb_append_strings(s->builder, k, 1, s->refs, n);
  return rc == NB_OK ? NB_OK : nb_error_set(err, rc, "could not build a batch of column \"%s\"", s->cols[k].name);
}

/* Rows [r0, r1) of a nested column as JSON text; at the row group's last
 * row, every level slot of every leaf must have been used. */
static int append_nested(Stream *s, Column *c, NbColumnBuilder *b, int64_t r0, int64_t r1, NbError *err) {
  PqNested *n = c->nested;
  for (int64_t r = r0; r < r1; r++) {
    bool is_null = false;
    int rc = pq_nested_row(n, r, &is_null, s->path, s->rg, c->name, err);
    if (rc != NB_OK) return rc;
    rc = is_null ? nb_column_append_null(b) : nb_column_append_utf8(b, (const char *)n->json.data, n->json.len);
    if (rc != NB_OK) return nb_error_set(err, rc, "could not build a batch of column \"%s\"", c->name);
  }
  if (r1 == s->meta.row_groups[s->rg].num_rows) return pq_nested_check_end(n, s->path, s->rg, c->name, err);
  return NB_OK;
}

static int append_rows(Stream *s, int64_t r0, int64_t r1, NbError *err) {
  for (size_t k = 0; k < s->n_cols; k++) {
    Column *c = &s->cols[k];
    if (c->conv != CV_NESTED) {
      /* Decode the pages holding rows [r0, r1), dropping earlier rows. */
      int rc = pq_col_reader_fill(c->reader, (size_t)r0, (size_t)r1, err);
      if (rc != NB_OK) return rc;
      const PqColData *d = pq_col_reader_data(c->reader);
      if (d->first_row != (size_t)r0 || d->n_rows < (size_t)(r1 - r0))
        return nb_error_set(err, NB_INTERNAL, "column \"%s\": rows %zu..%zu decoded where %lld..%lld are needed",
                            c->name, d->first_row, d->first_row + d->n_rows, (long long)r0, (long long)r1);
    }
    if (c->conv == CV_STRING) {
      int rc = append_strings(s, k, r0, r1, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    NbColumnBuilder *b = nb_batch_builder_column(s->builder, k);
    if (c->conv == CV_NESTED) {
      int rc = append_nested(s, c, b, r0, r1, err);
      if (rc != NB_OK) return rc;
      continue;
    }
    const PqColData *d = pq_col_reader_data(c->reader);
    for (int64_t r = r0; r < r1; r++) {
      size_t slot = (size_t)(r - r0);
      int rc = d->valid != NULL && !d->valid[slot] ? nb_column_append_null(b) : append_value(s, c, b, r, slot, err);
      if (rc != NB_OK) {
        if (rc != NB_DATA) nb_error_set(err, rc, "could not build a batch of column \"%s\"", c->name);
        return rc;
      }
    }
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The vtable
 * ------------------------------------------------------------------------ */

static void stream_free(Stream *s) {
  unload(s);
  for (size_t k = 0; k < s->n_cols; k++) {
    free(s->cols[k].name);
    if (s->cols[k].nested != NULL) pq_nested_free(s->cols[k].nested);
    free(s->cols[k].nested);
  }
  free(s->cols);
  nb_batch_builder_free(s->builder);
  pq_meta_free(&s->meta);
  free(s->footer);
  free(s->refs);
  if (s->fd >= 0) close(s->fd);
  free(s->path);
}

void parquet_source_close(void *source) {
  ParquetSource *src = source;
  if (src == NULL) return;
  for (size_t i = 0; i < src->n_streams; i++) stream_free(&src->streams[i]);
  free(src->streams);
  for (size_t i = 0; i < src->n_want; i++) free(src->want[i]);
  free(src->want);
  free(src);
}

/* nb_path_expand's callback: one stream per file. */
static int add_stream(void *cookie, const char *path, int64_t size_bytes) {
  ParquetSource *src = cookie;
  (void)size_bytes;
  Stream *v = realloc(src->streams, (src->n_streams + 1) * sizeof *v);
  if (v == NULL) return NB_NOMEM;
  src->streams = v;
  Stream *s = &v[src->n_streams];
  memset(s, 0, sizeof *s);
  s->fd = -1;
  s->path = strdup(path);
  if (s->path == NULL) return NB_NOMEM;
  src->n_streams++;
  return NB_OK;
}

static int expand_paths(ParquetSource *src, const char *pattern, NbError *err) {
  if (strcmp(pattern, "-") == 0)
    return nb_error_set(err, NB_INVALID, "setting \"path\": Parquet cannot be read from standard input (it needs random access)");
  int rc = nb_path_expand(NULL, pattern, add_stream, src, err);
  if (rc == NB_NOMEM) nb_error_set(err, NB_NOMEM, "out of memory opening the parquet source");
  return rc;
}

static int parse_columns(ParquetSource *src, const char *list, NbError *err) {
  const char *p = list;
  while (*p) {
    const char *e = strchr(p, ',');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    while (n > 0 && (*p == ' ' || *p == '\t')) { p++; n--; }
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
    if (n == 0) return nb_error_set(err, NB_INVALID, "setting \"columns\" has an empty name: \"%s\"", list);
    char **v = realloc(src->want, (src->n_want + 1) * sizeof *v);
    if (v == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    src->want = v;
    v[src->n_want] = strndup(p, n);
    if (v[src->n_want] == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
    src->n_want++;
    if (e == NULL) break;
    p = e + 1;
  }
  if (src->n_want == 0) return nb_error_set(err, NB_INVALID, "setting \"columns\" names no column");
  return NB_OK;
}

int parquet_source_open(const NbHostApi *host, const NbOpenArgs *args,
                        void **source, NbError *err) {
  const char *path, *columns;
  int64_t max_page;
  *source = NULL;
  ParquetSource *src = calloc(1, sizeof *src);
  if (src == NULL) return nb_error_set(err, NB_NOMEM, "out of memory opening the parquet source");
  src->host = host;
  src->batch_rows = args->batch_rows > 0 && args->batch_rows < (1u << 24) ? args->batch_rows : 65536;
  int rc = nb_setting_string(args->settings, "path", NULL, &path, err);
  if (rc == NB_OK) rc = nb_setting_string(args->settings, "columns", NULL, &columns, err);
  if (rc == NB_OK) rc = nb_setting_int(args->settings, "max_page_bytes", 256 << 20, &max_page, err);
  if (rc == NB_OK && (path == NULL || path[0] == '\0')) rc = nb_error_set(err, NB_INVALID, "setting \"path\" is required");
  if (rc == NB_OK && (max_page < 1024 || (uint64_t)max_page > SIZE_MAX / 4))
    rc = nb_error_set(err, NB_INVALID, "setting \"max_page_bytes\" is out of range: %lld", (long long)max_page);
  if (rc == NB_OK && columns != NULL) rc = parse_columns(src, columns, err);
  if (rc == NB_OK) rc = expand_paths(src, path, err);
  if (rc != NB_OK) {
    parquet_source_close(src);
    return rc;
  }
  src->max_page_bytes = (size_t)max_page;
  src->max_row_group_bytes = (uint64_t)max_page * 16;
  *source = src;
  return NB_OK;
}

int parquet_source_stream_count(void *source, uint32_t *count, NbError *err) {
  (void)err;
  *count = (uint32_t)((ParquetSource *)source)->n_streams;
  return NB_OK;
}

int parquet_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) {
  ParquetSource *src = source;
  int checked = nb_stream_index_check(index, src->n_streams, err);
  if (checked != NB_OK) return checked;
  struct stat st;
  const char *path = src->streams[index].path;
  nb_stream_info_set(out, path, stat(path, &st) == 0 ? (int64_t)st.st_size : -1);
  return NB_OK;
}

int parquet_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) {
  Stream *s;
  int rc = stream_ready(source, index, &s, err);
  if (rc != NB_OK) return rc;
  NbField *fields = calloc(s->n_cols ? s->n_cols : 1, sizeof *fields);
  if (fields == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (size_t k = 0; k < s->n_cols; k++) fields[k] = s->cols[k].field;
  rc = nb_schema_export(fields, s->n_cols, out, err);
  free(fields);
  return rc;
}

int parquet_source_seek(void *source, uint32_t index, const void *position, size_t position_len, NbError *err) {
  Stream *s;
  uint64_t v[POSITION_VALUES];
  int rc = stream_ready(source, index, &s, err);
  if (rc != NB_OK) return rc;
  rc = nb_position_decode(position, position_len, v, POSITION_VALUES, err);
  if (rc != NB_OK || v[0] != POSITION_MAGIC)
    return nb_error_set(err, NB_INVALID, "saved position for \"%s\" is not a parquet source position", s->path);
  if (v[1] > s->meta.n_row_groups || (v[1] < s->meta.n_row_groups && v[2] > (uint64_t)s->meta.row_groups[v[1]].num_rows) ||
      (v[1] == s->meta.n_row_groups && v[2] != 0)) {
    nb_error_set(err, NB_INVALID, "saved position (row group %llu, row %llu) is past the end of \"%s\"",
                 (unsigned long long)v[1], (unsigned long long)v[2], s->path);
    nb_error_hint(err, "The file changed since the position was saved; start afresh.");
    return NB_INVALID;
  }
  unload(s);
  s->rg = (uint32_t)v[1];
  s->row = (int64_t)v[2];
  return NB_OK;
}

static void set_position(Stream *s, NbBatchInfo *info) {
  uint64_t v[POSITION_VALUES] = {POSITION_MAGIC, s->rg, (uint64_t)s->row};
  /* After the last row of a row group, point at the next one. */
  if (s->rg < s->meta.n_row_groups && s->row >= s->meta.row_groups[s->rg].num_rows) {
    v[1] = s->rg + 1u;
    v[2] = 0;
  }
  info->position_len = nb_position_encode(s->position, sizeof s->position, v, POSITION_VALUES);
  info->position = s->position;
  if (NB_STRUCT_HAS(NbBatchInfo, info, bytes_read)) info->bytes_read = -1;
}

int parquet_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info, NbError *err) {
  ParquetSource *src = source;
  Stream *s;
  int rc = stream_ready(src, index, &s, err);
  if (rc != NB_OK) return rc;
  for (;;) {
    if (s->rg >= s->meta.n_row_groups) return NB_END;
    if (src->host->is_cancelled(src->host->host_data)) return nb_error_set(err, NB_CANCELLED, "cancelled");
    const PqRowGroup *g = &s->meta.row_groups[s->rg];
    if (s->row >= g->num_rows) {
      unload(s);
      s->rg++;
      s->row = 0;
      continue;
    }
    if (!s->loaded) {
      rc = load_row_group(src, s, err);
      /* Corrupt data is a broken stream, not one bad record to skip. */
      if (rc == NB_DATA) {
        if (err != NULL) err->code = NB_IO;
        return NB_IO;
      }
      if (rc != NB_OK) return rc;
    }
    int64_t r1 = g->num_rows - s->row < (int64_t)src->batch_rows ? g->num_rows : s->row + (int64_t)src->batch_rows;
    rc = append_rows(s, s->row, r1, err);
    if (rc != NB_OK) {
      nb_batch_builder_reset(s->builder);
      unload(s);  /* a broken row group is not read again */
      if (rc == NB_DATA && err != NULL) err->code = NB_IO;
      return rc == NB_DATA ? NB_IO : rc;
    }
    rc = nb_batch_builder_finish(s->builder, out, err);
    if (rc != NB_OK) return rc;
    s->row = r1;
    set_position(s, info);
    return NB_OK;
  }
}
