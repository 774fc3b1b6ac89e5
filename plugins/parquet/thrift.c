/*
 * thrift.c - Thrift compact protocol writer and hostile-input-safe reader
 * (see thrift.h).  Written from the compact protocol specification:
 * varints are ULEB128, signed integers zigzag-encoded, a field header is
 * one byte (id delta << 4 | type) or a type byte followed by the zigzag
 * i16 id, booleans live in the field header's type, a list header is one
 * byte (count << 4 | element type) or 0xF? followed by a varint count.
 */
#include "thrift.h"

#include <string.h>

/* ------------------------------------------------------------------------
 * Writer
 * ------------------------------------------------------------------------ */

void tw_init(TWriter *w, PqBuf *out) {
  memset(w, 0, sizeof *w);
  w->out = out;
  w->depth = -1;
}

void tw_varint(PqBuf *b, uint64_t v) {
  uint8_t t[10];
  size_t n = 0;
  while (v >= 0x80) {
    t[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  t[n++] = (uint8_t)v;
  pq_buf_put(b, t, n);
}

static uint64_t zigzag(int64_t v) {
  return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

void tw_struct_begin(TWriter *w) {
  if (w->depth + 1 >= TW_MAX_DEPTH) {
    w->out->failed = true;
    return;
  }
  w->last[++w->depth] = 0;
}

void tw_struct_end(TWriter *w) {
  pq_buf_byte(w->out, T_STOP);
  if (w->depth >= 0) w->depth--;
}

void tw_field(TWriter *w, int16_t id, uint8_t type) {
  int16_t *last = &w->last[w->depth < 0 ? 0 : w->depth];
  int delta = id - *last;
  if (delta > 0 && delta <= 15) {
    pq_buf_byte(w->out, (uint8_t)(delta << 4 | type));
  } else {
    pq_buf_byte(w->out, type);
    tw_varint(w->out, zigzag(id));
  }
  *last = id;
}

void tw_i32(TWriter *w, int16_t id, int32_t v) {
  tw_field(w, id, T_I32);
  tw_varint(w->out, zigzag(v));
}

void tw_i64(TWriter *w, int16_t id, int64_t v) {
  tw_field(w, id, T_I64);
  tw_varint(w->out, zigzag(v));
}

void tw_bool(TWriter *w, int16_t id, bool v) {
  tw_field(w, id, v ? T_TRUE : T_FALSE);
}

void tw_binary(TWriter *w, int16_t id, const void *p, size_t n) {
  tw_field(w, id, T_BINARY);
  tw_elem_binary(w, p, n);
}

void tw_struct_field(TWriter *w, int16_t id) {
  tw_field(w, id, T_STRUCT);
  tw_struct_begin(w);
}

void tw_empty_struct(TWriter *w, int16_t id) {
  tw_struct_field(w, id);
  tw_struct_end(w);
}

void tw_list(TWriter *w, int16_t id, uint8_t elem_type, uint32_t n) {
  tw_field(w, id, T_LIST);
  if (n < 15) {
    pq_buf_byte(w->out, (uint8_t)(n << 4 | elem_type));
  } else {
    pq_buf_byte(w->out, (uint8_t)(0xF0 | elem_type));
    tw_varint(w->out, n);
  }
}

void tw_elem_i32(TWriter *w, int32_t v) { tw_varint(w->out, zigzag(v)); }

void tw_elem_binary(TWriter *w, const void *p, size_t n) {
  tw_varint(w->out, n);
  pq_buf_put(w->out, p, n);
}

/* ------------------------------------------------------------------------
 * Reader
 * ------------------------------------------------------------------------ */

void tr_init(TReader *r, const void *data, size_t len) {
  memset(r, 0, sizeof *r);
  r->start = data;
  r->p = data;
  r->end = r->p + len;
}

bool tr_fail(TReader *r, const char *why) {
  if (r->error == NULL) {
    r->error = why;
    r->error_at = (size_t)(r->p - r->start);
  }
  r->p = r->end;
  return false;
}

static bool read_varint(TReader *r, uint64_t *v) {
  uint64_t out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (r->error != NULL) return false;
    if (r->p >= r->end) return tr_fail(r, "truncated varint");
    uint8_t b = *r->p++;
    out |= (uint64_t)(b & 0x7F) << shift;
    if ((b & 0x80) == 0) {
      *v = out;
      return true;
    }
  }
  return tr_fail(r, "varint longer than 10 bytes");
}

static bool read_zigzag(TReader *r, int64_t *v) {
  uint64_t u;
  if (!read_varint(r, &u)) return false;
  *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
  return true;
}

bool tr_field(TReader *r, int16_t *last, int16_t *id, uint8_t *type) {
  if (r->error != NULL) return false;
  if (r->p >= r->end) return tr_fail(r, "truncated struct (no stop byte)");
  uint8_t b = *r->p++;
  if (b == T_STOP) return false;
  *type = b & 0x0F;
  if (*type > T_STRUCT) return tr_fail(r, "unknown field type");
  if ((b >> 4) != 0) {
    int v = *last + (b >> 4);
    if (v > INT16_MAX) return tr_fail(r, "field id out of range");
    *id = (int16_t)v;
  } else {
    int64_t v;
    if (!read_zigzag(r, &v)) return false;
    if (v < INT16_MIN || v > INT16_MAX) return tr_fail(r, "field id out of range");
    *id = (int16_t)v;
  }
  *last = *id;
  return true;
}

/* One field by its table entry: the member is reached through char *, as
 * offsetof promises. */
static void read_spec_field(TReader *r, uint8_t ft, const TFieldSpec *f, void *out) {
  char *at = (char *)out + f->offset;
  switch (f->kind) {
    case TF_I32: tr_i32(r, ft, (int32_t *)(void *)at); break;
    case TF_I64: tr_i64(r, ft, (int64_t *)(void *)at); break;
    case TF_BOOL: tr_bool(r, ft, (bool *)(void *)at); break;
  }
}

bool tr_struct_fields(TReader *r, uint8_t type, const TFieldSpec *fields,
                      size_t n_fields, void *out) {
  int16_t last = 0, id;
  uint8_t ft;
  if (!tr_enter(r, type)) return false;
  while (tr_field(r, &last, &id, &ft)) {
    size_t i = 0;
    while (i < n_fields && fields[i].id != id) i++;
    if (i < n_fields) read_spec_field(r, ft, &fields[i], out);
    else tr_skip(r, ft);
  }
  tr_leave(r);
  return true;
}

bool tr_enter(TReader *r, uint8_t type) {
  if (r->error != NULL) return false;
  if (type != T_STRUCT) {
    tr_skip(r, type);
    return false;
  }
  if (r->depth >= TR_MAX_DEPTH) return tr_fail(r, "structures nested too deep");
  r->depth++;
  return true;
}

void tr_leave(TReader *r) {
  if (r->depth > 0) r->depth--;
}

static bool read_list_header(TReader *r, uint8_t *elem_type, uint32_t *n) {
  if (r->p >= r->end) return tr_fail(r, "truncated list header");
  uint8_t b = *r->p++;
  uint64_t count = b >> 4;
  *elem_type = b & 0x0F;
  if (count == 15 && !read_varint(r, &count)) return false;
  if (*elem_type > T_STRUCT || *elem_type == T_STOP)
    return tr_fail(r, "unknown list element type");
  /* Every element takes at least one byte (booleans too, in lists). */
  if (count > (uint64_t)(r->end - r->p)) return tr_fail(r, "list count larger than the bytes left");
  *n = (uint32_t)count;
  return true;
}

/* Skip one value of type (a list element when in_list: booleans then take
 * a byte of their own). */
static void skip_value(TReader *r, uint8_t type, bool in_list) {
  uint64_t u;
  if (r->error != NULL) return;
  switch (type) {
    case T_TRUE:
    case T_FALSE:
      if (in_list) {
        if (r->p >= r->end) tr_fail(r, "truncated boolean");
        else r->p++;
      }
      return;
    case T_BYTE:
      if (r->p >= r->end) tr_fail(r, "truncated byte");
      else r->p++;
      return;
    case T_I16:
    case T_I32:
    case T_I64:
      read_varint(r, &u);
      return;
    case T_DOUBLE:
      if (r->end - r->p < 8) tr_fail(r, "truncated double");
      else r->p += 8;
      return;
    case T_BINARY:
      if (!read_varint(r, &u)) return;
      if (u > (uint64_t)(r->end - r->p)) tr_fail(r, "binary length past the end");
      else r->p += u;
      return;
    case T_LIST:
    case T_SET: {
      uint8_t et;
      uint32_t n;
      if (r->depth >= TR_MAX_DEPTH) { tr_fail(r, "structures nested too deep"); return; }
      if (!read_list_header(r, &et, &n)) return;
      r->depth++;
      for (uint32_t i = 0; i < n && r->error == NULL; i++) skip_value(r, et, true);
      r->depth--;
      return;
    }
    case T_MAP: {
      uint64_t n;
      if (r->depth >= TR_MAX_DEPTH) { tr_fail(r, "structures nested too deep"); return; }
      if (!read_varint(r, &n)) return;
      if (n == 0) return;
      if (r->p >= r->end) { tr_fail(r, "truncated map header"); return; }
      uint8_t kv = *r->p++;
      if (n > (uint64_t)(r->end - r->p) / 2) { tr_fail(r, "map count larger than the bytes left"); return; }
      uint8_t kt = kv >> 4, vt = kv & 0x0F;
      if (kt == T_STOP || kt > T_STRUCT || vt == T_STOP || vt > T_STRUCT) {
        tr_fail(r, "unknown map element type");
        return;
      }
      r->depth++;
      for (uint64_t i = 0; i < n && r->error == NULL; i++) {
        skip_value(r, kt, true);
        skip_value(r, vt, true);
      }
      r->depth--;
      return;
    }
    case T_STRUCT: {
      int16_t last = 0, id;
      uint8_t ft;
      if (!tr_enter(r, T_STRUCT)) return;
      while (tr_field(r, &last, &id, &ft)) skip_value(r, ft, false);
      tr_leave(r);
      return;
    }
    default:
      tr_fail(r, "unknown type");
  }
}

void tr_skip(TReader *r, uint8_t type) { skip_value(r, type, false); }

bool tr_i32(TReader *r, uint8_t type, int32_t *v) {
  int64_t x;
  if (type != T_I32 && type != T_I16 && type != T_BYTE) {
    tr_skip(r, type);
    return false;
  }
  if (type == T_BYTE) {
    if (r->p >= r->end) return tr_fail(r, "truncated byte");
    *v = (int8_t)*r->p++;
    return true;
  }
  if (!read_zigzag(r, &x)) return false;
  if (x < INT32_MIN || x > INT32_MAX) return tr_fail(r, "i32 value out of range");
  *v = (int32_t)x;
  return true;
}

bool tr_i64(TReader *r, uint8_t type, int64_t *v) {
  if (type != T_I64 && type != T_I32) {
    tr_skip(r, type);
    return false;
  }
  return read_zigzag(r, v);
}

bool tr_bool(TReader *r, uint8_t type, bool *v) {
  if (type != T_TRUE && type != T_FALSE) {
    tr_skip(r, type);
    return false;
  }
  *v = type == T_TRUE;
  return r->error == NULL;
}

bool tr_elem_binary(TReader *r, uint8_t elem_type, const uint8_t **p, uint32_t *n) {
  uint64_t u;
  if (elem_type != T_BINARY) {
    skip_value(r, elem_type, true);
    return false;
  }
  if (!read_varint(r, &u)) return false;
  if (u > (uint64_t)(r->end - r->p)) return tr_fail(r, "binary length past the end");
  *p = r->p;
  *n = (uint32_t)u;
  r->p += u;
  return true;
}

bool tr_binary(TReader *r, uint8_t type, const uint8_t **p, uint32_t *n) {
  if (type != T_BINARY) {
    tr_skip(r, type);
    return false;
  }
  return tr_elem_binary(r, type, p, n);
}

bool tr_list(TReader *r, uint8_t type, uint8_t *elem_type, uint32_t *n) {
  if (type != T_LIST && type != T_SET) {
    tr_skip(r, type);
    return false;
  }
  return r->error == NULL && read_list_header(r, elem_type, n);
}

bool tr_elem_i32(TReader *r, uint8_t elem_type, int32_t *v) {
  if (elem_type != T_I32 && elem_type != T_I16) {
    skip_value(r, elem_type, true);
    return false;
  }
  return tr_i32(r, elem_type, v);
}
