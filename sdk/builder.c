/*
 * builder.c - building Arrow struct arrays column by column (the batch
 * builder of sdk.h), and exporting them with release callbacks.
 *
 * Speed matters here: appending a string runs once per CSV field or
 * generated value.  Its common case is one capacity test, a short copy
 * with fixed-size moves and an offset store; growth is geometric and lives
 * in out-of-line slow paths.  nb_column_append_nullable_strings appends a
 * run of values to one column with the column's state in registers (the
 * cheapest form, for sources that make many rows at once);
 * nb_batch_builder_append_strings and _nullable_strings a row at a time.
 * The validity bitmap is only allocated when the first null arrives and
 * holds ones ahead of the rows, so appending a value never touches it.
 * New buffer space is not zeroed (only a string column's first offset and
 * bool values need it), and buffer sizes of the next batch start at the
 * sizes the previous batch needed.
 *
 * Text parsing for nb_column_append_text is in parse.c.
 */
#include <stdlib.h>
#include <string.h>

#include "builder_internal.h"
#include "copy_exact.h"

/* ------------------------------------------------------------------------
 * Layout of each type
 * ------------------------------------------------------------------------ */

static ColumnKind kind_of(NbType type) {
  switch (type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: return KIND_STR32;
    case NB_TYPE_LARGE_UTF8: return KIND_STR64;
    case NB_TYPE_BOOL: return KIND_BITS;
    case NB_TYPE_DATE32: return KIND_FIXED;
    default: return KIND_FIXED;
  }
}

static size_t width_of(NbType type) {
  switch (type) {
    case NB_TYPE_UTF8:
    case NB_TYPE_NUMBER:
    case NB_TYPE_JSON: return 4; /* offsets */
    case NB_TYPE_DATE32: return 4;
    case NB_TYPE_DECIMAL128: return 16;
    default: return 8;
  }
}

/* ------------------------------------------------------------------------
 * Growth (slow path)
 * ------------------------------------------------------------------------ */

static size_t bitmap_bytes(size_t bits) { return (bits + 7) / 8; }

/* Bytes of the values (or offsets) buffer for `rows` rows. */
static size_t values_bytes(const NbColumnBuilder *c, size_t rows) {
  if (c->kind == KIND_BITS) return bitmap_bytes(rows);
  if (c->kind == KIND_FIXED) return rows * c->width;
  return (rows + 1) * c->width;
}

/* Make room for at least `rows` rows.  New room is not zeroed: every
 * value is written when appended, and a string column's offsets[0] is set
 * once, when its buffer is first allocated.  Only bool values are cleared
 * (append_bool sets single bits).  New validity bytes are all ones: see
 * start_validity. */
static int reserve_rows(NbColumnBuilder *c, size_t rows) {
  size_t cap, old_bytes, new_bytes;
  uint8_t *values;
  if (rows <= c->row_cap && c->values != NULL) return NB_OK;
  cap = c->row_cap > 0 ? c->row_cap : c->next_rows;
  if (cap < 64) cap = 64;
  while (cap < rows) {
    if (cap > SIZE_MAX / 2 / 16) return NB_NOMEM;
    cap *= 2;
  }
  if (c->kind == KIND_STR32 && cap > (size_t)INT32_MAX) return NB_NOMEM;
  old_bytes = c->values != NULL ? values_bytes(c, c->row_cap) : 0;
  new_bytes = values_bytes(c, cap);
  values = realloc(c->values, new_bytes);
  if (values == NULL) return NB_NOMEM;
  if (old_bytes == 0 && (c->kind == KIND_STR32 || c->kind == KIND_STR64))
    memset(values, 0, c->width); /* offsets[0] */
  if (c->kind == KIND_BITS) memset(values + old_bytes, 0, new_bytes - old_bytes);
  c->values = values;
  if (c->validity != NULL) {
    size_t old_bits = bitmap_bytes(c->row_cap), new_bits = bitmap_bytes(cap);
    uint8_t *v = realloc(c->validity, new_bits);
    if (v == NULL) return NB_NOMEM; /* values grew; row_cap stays: fine */
    memset(v + old_bits, 0xff, new_bits - old_bits);
    c->validity = v;
  }
  c->row_cap = cap;
  return NB_OK;
}

/* Make room for `more` string bytes. */
static int reserve_bytes(NbColumnBuilder *c, size_t more) {
  size_t limit = c->kind == KIND_STR32 ? (size_t)INT32_MAX : SIZE_MAX / 2;
  size_t need, cap;
  char *data;
  if (more > limit - c->data_len) return NB_NOMEM;
  need = c->data_len + more;
  if (need <= c->data_cap && c->data != NULL) return NB_OK;
  cap = c->data_cap > 0 ? c->data_cap : c->next_bytes;
  if (cap < 256) cap = 256;
  while (cap < need) cap = cap > limit / 2 ? limit : cap * 2;
  data = realloc(c->data, cap);
  if (data == NULL) return NB_NOMEM;
  c->data = data;
  c->data_cap = cap;
  return NB_OK;
}

/* The validity bitmap, allocated at the first null, holds a one for every
 * row that is not a null, appended or not yet: appending a value never
 * touches it, a null clears its bit, and nb_column_truncate sets the bits
 * of the rows it drops again. */
static int start_validity(NbColumnBuilder *c) {
  size_t bytes = bitmap_bytes(c->row_cap > 0 ? c->row_cap : 64);
  c->validity = malloc(bytes);
  if (c->validity == NULL) return NB_NOMEM;
  memset(c->validity, 0xff, bytes);
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Appending
 * ------------------------------------------------------------------------ */

static int append_utf8_slow(NbColumnBuilder *c, const char *data, size_t len) {
  int rc;
  if (c->kind != KIND_STR32 && c->kind != KIND_STR64) return NB_INVALID;
  if ((rc = reserve_rows(c, c->length + 1)) != NB_OK) return rc;
  if ((rc = reserve_bytes(c, len)) != NB_OK) return rc;
  if (len > 0) memcpy(c->data + c->data_len, data, len);
  c->data_len += len;
  if (c->kind == KIND_STR32)
    ((int32_t *)c->values)[c->length + 1] = (int32_t)c->data_len;
  else
    ((int64_t *)c->values)[c->length + 1] = (int64_t)c->data_len;
  c->length++;
  return NB_OK;
}

/* Always inlined: a call per value costs as much as the append itself. */
static inline __attribute__((always_inline)) int append_string(NbColumnBuilder *c,
                                                               const char *data,
                                                               size_t len) {
  /* Fast path: an int32-offset column with room for the row and the bytes.
   * data_cap never exceeds INT32_MAX for such columns, so the offset fits.
   * The validity bitmap, if any, already says "valid" (start_validity). */
  size_t row = c->length, used = c->data_len;
  if (c->kind == KIND_STR32 && row < c->row_cap && len <= c->data_cap - used) {
    nb_copy_exact(c->data + used, data, len);
    used += len;
    c->data_len = used;
    ((int32_t *)c->values)[row + 1] = (int32_t)used;
    c->length = row + 1;
    return NB_OK;
  }
  return append_utf8_slow(c, data, len);
}

int nb_column_append_utf8(NbColumnBuilder *c, const char *data, size_t len) {
  return append_string(c, data, len);
}

static int append_string_null(NbColumnBuilder *c) {
  if (c->kind != KIND_STR32 && c->kind != KIND_STR64) return NB_INVALID;
  return nb_column_append_null(c);
}

/* One row of string values (NULL data = null when nulls is set), all or
 * nothing. */
static inline __attribute__((always_inline)) int append_row(NbBatchBuilder *b,
                                                            const NbStringRef *values,
                                                            size_t n, bool nulls) {
  NbColumnBuilder *columns;
  if (b == NULL || n != b->n_columns || (n > 0 && values == NULL)) return NB_INVALID;
  columns = b->columns;
  for (size_t i = 0; i < n; i++) {
    int rc;
    if (nulls && values[i].data == NULL)
      rc = append_string_null(&columns[i]);
    else
      rc = append_string(&columns[i], values[i].data, values[i].len);
    if (rc != NB_OK) {
      /* Nothing of the row is kept. */
      while (i-- > 0) nb_column_truncate(&columns[i], columns[i].length - 1);
      return rc;
    }
  }
  return NB_OK;
}

int nb_batch_builder_append_strings(NbBatchBuilder *b, const NbStringRef *values, size_t n) {
  return append_row(b, values, n, false);
}

int nb_batch_builder_append_nullable_strings(NbBatchBuilder *b,
                                             const NbStringRef *values, size_t n) {
  return append_row(b, values, n, true);
}

/* Take back a block that failed at row r, column i (relative to first):
 * columns before i got r + 1 values of the block, the others r. */
static void drop_block(NbBatchBuilder *b, size_t first, size_t n_columns,
                       size_t r, size_t i) {
  for (size_t j = 0; j < n_columns; j++) {
    NbColumnBuilder *c = &b->columns[first + j];
    size_t got = j < i ? r + 1 : r;
    nb_column_truncate(c, c->length - got);
  }
}

int nb_append_strings(NbBatchBuilder *b, size_t first_column, size_t n_columns,
                      const NbStringRef *values, size_t n_rows) {
  if (b == NULL || first_column > b->n_columns ||
      n_columns > b->n_columns - first_column)
    return NB_INVALID;
  if (n_columns == 0 || n_rows == 0) return NB_OK;
  if (values == NULL || n_rows > SIZE_MAX / sizeof *values / n_columns)
    return NB_INVALID;
  /* The two shapes connectors use most keep their fast paths. */
  if (n_columns == 1)
    return nb_column_append_nullable_strings(&b->columns[first_column], values, n_rows);
  if (n_rows == 1 && first_column == 0 && n_columns == b->n_columns)
    return append_row(b, values, n_columns, true);
  for (size_t r = 0; r < n_rows; r++) {
    const NbStringRef *row = values + r * n_columns;
    for (size_t i = 0; i < n_columns; i++) {
      NbColumnBuilder *c = &b->columns[first_column + i];
      int rc = row[i].data == NULL ? append_string_null(c)
                                   : append_string(c, row[i].data, row[i].len);
      if (rc != NB_OK) {
        drop_block(b, first_column, n_columns, r, i);
        return rc;
      }
    }
  }
  return NB_OK;
}

/* nb_column_append_nullable_strings for a column without int32 offsets:
 * value by value. */
static int append_strings_slow(NbColumnBuilder *c, const NbStringRef *values,
                               size_t n) {
  size_t start = c->length;
  for (size_t i = 0; i < n; i++) {
    int rc = values[i].data != NULL ? append_utf8_slow(c, values[i].data, values[i].len)
                                    : append_string_null(c);
    if (rc != NB_OK) {
      nb_column_truncate(c, start);
      return rc;
    }
  }
  return NB_OK;
}

/* The loop keeps the column's state in locals: the value copies store
 * bytes, which could alias the builder's fields, so working on c->... would
 * reload every field after every value. */
int nb_column_append_nullable_strings(NbColumnBuilder *c, const NbStringRef *values,
                                      size_t n) {
  size_t start, row, used, cap;
  int32_t *offsets;
  char *data;
  int rc;
  if (c == NULL || (n > 0 && values == NULL)) return NB_INVALID;
  if (c->kind != KIND_STR32) return append_strings_slow(c, values, n);
  start = c->length;
  if (n > SIZE_MAX / 2 - start) return NB_NOMEM;
  if ((rc = reserve_rows(c, start + n)) != NB_OK) return rc;
  if (c->data == NULL && (rc = reserve_bytes(c, 0)) != NB_OK) return rc;
  offsets = (int32_t *)c->values;
  data = c->data;
  cap = c->data_cap;
  used = c->data_len;
  row = start;
  for (size_t i = 0; i < n; i++) {
    const char *src = values[i].data;
    size_t len = values[i].len;
    if (src == NULL) {
      if (c->validity == NULL && (rc = start_validity(c)) != NB_OK) goto fail;
      c->validity[row >> 3] &= (uint8_t)~(1u << (row & 7));
      c->null_count++;
      len = 0;
    } else if (len > cap - used) {
      c->data_len = used;
      if ((rc = reserve_bytes(c, len)) != NB_OK) goto fail;
      data = c->data;
      cap = c->data_cap;
    }
    nb_copy_exact(data + used, src, len);
    used += len;
    offsets[++row] = (int32_t)used;
  }
  c->data_len = used;
  c->length = row;
  return NB_OK;
fail:
  c->data_len = used;
  c->length = row;
  nb_column_truncate(c, start);
  return rc;
}

int nb_column_append_null(NbColumnBuilder *c) {
  size_t i = c->length;
  int rc;
  if ((rc = reserve_rows(c, i + 1)) != NB_OK) return rc;
  if (c->validity == NULL && (rc = start_validity(c)) != NB_OK) return rc;
  /* The utf8 fast path may memcpy into data: it must not be NULL. */
  if ((c->kind == KIND_STR32 || c->kind == KIND_STR64) &&
      (rc = reserve_bytes(c, 0)) != NB_OK)
    return rc;
  c->validity[i >> 3] &= (uint8_t)~(1u << (i & 7));
  switch (c->kind) {
    case KIND_STR32:
      ((int32_t *)c->values)[i + 1] = (int32_t)c->data_len;
      break;
    case KIND_STR64:
      ((int64_t *)c->values)[i + 1] = (int64_t)c->data_len;
      break;
    case KIND_BITS:
      c->values[i >> 3] &= (uint8_t)~(1u << (i & 7));
      break;
    case KIND_FIXED:
      memset(c->values + i * c->width, 0, c->width);
      break;
  }
  c->null_count++;
  c->length++;
  return NB_OK;
}

/* Append one fixed-width value of a column whose type is `type`. */
static int append_fixed(NbColumnBuilder *c, NbType type, const void *value) {
  int rc;
  if (c->field.type != type) return NB_INVALID;
  if (c->length >= c->row_cap && (rc = reserve_rows(c, c->length + 1)) != NB_OK)
    return rc;
  memcpy(c->values + c->length * c->width, value, c->width);
  c->length++;
  return NB_OK;
}

int nb_column_append_int64(NbColumnBuilder *c, int64_t value) {
  return append_fixed(c, NB_TYPE_INT64, &value);
}

int nb_column_append_double(NbColumnBuilder *c, double value) {
  return append_fixed(c, NB_TYPE_FLOAT64, &value);
}

int nb_column_append_date32(NbColumnBuilder *c, int32_t days) {
  return append_fixed(c, NB_TYPE_DATE32, &days);
}

int nb_column_append_timestamp(NbColumnBuilder *c, int64_t micros) {
  return append_fixed(c, NB_TYPE_TIMESTAMP, &micros);
}

int nb_column_append_decimal128(NbColumnBuilder *c, uint64_t low,
                                int64_t high) {
  /* Arrow stores decimal128 as a little-endian 128-bit integer. */
  unsigned char bytes[16];
  uint64_t h = (uint64_t)high;
  for (int i = 0; i < 8; i++) {
    bytes[i] = (unsigned char)(low >> (8 * i));
    bytes[8 + i] = (unsigned char)(h >> (8 * i));
  }
  return append_fixed(c, NB_TYPE_DECIMAL128, bytes);
}

int nb_column_append_bool(NbColumnBuilder *c, bool value) {
  size_t i = c->length;
  int rc;
  if (c->kind != KIND_BITS) return NB_INVALID;
  if (i >= c->row_cap && (rc = reserve_rows(c, i + 1)) != NB_OK) return rc;
  if (value)
    c->values[i >> 3] |= (uint8_t)(1u << (i & 7));
  else
    c->values[i >> 3] &= (uint8_t)~(1u << (i & 7));
  c->length++;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Builder lifetime
 * ------------------------------------------------------------------------ */

int nb_batch_builder_new(const NbField *fields, size_t n, size_t row_hint,
                         NbBatchBuilder **out, NbError *err) {
  NbBatchBuilder *b;
  if (out == NULL || (n > 0 && fields == NULL))
    return nb_error_set(err, NB_INVALID,
                        "nb_batch_builder_new: missing argument");
  *out = NULL;
  for (size_t i = 0; i < n; i++) {
    if (fields[i].type < NB_TYPE_UTF8 || fields[i].type > NB_TYPE_JSON)
      return nb_error_set(err, NB_INVALID,
                          "column \"%s\" has unrecognized type %d",
                          fields[i].name != NULL ? fields[i].name : "",
                          (int)fields[i].type);
  }
  b = calloc(1, sizeof *b);
  if (b == NULL) goto nomem;
  b->columns = calloc(n > 0 ? n : 1, sizeof *b->columns);
  if (b->columns == NULL) goto nomem;
  b->n_columns = n;
  for (size_t i = 0; i < n; i++) {
    NbColumnBuilder *c = &b->columns[i];
    c->field = fields[i];
    c->name_copy = strdup(fields[i].name != NULL ? fields[i].name : "");
    if (c->name_copy == NULL) goto nomem;
    c->field.name = c->name_copy;
    if (fields[i].timezone != NULL) {
      c->tz_copy = strdup(fields[i].timezone);
      if (c->tz_copy == NULL) goto nomem;
      c->field.timezone = c->tz_copy;
    }
    c->kind = kind_of(fields[i].type);
    c->width = c->kind == KIND_STR64 ? 8 : width_of(fields[i].type);
    c->next_rows = row_hint > 0 ? row_hint : 1024;
    c->next_bytes = c->kind == KIND_STR32 || c->kind == KIND_STR64
                        ? c->next_rows * 16
                        : 0;
    if (c->kind == KIND_STR32 && c->next_bytes > (size_t)INT32_MAX)
      c->next_bytes = (size_t)INT32_MAX;
  }
  *out = b;
  return NB_OK;
nomem:
  nb_batch_builder_free(b);
  return nb_error_set(err, NB_NOMEM, "out of memory creating a batch builder");
}

static void column_free_buffers(NbColumnBuilder *c) {
  free(c->validity);
  free(c->values);
  free(c->data);
  c->validity = NULL;
  c->values = NULL;
  c->data = NULL;
  c->row_cap = c->data_cap = 0;
}

void nb_batch_builder_free(NbBatchBuilder *b) {
  if (b == NULL) return;
  if (b->columns != NULL) {
    for (size_t i = 0; i < b->n_columns; i++) {
      column_free_buffers(&b->columns[i]);
      free(b->columns[i].name_copy);
      free(b->columns[i].tz_copy);
    }
  }
  free(b->columns);
  free(b);
}

NbColumnBuilder *nb_batch_builder_column(NbBatchBuilder *b, size_t i) {
  if (b == NULL || i >= b->n_columns) return NULL;
  return &b->columns[i];
}

size_t nb_batch_builder_columns(const NbBatchBuilder *b) {
  return b != NULL ? b->n_columns : 0;
}

size_t nb_batch_builder_rows(const NbBatchBuilder *b) {
  return b != NULL && b->n_columns > 0 ? b->columns[0].length : 0;
}

size_t nb_batch_builder_bytes(const NbBatchBuilder *b) {
  size_t total = 0;
  if (b == NULL) return 0;
  for (size_t i = 0; i < b->n_columns; i++) {
    const NbColumnBuilder *c = &b->columns[i];
    total += values_bytes(c, c->length) + c->data_len;
    if (c->validity != NULL) total += bitmap_bytes(c->length);
  }
  return total;
}

size_t nb_column_length(const NbColumnBuilder *c) {
  return c != NULL ? c->length : 0;
}

void nb_column_truncate(NbColumnBuilder *c, size_t length) {
  if (c == NULL || length >= c->length) return;
  if (c->validity != NULL) {
    /* The dropped rows are "valid" again for the values appended next. */
    for (size_t i = length; i < c->length && c->null_count > 0; i++) {
      if (!((c->validity[i >> 3] >> (i & 7)) & 1)) {
        c->null_count--;
        c->validity[i >> 3] |= (uint8_t)(1u << (i & 7));
      }
    }
  }
  if (c->kind == KIND_STR32)
    c->data_len = (size_t)((int32_t *)c->values)[length];
  else if (c->kind == KIND_STR64)
    c->data_len = (size_t)((int64_t *)c->values)[length];
  c->length = length;
}

void nb_batch_builder_reset(NbBatchBuilder *b) {
  if (b == NULL) return;
  for (size_t i = 0; i < b->n_columns; i++) nb_column_truncate(&b->columns[i], 0);
}

/* ------------------------------------------------------------------------
 * Export
 * ------------------------------------------------------------------------ */

/* What one exported column owns: its buffers (buffer_ptrs is the array
 * Arrow's buffers member points at). */
typedef struct ChildPrivate {
  void *owned[3];
  const void *buffer_ptrs[3];
} ChildPrivate;

/* What the exported struct owns: the child structs and the pointer array. */
typedef struct BatchPrivate {
  struct ArrowArray *child_nodes;
  struct ArrowArray **child_ptrs;
  int64_t n_children;
  const void *buffer_ptrs[1];
} BatchPrivate;

static void child_release(struct ArrowArray *a) {
  ChildPrivate *p;
  if (a == NULL || a->release == NULL) return;
  p = a->private_data;
  if (p != NULL) {
    for (int i = 0; i < 3; i++) free(p->owned[i]);
    free(p);
  }
  a->release = NULL;
}

static void batch_release(struct ArrowArray *a) {
  BatchPrivate *p;
  if (a == NULL || a->release == NULL) return;
  p = a->private_data;
  if (p != NULL) {
    NB_EXPORTED_CHILDREN_FREE(p->child_nodes, p->child_ptrs, p->n_children);
    free(p);
  }
  a->release = NULL;
}

/* Allocate the buffers an empty column exports: a zero offset for strings,
 * one byte otherwise, so no buffer pointer is NULL. */
static int ensure_buffers(NbColumnBuilder *c) {
  bool strings = c->kind == KIND_STR32 || c->kind == KIND_STR64;
  if (c->values == NULL) {
    c->values = calloc(1, strings ? c->width : 1);
    if (c->values == NULL) return NB_NOMEM;
  }
  if (strings && c->data == NULL) {
    c->data = malloc(1);
    if (c->data == NULL) return NB_NOMEM;
  }
  return NB_OK;
}

/* Move column c's buffers into *out; c is left empty, sized for the next
 * batch like this one. */
static int export_column(NbColumnBuilder *c, struct ArrowArray *out) {
  ChildPrivate *p = calloc(1, sizeof *p);
  int rc;
  if (p == NULL) return NB_NOMEM;
  /* A column never appended to still gets real buffers: some consumers
   * read offsets[0] of an empty string array. */
  if ((rc = ensure_buffers(c)) != NB_OK) {
    free(p);
    return rc;
  }
  memset(out, 0, sizeof *out);
  out->length = (int64_t)c->length;
  out->null_count = (int64_t)c->null_count;
  out->n_buffers = c->kind == KIND_STR32 || c->kind == KIND_STR64 ? 3 : 2;
  if (c->null_count > 0) {
    p->owned[0] = c->validity;
  } else {
    free(c->validity);
  }
  p->owned[1] = c->values;
  p->owned[2] = c->data;
  for (int i = 0; i < 3; i++) p->buffer_ptrs[i] = p->owned[i];
  out->buffers = p->buffer_ptrs;
  out->private_data = p;
  out->release = child_release;

  if (c->length > c->next_rows) c->next_rows = c->length;
  if (c->data_len > c->next_bytes) c->next_bytes = c->data_len;
  c->validity = NULL;
  c->values = NULL;
  c->data = NULL;
  c->row_cap = c->data_cap = 0;
  c->length = c->null_count = c->data_len = 0;
  return NB_OK;
}

int nb_batch_builder_finish(NbBatchBuilder *b, struct ArrowArray *out,
                            NbError *err) {
  BatchPrivate *p;
  size_t rows, n;
  if (b == NULL || out == NULL)
    return nb_error_set(err, NB_INVALID,
                        "nb_batch_builder_finish: missing argument");
  n = b->n_columns;
  rows = nb_batch_builder_rows(b);
  for (size_t i = 1; i < n; i++)
    if (b->columns[i].length != rows)
      return nb_error_set(err, NB_INTERNAL,
                          "column \"%s\" has %zu rows, column \"%s\" %zu",
                          b->columns[i].field.name, b->columns[i].length,
                          b->columns[0].field.name, rows);
  p = calloc(1, sizeof *p);
  if (p == NULL) goto nomem;
  p->child_nodes = calloc(n > 0 ? n : 1, sizeof *p->child_nodes);
  p->child_ptrs = calloc(n > 0 ? n : 1, sizeof *p->child_ptrs);
  if (p->child_nodes == NULL || p->child_ptrs == NULL) goto nomem;
  /* Export every column first; on failure nothing is moved out of the
   * builder except the columns already exported, which we free: the rows
   * are lost either way, and the caller learns it from NB_NOMEM. */
  for (size_t i = 0; i < n; i++) {
    if (export_column(&b->columns[i], &p->child_nodes[i]) != NB_OK) {
      for (size_t j = 0; j < i; j++) p->child_nodes[j].release(&p->child_nodes[j]);
      goto nomem;
    }
    p->child_ptrs[i] = &p->child_nodes[i];
  }
  p->n_children = (int64_t)n;
  memset(out, 0, sizeof *out);
  out->length = (int64_t)rows;
  out->null_count = 0;
  out->n_buffers = 1;
  out->buffers = p->buffer_ptrs;
  out->n_children = (int64_t)n;
  out->children = p->child_ptrs;
  out->private_data = p;
  out->release = batch_release;
  return NB_OK;
nomem:
  if (p != NULL) {
    free(p->child_nodes);
    free(p->child_ptrs);
    free(p);
  }
  return nb_error_set(err, NB_NOMEM, "out of memory finishing a batch");
}
