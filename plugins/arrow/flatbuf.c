/*
 * flatbuf.c - checked flatbuffers reader and front-to-back builder (see
 * flatbuf.h).  Written from the flatbuffers binary format: a buffer starts
 * with a uoffset to the root table; a table starts with an soffset to its
 * vtable (vtable = table - soffset); a vtable is uint16 vtable length,
 * uint16 table length, then one uint16 offset per field (0 = absent);
 * vectors and strings are a uint32 count followed by the elements (a
 * string also by a NUL).  All little-endian.
 */
#include "flatbuf.h"

#include <stdlib.h>
#include <string.h>

static uint32_t rd_u32(const uint8_t *p) { return (uint32_t)fb_read_i32(p); }
static uint16_t rd_u16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

/* A table at pos: its vtable must lie inside the buffer and describe a
 * table that does too. */
static bool table_at(const uint8_t *data, size_t len, size_t pos,
                     FbTable *out) {
  if (pos > len || len - pos < 4) return false;
  int64_t vt = (int64_t)pos - (int64_t)fb_read_i32(data + pos);
  if (vt < 0 || (uint64_t)vt > len || len - (size_t)vt < 4) return false;
  uint16_t vt_len = rd_u16(data + vt), table_len = rd_u16(data + vt + 2);
  if (vt_len < 4 || (vt_len & 1) || (size_t)vt_len > len - (size_t)vt)
    return false;
  if (table_len < 4 || (size_t)table_len > len - pos) return false;
  out->data = data;
  out->len = len;
  out->pos = pos;
  out->vt = (size_t)vt;
  out->vt_len = vt_len;
  out->table_len = table_len;
  return true;
}

bool fb_root(const uint8_t *data, size_t len, FbTable *out) {
  if (data == NULL || len < 8) return false;
  return table_at(data, len, rd_u32(data), out);
}

/* The offset of field id within the table, 0 when absent; *ok false when
 * the field's size bytes do not fit the table. */
static size_t field_off(const FbTable *t, int id, size_t size, bool *ok) {
  size_t slot = 4 + 2 * (size_t)id;
  *ok = true;
  if (id < 0 || slot + 2 > t->vt_len) return 0;
  size_t off = rd_u16(t->data + t->vt + slot);
  if (off == 0) return 0;
  if (off < 4 || off + size > t->table_len) {
    *ok = false;
    return 0;
  }
  return off;
}

#define SCALAR_GETTER(name, type, size)                                  \
  bool name(const FbTable *t, int id, type def, type *out) {             \
    bool ok;                                                             \
    size_t off = field_off(t, id, size, &ok);                            \
    *out = def;                                                          \
    if (!ok) return false;                                               \
    if (off != 0) {                                                      \
      uint64_t v = 0;                                                    \
      for (int i = (size) - 1; i >= 0; i--)                              \
        v = (v << 8) | t->data[t->pos + off + (size_t)i];                \
      *out = (type)v;                                                    \
    }                                                                    \
    return true;                                                         \
  }
SCALAR_GETTER(fb_u8, uint8_t, 1)
SCALAR_GETTER(fb_i16, int16_t, 2)
SCALAR_GETTER(fb_i32, int32_t, 4)
SCALAR_GETTER(fb_i64, int64_t, 8)

/* Follow the uoffset of field id: *target is where it points. */
static bool follow(const FbTable *t, int id, size_t *target, bool *present) {
  bool ok;
  size_t off = field_off(t, id, 4, &ok);
  *present = false;
  if (!ok) return false;
  if (off == 0) return true;
  size_t slot = t->pos + off;
  uint32_t rel = rd_u32(t->data + slot);
  if (rel == 0 || rel > t->len - slot) return false;
  *target = slot + rel;
  *present = true;
  return true;
}

bool fb_table(const FbTable *t, int id, FbTable *out, bool *present) {
  size_t target;
  if (!follow(t, id, &target, present)) return false;
  return !*present || table_at(t->data, t->len, target, out);
}

static bool vector_at(const uint8_t *data, size_t len, size_t pos,
                      size_t elem_size, FbVector *out) {
  if (pos > len || len - pos < 4) return false;
  uint32_t count = rd_u32(data + pos);
  if ((uint64_t)count * elem_size > len - pos - 4) return false;
  out->data = data;
  out->len = len;
  out->pos = pos + 4;
  out->count = count;
  return true;
}

bool fb_vector(const FbTable *t, int id, size_t elem_size, FbVector *out,
               bool *present) {
  size_t target;
  out->count = 0;
  if (!follow(t, id, &target, present)) return false;
  return !*present || vector_at(t->data, t->len, target, elem_size, out);
}

bool fb_string(const FbTable *t, int id, const char **s, size_t *n,
               bool *present) {
  FbVector v;
  *s = "";
  *n = 0;
  if (!fb_vector(t, id, 1, &v, present)) return false;
  if (!*present) return true;
  *s = (const char *)v.data + v.pos;
  *n = v.count;
  return true;
}

bool fb_vector_table(const FbVector *v, uint32_t i, FbTable *out) {
  if (i >= v->count) return false;
  size_t slot = v->pos + 4 * (size_t)i;
  uint32_t rel = rd_u32(v->data + slot);
  if (rel == 0 || rel > v->len - slot) return false;
  return table_at(v->data, v->len, slot + rel, out);
}

const uint8_t *fb_vector_struct(const FbVector *v, uint32_t i,
                                size_t elem_size) {
  if (i >= v->count) return NULL;
  return v->data + v->pos + elem_size * (size_t)i;
}

/* ------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------ */

void fb_builder_init(FbBuilder *b) { memset(b, 0, sizeof *b); }

void fb_builder_reset(FbBuilder *b) {
  b->len = 0;
  b->failed = false;
  b->n_fields = 0;
}

void fb_builder_free(FbBuilder *b) {
  free(b->data);
  fb_builder_init(b);
}

/* n more zeroed bytes at the end; returns their position. */
static size_t grow(FbBuilder *b, size_t n) {
  if (b->failed) return 0;
  if (b->cap - b->len < n) {
    size_t cap = b->cap ? b->cap : 512;
    while (cap - b->len < n) cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL) {
      b->failed = true;
      return 0;
    }
    b->data = p;
    b->cap = cap;
  }
  size_t pos = b->len;
  memset(b->data + pos, 0, n);
  b->len += n;
  return pos;
}

static void put_le(FbBuilder *b, size_t pos, uint64_t v, size_t size) {
  if (b->failed) return;
  for (size_t i = 0; i < size; i++) b->data[pos + i] = (uint8_t)(v >> (8 * i));
}

void fb_pad(FbBuilder *b, size_t align) {
  size_t rem = b->len % align;
  if (rem != 0) grow(b, align - rem);
}

size_t fb_begin(FbBuilder *b) {
  fb_builder_reset(b);
  return grow(b, 4);
}

void fb_table_start(FbBuilder *b) {
  b->n_fields = 0;
  memset(b->slots, 0, sizeof b->slots);
}

void fb_add_scalar(FbBuilder *b, int id, uint8_t size, uint64_t value) {
  if (b->n_fields >= FB_MAX_FIELDS || id >= FB_MAX_FIELDS) {
    b->failed = true;
    return;
  }
  struct FbField *f = &b->fields[b->n_fields++];
  f->id = id;
  f->size = size;
  f->is_offset = false;
  f->value = value;
}

void fb_add_offset(FbBuilder *b, int id) {
  fb_add_scalar(b, id, 4, 0);
  if (!b->failed) b->fields[b->n_fields - 1].is_offset = true;
}

size_t fb_table_end(FbBuilder *b) {
  int max_id = -1;
  size_t align = 4;
  for (int i = 0; i < b->n_fields; i++) {
    if (b->fields[i].id > max_id) max_id = b->fields[i].id;
    if (b->fields[i].size == 8) align = 8;
  }
  /* Inline layout: soffset, then fields by descending size (each aligned
   * absolutely since the table start is). */
  size_t offs[FB_MAX_FIELDS];
  size_t table_len = 4;
  for (size_t size = 8; size >= 1; size /= 2)
    for (int i = 0; i < b->n_fields; i++)
      if (b->fields[i].size == size) {
        table_len = (table_len + size - 1) / size * size;
        offs[i] = table_len;
        table_len += size;
      }
  size_t vt_len = 4 + 2 * (size_t)(max_id + 1);
  fb_pad(b, 2);
  size_t vt = grow(b, vt_len);
  fb_pad(b, align);
  size_t table = grow(b, (table_len + 3) / 4 * 4);
  if (b->failed) return 0;
  put_le(b, vt, vt_len, 2);
  put_le(b, vt + 2, (table_len + 3) / 4 * 4, 2);
  put_le(b, table, (uint64_t)(table - vt), 4);
  for (int i = 0; i < b->n_fields; i++) {
    const struct FbField *f = &b->fields[i];
    put_le(b, vt + 4 + 2 * (size_t)f->id, offs[i], 2);
    put_le(b, table + offs[i], f->value, f->size);
    if (f->is_offset) b->slots[f->id] = table + offs[i];
  }
  b->n_fields = 0;
  return table;
}

void fb_patch(FbBuilder *b, size_t slot, size_t target) {
  if (b->failed || target <= slot) {
    b->failed = true;
    return;
  }
  put_le(b, slot, (uint64_t)(target - slot), 4);
}

size_t fb_vector_write(FbBuilder *b, size_t elem_size, size_t align,
                       uint32_t count, const void *data) {
  if (align < 4) align = 4;
  while (!b->failed && (b->len + 4) % align != 0) grow(b, 1);
  size_t pos = grow(b, 4 + elem_size * count);
  if (b->failed) return 0;
  put_le(b, pos, count, 4);
  if (data != NULL && count > 0)
    memcpy(b->data + pos + 4, data, elem_size * count);
  return pos;
}

size_t fb_string_write(FbBuilder *b, const char *s, size_t n) {
  fb_pad(b, 4);
  size_t pos = grow(b, 4 + n + 1);
  if (b->failed) return 0;
  put_le(b, pos, (uint64_t)n, 4);
  if (n > 0) memcpy(b->data + pos + 4, s, n);
  return pos;
}
