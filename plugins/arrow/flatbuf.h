/*
 * flatbuf.h - a small, checked flatbuffers reader and a front-to-back
 * builder, enough for Arrow IPC's Message and Footer tables.
 *
 * Reader: every offset, vtable and vector is checked against the buffer
 * before it is followed; a field that does not fit reads as absent (the
 * accessors return false) so callers turn it into an error naming the
 * message.  Scalars are read with memcpy (no alignment assumed).
 *
 * Builder: tables are written before their children (uoffsets point
 * forward, vtables sit just before their table), so the builder needs no
 * back-to-front buffer: fb_table_end() returns the positions of the offset
 * slots, which fb_patch() fills once the child is written.  Positions are
 * aligned relative to the buffer start, which the caller places at an
 * 8-byte aligned file offset.
 */
#ifndef NEBULA_ARROW_FLATBUF_H
#define NEBULA_ARROW_FLATBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- reader ---- */
typedef struct FbBuf {
  const uint8_t *data;
  size_t len;
} FbBuf;

typedef struct FbTable {
  const uint8_t *data;     /* the whole buffer */
  size_t len;
  size_t pos;              /* table start */
  size_t vt;               /* vtable start */
  uint16_t vt_len;         /* vtable length in bytes */
  uint16_t table_len;      /* table length in bytes */
} FbTable;

typedef struct FbVector {
  const uint8_t *data;     /* the whole buffer */
  size_t len;
  size_t pos;              /* first element */
  uint32_t count;
} FbVector;

/* The root table of buf. */
bool fb_root(const uint8_t *data, size_t len, FbTable *out);
/* Scalars: the default when the field is absent; false when the field is
 * present but does not fit the table. */
bool fb_u8(const FbTable *t, int id, uint8_t def, uint8_t *out);
bool fb_i16(const FbTable *t, int id, int16_t def, int16_t *out);
bool fb_i32(const FbTable *t, int id, int32_t def, int32_t *out);
bool fb_i64(const FbTable *t, int id, int64_t def, int64_t *out);
/* Sub-objects: *present is false when the field is absent; the return is
 * false when it is present but broken. */
bool fb_table(const FbTable *t, int id, FbTable *out, bool *present);
bool fb_vector(const FbTable *t, int id, size_t elem_size, FbVector *out,
               bool *present);
bool fb_string(const FbTable *t, int id, const char **s, size_t *n,
               bool *present);
/* Element i of a vector of tables (elem_size 4 in fb_vector). */
bool fb_vector_table(const FbVector *v, uint32_t i, FbTable *out);
/* Element i of a vector of structs: a pointer to elem_size bytes. */
const uint8_t *fb_vector_struct(const FbVector *v, uint32_t i, size_t elem_size);

static inline int64_t fb_read_i64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) v = (v << 8) | p[i];
  return (int64_t)v;
}
static inline int32_t fb_read_i32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 |
                   (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

/* ---- builder ---- */
#define FB_MAX_FIELDS 16

typedef struct FbBuilder {
  uint8_t *data;
  size_t len;
  size_t cap;
  bool failed;             /* an allocation failed: the buffer is unusable */
  /* the table being built */
  int n_fields;
  struct FbField {
    int id;
    uint8_t size;          /* 1, 2, 4, 8; 4 with is_offset */
    bool is_offset;
    uint64_t value;
  } fields[FB_MAX_FIELDS];
  size_t slots[FB_MAX_FIELDS]; /* positions of offset slots, by id */
} FbBuilder;

void fb_builder_init(FbBuilder *b);
void fb_builder_reset(FbBuilder *b);   /* empty, keeps the memory */
void fb_builder_free(FbBuilder *b);
/* Reserves the root offset; call first. Returns its slot position. */
size_t fb_begin(FbBuilder *b);
void fb_table_start(FbBuilder *b);
void fb_add_scalar(FbBuilder *b, int id, uint8_t size, uint64_t value);
void fb_add_offset(FbBuilder *b, int id);
/* Writes vtable and table; returns the table position.  The slot of an
 * offset field id is then b->slots[id]. */
size_t fb_table_end(FbBuilder *b);
/* Point the uoffset slot at target (which must lie after it). */
void fb_patch(FbBuilder *b, size_t slot, size_t target);
/* A vector of count elements of elem_size bytes (aligned to align);
 * returns its position (the count).  data NULL leaves zeros (offsets to
 * patch: element i's slot is pos + 4 + 4 * i). */
size_t fb_vector_write(FbBuilder *b, size_t elem_size, size_t align,
                       uint32_t count, const void *data);
size_t fb_string_write(FbBuilder *b, const char *s, size_t n);
/* Pad the buffer's length to a multiple of align with zeros. */
void fb_pad(FbBuilder *b, size_t align);

#endif
