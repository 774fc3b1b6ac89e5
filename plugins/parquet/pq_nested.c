/*
 * pq_nested.c - nested fields as JSON text (see pq_nested.h), written from
 * parquet-format's LogicalTypes.md ("Nested Types", backward-compatibility
 * rules for lists and maps) and the Dremel paper's record assembly.
 *
 * Every node knows its definition level (optional and repeated ancestors,
 * itself included) and repetition level.  All leaves under a node agree on
 * the levels of its ancestors, so the node's first leaf decides whether
 * an instance is null, an empty list, or present; a null or empty instance
 * takes exactly one level slot from every leaf under it.  Every cursor
 * access is bounds checked: lying levels are an error, never a read past
 * a leaf's slots, and every step takes at least one slot, so assembly ends.
 */
#include "pq_nested.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NONE ((size_t)-1)
#define MAX_DEPTH 64

typedef enum Kind { K_LEAF, K_STRUCT, K_LIST, K_MAP } Kind;

/* How the elements of a LIST's repeated group are found. */
typedef enum ElemMode { EL_SELF, EL_CHILD } ElemMode;

struct PqNode {
  const PqSchemaElem *e;
  Kind kind;
  bool repeated;
  uint8_t def, rep;        /* levels of this node, itself included */
  uint32_t leaf0;          /* first leaf, relative to the field */
  uint32_t n_leaves;
  size_t first_child, next_sibling;
  ElemMode elem;           /* K_LIST: its repeated child's elements */
};

/* ------------------------------------------------------------------------
 * The tree
 * ------------------------------------------------------------------------ */

typedef struct Builder {
  const PqSchemaElem *schema;
  uint32_t n_schema;
  PqNested *out;
  uint32_t leaves;
  const char *file, *field;
  NbError *err;
} Builder;

static int bad_schema(Builder *b, const char *why) {
  nb_error_set(b->err, NB_DATA, "Parquet file \"%s\": nested column \"%s\": %s", b->file, b->field, why);
  return NB_DATA;
}

static bool name_is(const PqSchemaElem *e, const char *s) {
  size_t n = strlen(s);
  return e->name_len == n && memcmp(e->name, s, n) == 0;
}

static bool name_is_tuple_of(const PqSchemaElem *e, const PqSchemaElem *parent) {
  return e->name_len == parent->name_len + 6 && memcmp(e->name, parent->name, parent->name_len) == 0 &&
         memcmp(e->name + parent->name_len, "_tuple", 6) == 0;
}

static int build_node(Builder *b, uint32_t *i, uint8_t def, uint8_t rep, int depth, size_t *index) {
  if (depth > MAX_DEPTH) return bad_schema(b, "nested deeper than 64 levels");
  if (*i >= b->n_schema) return bad_schema(b, "the schema's groups claim more elements than it has");
  const PqSchemaElem *e = &b->schema[(*i)++];
  size_t me = b->out->n_nodes++;
  PqNode *n = &b->out->nodes[me];
  n->e = e;
  n->repeated = e->repetition == PQ_REPEATED;
  n->def = (uint8_t)(def + (e->repetition != PQ_REQUIRED));
  n->rep = (uint8_t)(rep + n->repeated);
  n->leaf0 = b->leaves;
  n->first_child = n->next_sibling = NONE;
  *index = me;
  if (e->num_children <= 0) {
    if (e->type < 0) return bad_schema(b, "a group without fields");
    n->kind = K_LEAF;
    n->n_leaves = 1;
    b->leaves++;
    return NB_OK;
  }
  if ((uint32_t)e->num_children > b->n_schema - *i) return bad_schema(b, "a group claims more fields than the schema has");
  bool list = e->logical == PQ_LT_LIST || e->converted == PQ_CT_LIST;
  bool map = e->logical == PQ_LT_MAP || e->converted == PQ_CT_MAP || e->converted == PQ_CT_MAP_KV;
  n->kind = list ? K_LIST : map ? K_MAP : K_STRUCT;
  size_t prev = NONE;
  for (int32_t k = 0; k < e->num_children; k++) {
    size_t child;
    int rc = build_node(b, i, b->out->nodes[me].def, b->out->nodes[me].rep, depth + 1, &child);
    if (rc != NB_OK) return rc;
    if (prev == NONE) b->out->nodes[me].first_child = child;
    else b->out->nodes[prev].next_sibling = child;
    prev = child;
  }
  n = &b->out->nodes[me];
  n->n_leaves = b->leaves - n->leaf0;
  if (n->kind == K_STRUCT) return NB_OK;
  /* LIST and MAP: one repeated child (MAP_KEY_VALUE alone may mark it). */
  const PqNode *r = &b->out->nodes[n->first_child];
  if (e->num_children != 1 || !r->repeated) {
    if (n->kind == K_MAP && e->converted == PQ_CT_MAP_KV && n->repeated) {
      n->kind = K_STRUCT; /* a legacy key_value group itself: its parent is the MAP */
      return NB_OK;
    }
    return bad_schema(b, n->kind == K_LIST ? "a LIST group whose only field is not repeated"
                                           : "a MAP group whose only field is not a repeated key_value group");
  }
  if (n->kind == K_MAP) {
    if (r->kind == K_LEAF || r->e->num_children < 1 || r->e->num_children > 2)
      return bad_schema(b, "a MAP's key_value group has no key, or more than a key and a value");
    if (b->out->nodes[r->first_child].repeated || b->out->nodes[r->first_child].kind != K_LEAF)
      return bad_schema(b, "a MAP key that is not a single value");
    return NB_OK;
  }
  /* Backward-compatibility rules of LogicalTypes.md for lists. */
  if (r->kind == K_LEAF || r->e->num_children > 1 || name_is(r->e, "array") || name_is_tuple_of(r->e, e))
    n->elem = EL_SELF;
  else
    n->elem = EL_CHILD;
  return NB_OK;
}

static size_t subtree_size(const PqSchemaElem *schema, uint32_t n_schema, uint32_t i, int depth) {
  if (i >= n_schema || depth > MAX_DEPTH) return 1;
  size_t total = 1;
  uint32_t at = i + 1;
  for (int32_t k = 0; k < schema[i].num_children && at < n_schema; k++) {
    size_t sub = subtree_size(schema, n_schema, at, depth + 1);
    total += sub;
    at += (uint32_t)sub;
  }
  return total;
}

int pq_nested_build(const PqSchemaElem *schema, uint32_t n_schema, uint32_t *i, uint32_t first_leaf,
                    const char *file, const char *field, PqNested *out, NbError *err) {
  memset(out, 0, sizeof *out);
  size_t cap = subtree_size(schema, n_schema, *i, 1);
  if (cap > n_schema - *i) cap = n_schema - *i;
  if (cap == 0) cap = 1;
  out->nodes = calloc(cap, sizeof *out->nodes);
  if (out->nodes == NULL) return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of \"%s\"", file);
  Builder b = {schema, n_schema, out, 0, file, field, err};
  /* Nodes never outnumber the subtree's elements: build_node stops at a
   * claim past the schema, and the subtree was counted the same way. */
  uint32_t end = *i + (uint32_t)cap;
  Builder bb = b;
  bb.n_schema = end;
  size_t root;
  int rc = build_node(&bb, i, 0, 0, 1, &root);
  if (rc != NB_OK) return rc;
  out->first_leaf = first_leaf;
  out->n_leaves = bb.leaves;
  out->leaves = calloc(out->n_leaves, sizeof *out->leaves);
  out->cursor = calloc(out->n_leaves, sizeof *out->cursor);
  if (out->leaves == NULL || out->cursor == NULL)
    return nb_error_set(err, NB_NOMEM, "out of memory reading the schema of \"%s\"", file);
  return NB_OK;
}

const PqSchemaElem *pq_nested_leaf(const PqNested *n, uint32_t k, uint8_t *max_def, uint8_t *max_rep) {
  for (size_t j = 0; j < n->n_nodes; j++) {
    const PqNode *x = &n->nodes[j];
    if (x->kind == K_LEAF && x->leaf0 == k) {
      *max_def = x->def;
      *max_rep = x->rep;
      return x->e;
    }
  }
  return NULL;
}

/* ------------------------------------------------------------------------
 * Leaf values as JSON
 * ------------------------------------------------------------------------ */

typedef struct Asm {
  PqNested *n;
  PqBuf *out;
  const char *file, *field;
  uint32_t row_group;
  int64_t row;
  NbError *err;
} Asm;

static int asm_fail(Asm *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int asm_fail(Asm *a, const char *fmt, ...) {
  char why[256];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  nb_error_set(a->err, NB_DATA, "Parquet file \"%s\": row group %u, row %" PRId64 ", nested column \"%s\": %s", a->file,
               a->row_group, a->row, a->field, why);
  return NB_DATA;
}

static void put(Asm *a, const char *s) { pq_buf_put(a->out, s, strlen(s)); }

static void putf(Asm *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(Asm *a, const char *fmt, ...) {
  char t[96];
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t, sizeof t, fmt, ap);
  va_end(ap);
  if (k > 0) pq_buf_put(a->out, t, (size_t)k < sizeof t ? (size_t)k : sizeof t - 1);
}

/* A JSON string of UTF-8 bytes; anything that is not UTF-8 is an error. */
static int put_string(Asm *a, const uint8_t *p, size_t n) {
  pq_buf_byte(a->out, '"');
  for (size_t i = 0; i < n;) {
    uint8_t ch = p[i];
    if (ch < 0x80) {
      if (ch == '"' || ch == '\\') {
        pq_buf_byte(a->out, '\\');
        pq_buf_byte(a->out, ch);
      } else if (ch < 0x20) {
        putf(a, "\\u%04x", ch);
      } else {
        pq_buf_byte(a->out, ch);
      }
      i++;
      continue;
    }
    size_t len = ch >= 0xF0 && ch <= 0xF4 ? 4 : ch >= 0xE0 ? 3 : ch >= 0xC2 && ch < 0xE0 ? 2 : 0;
    if (len == 0 || len > n - i) return asm_fail(a, "a string value that is not UTF-8 at byte %zu", i);
    uint32_t cp = ch & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t k = 1; k < len; k++) {
      if ((p[i + k] & 0xC0) != 0x80) return asm_fail(a, "a string value that is not UTF-8 at byte %zu", i);
      cp = cp << 6 | (p[i + k] & 0x3F);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return asm_fail(a, "a string value that is not UTF-8 at byte %zu", i);
    pq_buf_put(a->out, p + i, len);
    i += len;
  }
  pq_buf_byte(a->out, '"');
  return NB_OK;
}

/* Shortest text that reads back as the same double (or float). */
static void put_real(Asm *a, double v, bool single) {
  if (isnan(v)) {
    put(a, "\"NaN\"");
    return;
  }
  if (isinf(v)) {
    put(a, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    return;
  }
  char t[40];
  for (int digits = single ? 6 : 15; digits <= 17; digits++) {
    snprintf(t, sizeof t, "%.*g", digits, v);
    if (single ? strtof(t, NULL) == (float)v : strtod(t, NULL) == v) break;
  }
  put(a, t);
  /* 512.0, not 512: the value stays a floating-point number in JSON. */
  if (strpbrk(t, ".e") == NULL) put(a, ".0");
}

/* Civil date of a day count since 1970-01-01 (proleptic Gregorian). */
static void civil(int64_t days, int64_t *y, unsigned *m, unsigned *d) {
  int64_t z = days + 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153;
  *d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
  *m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

static void put_date(Asm *a, int64_t days) {
  int64_t y;
  unsigned m, d;
  civil(days, &y, &m, &d);
  putf(a, "\"%04" PRId64 "-%02u-%02u\"", y, m, d);
}

static void put_timestamp(Asm *a, int64_t v, int64_t per_sec, int digits, bool utc) {
  int64_t sec = v / per_sec, frac = v % per_sec;
  if (frac < 0) {
    frac += per_sec;
    sec -= 1;
  }
  int64_t days = sec / 86400, tod = sec % 86400;
  if (tod < 0) {
    tod += 86400;
    days -= 1;
  }
  int64_t y;
  unsigned m, d;
  civil(days, &y, &m, &d);
  putf(a, "\"%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%0*" PRId64 "%s\"", y, m, d, (int)(tod / 3600), (int)(tod / 60 % 60),
       (int)(tod % 60), digits, frac, utc ? "Z" : "");
}

/* An exact decimal: the unscaled two's complement big-endian integer of n
 * bytes (at most 16 significant) with `scale` fraction digits. */
static int put_decimal_be(Asm *a, const uint8_t *p, size_t n, int32_t scale) {
  if (n == 0) return asm_fail(a, "an empty decimal");
  uint8_t sign = (p[0] & 0x80) ? 0xFF : 0;
  while (n > 16) {
    if (p[0] != sign) return asm_fail(a, "a decimal wider than 128 bits");
    p++;
    n--;
  }
  __extension__ unsigned __int128 u = sign ? ~(unsigned __int128)0 : 0;
  for (size_t i = 0; i < n; i++) u = u << 8 | p[i];
  bool neg = sign != 0;
  if (neg) u = ~u + 1;
  char digits[48];
  int k = 0;
  do {
    digits[k++] = (char)('0' + (int)(u % 10));
    u /= 10;
  } while (u != 0 && k < 45);
  if (scale < 0 || scale > 38) return asm_fail(a, "decimal scale %d", scale);
  while (k <= scale) digits[k++] = '0';
  if (neg) pq_buf_byte(a->out, '-');
  for (int i = k - 1; i >= 0; i--) {
    if (i == scale - 1) pq_buf_byte(a->out, '.');
    pq_buf_byte(a->out, (uint8_t)digits[i]);
  }
  return NB_OK;
}

static int put_decimal_int(Asm *a, int64_t v, int32_t scale) {
  uint8_t be[8];
  for (int i = 0; i < 8; i++) be[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
  return put_decimal_be(a, be, 8, scale);
}

static int64_t ts_per_sec(int unit) {
  return unit == PQ_UNIT_MILLIS ? 1000 : unit == PQ_UNIT_NANOS ? 1000000000 : 1000000;
}

static int put_leaf(Asm *a, const PqNode *x, const PqColData *d, size_t slot) {
  const PqSchemaElem *e = x->e;
  /* values.data is NULL while nothing was stored (only empty strings). */
  const uint8_t *p = d->width ? d->values.data + slot * d->width : NULL;
  bool dec = e->logical == PQ_LT_DECIMAL || e->converted == PQ_CT_DECIMAL;
  int32_t scale = e->logical == PQ_LT_DECIMAL ? e->lt_scale : e->scale;
  bool unsig = (e->logical == PQ_LT_INTEGER && !e->lt_signed) || e->converted == PQ_CT_UINT_8 ||
               e->converted == PQ_CT_UINT_16 || e->converted == PQ_CT_UINT_32 || e->converted == PQ_CT_UINT_64;
  int32_t i32;
  int64_t i64;
  float f;
  double g;
  switch (e->type) {
    case PQ_BOOLEAN: put(a, p[0] ? "true" : "false"); return NB_OK;
    case PQ_INT32:
      memcpy(&i32, p, 4);
      if (dec) return put_decimal_int(a, i32, scale);
      if (e->logical == PQ_LT_DATE || e->converted == PQ_CT_DATE) put_date(a, i32);
      else if (e->logical == PQ_LT_TIME || e->converted == PQ_CT_TIME_MILLIS) break;
      else if (unsig) putf(a, "%" PRIu32, (uint32_t)i32);
      else putf(a, "%" PRId32, i32);
      return NB_OK;
    case PQ_INT64:
      memcpy(&i64, p, 8);
      if (dec) return put_decimal_int(a, i64, scale);
      if (e->logical == PQ_LT_TIMESTAMP || e->converted == PQ_CT_TS_MILLIS || e->converted == PQ_CT_TS_MICROS) {
        int unit = e->logical == PQ_LT_TIMESTAMP ? e->lt_unit : e->converted == PQ_CT_TS_MILLIS ? PQ_UNIT_MILLIS : PQ_UNIT_MICROS;
        int64_t per = ts_per_sec(unit);
        put_timestamp(a, i64, per, per == 1000 ? 3 : per == 1000000 ? 6 : 9, e->logical == PQ_LT_TIMESTAMP ? e->lt_utc : true);
      } else if (e->logical == PQ_LT_TIME || e->converted == PQ_CT_TIME_MICROS) {
        break;
      } else if (unsig) {
        putf(a, "%" PRIu64, (uint64_t)i64);
      } else {
        putf(a, "%" PRId64, i64);
      }
      return NB_OK;
    case PQ_FLOAT: memcpy(&f, p, 4); put_real(a, f, true); return NB_OK;
    case PQ_DOUBLE: memcpy(&g, p, 8); put_real(a, g, false); return NB_OK;
    case PQ_BYTE_ARRAY: {
      size_t n = (size_t)(d->offsets[slot + 1] - d->offsets[slot]);
      const uint8_t *s = n ? d->values.data + d->offsets[slot] : NULL;
      if (dec) return put_decimal_be(a, s, n, scale);
      if (e->logical == PQ_LT_BSON || e->converted == PQ_CT_BSON) break;
      return put_string(a, s, n);
    }
    case PQ_FIXED:
      if (dec) return put_decimal_be(a, p, d->width, scale);
      if (e->logical == PQ_LT_UUID && d->width == 16) {
        static const char hex[] = "0123456789abcdef";
        pq_buf_byte(a->out, '"');
        for (int i = 0; i < 16; i++) {
          if (i == 4 || i == 6 || i == 8 || i == 10) pq_buf_byte(a->out, '-');
          pq_buf_byte(a->out, (uint8_t)hex[p[i] >> 4]);
          pq_buf_byte(a->out, (uint8_t)hex[p[i] & 15]);
        }
        pq_buf_byte(a->out, '"');
        return NB_OK;
      }
      break;
    default: break;
  }
  bool time = e->logical == PQ_LT_TIME || e->converted == PQ_CT_TIME_MILLIS || e->converted == PQ_CT_TIME_MICROS;
  asm_fail(a, "value of \"%.*s\", type %s (%s), inside a nested column: not supported", (int)e->name_len,
           (const char *)e->name, pq_type_name(e->type), time ? "TIME" : "this logical type");
  nb_error_hint(a->err, "Leave the column out with the \"columns\" setting.");
  return NB_DATA;
}

/* ------------------------------------------------------------------------
 * Record assembly
 * ------------------------------------------------------------------------ */

static int emit_field(Asm *a, size_t node, int depth);
static int emit_present(Asm *a, size_t node, int depth);

static int first_def(Asm *a, const PqNode *x, uint8_t *def) {
  uint32_t l = x->leaf0;
  if (a->n->cursor[l] >= a->n->leaves[l].n_rows) return asm_fail(a, "the levels of leaf %u end early", l);
  *def = a->n->leaves[l].def[a->n->cursor[l]];
  return NB_OK;
}

/* A null or empty instance of x takes one slot of every leaf under it. */
static int skip(Asm *a, const PqNode *x) {
  for (uint32_t l = x->leaf0; l < x->leaf0 + x->n_leaves; l++) {
    if (a->n->cursor[l] >= a->n->leaves[l].n_rows) return asm_fail(a, "the levels of leaf %u end early", l);
    a->n->cursor[l]++;
  }
  return NB_OK;
}

static bool continues(Asm *a, const PqNode *r) {
  uint32_t l = r->leaf0;
  size_t c = a->n->cursor[l];
  return c < a->n->leaves[l].n_rows && a->n->leaves[l].rep[c] == r->rep;
}

/* The JSON text of a map key, always a string. */
static int emit_key(Asm *a, size_t node, int depth) {
  size_t at = a->out->len;
  int rc = emit_field(a, node, depth);
  if (rc != NB_OK) return rc;
  if (a->out->failed || (a->out->len > at && a->out->data[at] == '"')) return NB_OK;
  size_t n = a->out->len - at;
  if (!pq_buf_reserve(a->out, 2)) return NB_OK;
  memmove(a->out->data + at + 1, a->out->data + at, n);
  a->out->data[at] = '"';
  a->out->len++;
  pq_buf_byte(a->out, '"');
  return NB_OK;
}

/* The instances of repeated node r: a JSON array (or object for a MAP's
 * key_value group), [] when the first leaf says the list is empty. */
static int emit_repeated(Asm *a, size_t r, bool elem_self, bool map, int depth) {
  const PqNode *x = &a->n->nodes[r];
  uint8_t d;
  int rc = first_def(a, x, &d);
  if (rc != NB_OK) return rc;
  if (d < x->def) {
    put(a, map ? "{}" : "[]");
    return skip(a, x);
  }
  pq_buf_byte(a->out, map ? '{' : '[');
  for (bool first = true;; first = false) {
    if (!first) pq_buf_byte(a->out, ',');
    if (map) {
      size_t key = x->first_child, value = a->n->nodes[key].next_sibling;
      rc = emit_key(a, key, depth + 1);
      pq_buf_byte(a->out, ':');
      if (rc == NB_OK && value != NONE) rc = emit_field(a, value, depth + 1);
      else if (rc == NB_OK) put(a, "null");
    } else if (elem_self) {
      rc = emit_present(a, r, depth + 1);
    } else {
      rc = emit_field(a, x->first_child, depth + 1);
    }
    if (rc != NB_OK) return rc;
    if (!continues(a, x)) break;
  }
  pq_buf_byte(a->out, map ? '}' : ']');
  return NB_OK;
}

/* An instance of x known to be defined (not null at x's own level). */
static int emit_present(Asm *a, size_t node, int depth) {
  const PqNode *x = &a->n->nodes[node];
  if (depth > 2 * MAX_DEPTH + 2) return asm_fail(a, "nested too deeply");
  switch (x->kind) {
    case K_LEAF: {
      uint32_t l = x->leaf0;
      const PqColData *d = &a->n->leaves[l];
      size_t slot = a->n->cursor[l];
      if (slot >= d->n_rows) return asm_fail(a, "the levels of leaf %u end early", l);
      if (d->def[slot] != x->def) return asm_fail(a, "definition level %u of leaf %u where a value is expected", d->def[slot], l);
      int rc = put_leaf(a, x, d, slot);
      a->n->cursor[l]++;
      return rc;
    }
    case K_STRUCT: {
      pq_buf_byte(a->out, '{');
      for (size_t c = x->first_child; c != NONE; c = a->n->nodes[c].next_sibling) {
        const PqSchemaElem *e = a->n->nodes[c].e;
        if (c != x->first_child) pq_buf_byte(a->out, ',');
        int rc = put_string(a, e->name, e->name_len);
        if (rc != NB_OK) return rc;
        pq_buf_byte(a->out, ':');
        rc = emit_field(a, c, depth + 1);
        if (rc != NB_OK) return rc;
      }
      pq_buf_byte(a->out, '}');
      return NB_OK;
    }
    case K_LIST: return emit_repeated(a, x->first_child, x->elem == EL_SELF, false, depth + 1);
    case K_MAP: return emit_repeated(a, x->first_child, false, true, depth + 1);
  }
  return NB_INTERNAL;
}

/* A field as its parent sees it: an array when repeated, null when its own
 * definition level is not reached, else its value. */
static int emit_field(Asm *a, size_t node, int depth) {
  const PqNode *x = &a->n->nodes[node];
  if (x->repeated) return emit_repeated(a, node, true, false, depth + 1);
  uint8_t d;
  int rc = first_def(a, x, &d);
  if (rc != NB_OK) return rc;
  if (d < x->def) {
    put(a, "null");
    return skip(a, x);
  }
  return emit_present(a, node, depth + 1);
}

void pq_nested_rewind(PqNested *n) {
  for (uint32_t l = 0; l < n->n_leaves; l++) n->cursor[l] = 0;
  n->next_row = 0;
}

static int assemble_one(Asm *a, bool *is_null) {
  PqNested *n = a->n;
  for (uint32_t l = 0; l < n->n_leaves; l++) {
    size_t c = n->cursor[l];
    if (c >= n->leaves[l].n_rows) return asm_fail(a, "leaf %u has fewer records than the row group's rows", l);
    if (n->leaves[l].rep[c] != 0) return asm_fail(a, "leaf %u starts a record with repetition level %u", l, n->leaves[l].rep[c]);
  }
  n->json.len = 0;
  n->json.failed = false;
  int rc = emit_field(a, 0, 0);
  if (rc != NB_OK) return rc;
  if (n->json.failed) return nb_error_set(a->err, NB_NOMEM, "out of memory assembling nested column \"%s\"", a->field);
  *is_null = n->json.len == 4 && memcmp(n->json.data, "null", 4) == 0;
  for (uint32_t l = 0; l < n->n_leaves; l++) {
    size_t c = n->cursor[l];
    if (c < n->leaves[l].n_rows && n->leaves[l].rep[c] != 0)
      return asm_fail(a, "leaf %u has repetition level %u, deeper than its lists allow", l, n->leaves[l].rep[c]);
  }
  n->next_row++;
  return NB_OK;
}

int pq_nested_row(PqNested *n, int64_t row, bool *is_null, const char *file, uint32_t row_group, const char *field,
                  NbError *err) {
  Asm a = {n, &n->json, file, field, row_group, row, err};
  if (row < n->next_row) pq_nested_rewind(n);
  while (n->next_row <= row) {
    a.row = n->next_row;
    int rc = assemble_one(&a, is_null);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

int pq_nested_check_end(const PqNested *n, const char *file, uint32_t row_group, const char *field, NbError *err) {
  for (uint32_t l = 0; l < n->n_leaves; l++)
    if (n->cursor[l] != n->leaves[l].n_rows)
      return nb_error_set(err, NB_DATA, "Parquet file \"%s\": row group %u, nested column \"%s\": leaf %u has %zu level slots, its rows use %zu",
                          file, row_group, field, l, n->leaves[l].n_rows, n->cursor[l]);
  return NB_OK;
}

void pq_nested_free_leaves(PqNested *n) {
  for (uint32_t l = 0; l < n->n_leaves && n->leaves != NULL; l++) pq_col_data_free(&n->leaves[l]);
  if (n->cursor != NULL) pq_nested_rewind(n);
}

void pq_nested_free(PqNested *n) {
  pq_nested_free_leaves(n);
  free(n->leaves);
  free(n->cursor);
  free(n->nodes);
  pq_buf_free(&n->json);
  memset(n, 0, sizeof *n);
}
