/*
 * batch_check.c - checking a source's batch against its schema before the
 * host reads it (see batch_check.h for the rules and what cannot be
 * checked).
 *
 * The walk is recursive over children and dictionaries; every node first
 * has its format parsed into a layout (buffers, children, element width),
 * then its structure checked, then the one pass over its offsets, validity
 * bitmap or dictionary indices.  Nothing is allocated; the column path for
 * messages is kept in a fixed buffer on the stack.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch_check.h"
#include "nebula/abi.h"

/* What a format means for the buffers and children of an array. */
typedef enum Kind {
  KIND_NULL,        /* "n": no buffers */
  KIND_BOOL,        /* "b": validity, bit-packed values */
  KIND_FIXED,       /* validity, values of `width` bytes */
  KIND_BINARY,      /* "u" "z": validity, int32 offsets, data */
  KIND_LARGE_BINARY,/* "U" "Z": validity, int64 offsets, data */
  KIND_LIST,        /* "+l": validity, int32 offsets; one child */
  KIND_LARGE_LIST,  /* "+L": validity, int64 offsets; one child */
  KIND_FIXED_LIST,  /* "+w:N": validity; one child of N values per row */
  KIND_STRUCT,      /* "+s": validity; any number of children */
  KIND_MAP          /* "+m": as "+l", the child a struct of key, value */
} Kind;

typedef struct Layout {
  Kind kind;
  int64_t width;       /* KIND_FIXED: bytes per value; KIND_FIXED_LIST: N */
  bool integer;        /* a signed or unsigned integer (dictionary index) */
  bool is_unsigned;    /* an unsigned integer ("C" "S" "I" "L") */
} Layout;

typedef struct Check {
  char *msg;
  size_t cap;
  char path[512];      /* column path of the node being checked */
  size_t path_len;
} Check;

/* ------------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------------ */

static int fail(Check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(Check *c, const char *fmt, ...) {
  char reason[384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(reason, sizeof reason, fmt, ap);
  va_end(ap);
  if (c->msg == NULL || c->cap == 0) return NB_INVALID;
  if (c->path_len == 0)
    snprintf(c->msg, c->cap, "the batch: %s", reason);
  else
    snprintf(c->msg, c->cap, "column \"%s\": %s", c->path, reason);
  return NB_INVALID;
}

/* Append text to the path, printable ASCII only (a connector's column
 * name must not reach the terminal with escape sequences) and at most 64
 * bytes of each name.  Returns the old length, for path_pop. */
static size_t path_push(Check *c, const char *sep, const char *name) {
  size_t old = c->path_len, room = sizeof c->path - 1, taken = 0;
  char *p = c->path;
  size_t n = c->path_len;
  if (n > 0 && sep != NULL)
    for (; *sep != '\0' && n < room; sep++) p[n++] = *sep;
  for (; name != NULL && *name != '\0' && n + 4 < room; name++, taken++) {
    unsigned char ch = (unsigned char)*name;
    if (taken == 64) {
      memcpy(p + n, "...", 3);
      n += 3;
      break;
    }
    if (ch >= 0x20 && ch < 0x7f && ch != '"' && ch != '\\') {
      p[n++] = (char)ch;
    } else {
      snprintf(p + n, 5, "\\x%02x", ch);
      n += 4;
    }
  }
  p[n] = '\0';
  c->path_len = n;
  return old;
}

static void path_pop(Check *c, size_t old) {
  c->path_len = old;
  c->path[old] = '\0';
}

/* ------------------------------------------------------------------------
 * Formats
 * ------------------------------------------------------------------------ */

/* A decimal number of at most 9 digits ending at *end; -1 if none. */
static int64_t small_number(const char *s, const char **end) {
  int64_t v = 0;
  int digits = 0;
  while (*s >= '0' && *s <= '9' && digits < 10) {
    v = v * 10 + (*s - '0');
    s++;
    digits++;
  }
  *end = s;
  return digits == 0 || digits > 9 ? -1 : v;
}

/* "d:P,S" or "d:P,S,BITS": width from BITS (32, 64, 128 or 256). */
static bool parse_decimal(const char *f, Layout *l) {
  const char *p;
  int64_t precision = small_number(f + 2, &p), scale, bits = 128;
  if (precision <= 0 || *p != ',') return false;
  if (p[1] == '-') p++;
  scale = small_number(p + 1, &p);
  if (scale < 0) return false;
  if (*p == ',') {
    bits = small_number(p + 1, &p);
    if (bits != 32 && bits != 64 && bits != 128 && bits != 256) return false;
  }
  if (*p != '\0') return false;
  l->kind = KIND_FIXED;
  l->width = bits / 8;
  return true;
}

/* "w:N" and "+w:N": N > 0. */
static bool parse_size(const char *s, int64_t *n) {
  const char *end;
  *n = small_number(s, &end);
  return *n > 0 && *end == '\0';
}

/* Temporal formats ("t..."): their value width, 0 if not one. */
static int64_t temporal_width(const char *f) {
  static const struct { const char *format; int64_t width; } exact[] = {
      {"tdD", 4}, {"tdm", 8}, {"tts", 4}, {"ttm", 4}, {"ttu", 8}, {"ttn", 8},
      {"tDs", 8}, {"tDm", 8}, {"tDu", 8}, {"tDn", 8}, {"tiM", 4}, {"tiD", 8},
      {"tin", 16}};
  size_t i;
  for (i = 0; i < sizeof exact / sizeof exact[0]; i++)
    if (strcmp(f, exact[i].format) == 0) return exact[i].width;
  /* Timestamps: "ts" unit ':' timezone (any text, possibly empty). */
  if (f[1] == 's' && f[2] != '\0' && strchr("smun", f[2]) != NULL && f[3] == ':')
    return 8;
  return 0;
}

static bool parse_format(const char *f, Layout *l) {
  memset(l, 0, sizeof *l);
  if (f[0] != '\0' && f[1] == '\0') {
    switch (f[0]) {
      case 'n': l->kind = KIND_NULL; return true;
      case 'b': l->kind = KIND_BOOL; return true;
      case 'c': case 'C': l->integer = true; l->width = 1; break;
      case 's': case 'S': l->integer = true; l->width = 2; break;
      case 'i': case 'I': l->integer = true; l->width = 4; break;
      case 'l': case 'L': l->integer = true; l->width = 8; break;
      case 'e': l->width = 2; break;
      case 'f': l->width = 4; break;
      case 'g': l->width = 8; break;
      case 'u': case 'z': l->kind = KIND_BINARY; return true;
      case 'U': case 'Z': l->kind = KIND_LARGE_BINARY; return true;
      default: return false;
    }
    l->kind = KIND_FIXED;
    l->is_unsigned = l->integer && f[0] >= 'A' && f[0] <= 'Z';
    return true;
  }
  if (f[0] == 'd' && f[1] == ':') return parse_decimal(f, l);
  if (f[0] == 'w' && f[1] == ':') {
    l->kind = KIND_FIXED;
    return parse_size(f + 2, &l->width);
  }
  if (f[0] == 't') {
    l->kind = KIND_FIXED;
    l->width = temporal_width(f);
    return l->width > 0;
  }
  if (strcmp(f, "+l") == 0) { l->kind = KIND_LIST; return true; }
  if (strcmp(f, "+L") == 0) { l->kind = KIND_LARGE_LIST; return true; }
  if (strcmp(f, "+s") == 0) { l->kind = KIND_STRUCT; return true; }
  if (strcmp(f, "+m") == 0) { l->kind = KIND_MAP; return true; }
  if (f[0] == '+' && f[1] == 'w' && f[2] == ':') {
    l->kind = KIND_FIXED_LIST;
    return parse_size(f + 3, &l->width);
  }
  return false;
}

static int64_t buffers_of(Kind k) {
  switch (k) {
    case KIND_NULL: return 0;
    case KIND_FIXED_LIST: case KIND_STRUCT: return 1;
    case KIND_BINARY: case KIND_LARGE_BINARY: return 3;
    default: return 2;
  }
}

/* Children a format needs; -1 for any number (struct). */
static int64_t children_of(Kind k) {
  switch (k) {
    case KIND_LIST: case KIND_LARGE_LIST: case KIND_FIXED_LIST: case KIND_MAP: return 1;
    case KIND_STRUCT: return -1;
    default: return 0;
  }
}

/* ------------------------------------------------------------------------
 * Buffers
 * ------------------------------------------------------------------------ */

static bool aligned(const void *p, int64_t width) {
  uintptr_t a = (uintptr_t)(width >= 8 ? 8 : width >= 4 ? 4 : width >= 2 ? 2 : 1);
  return ((uintptr_t)p & (a - 1)) == 0;
}

/* Set bits of bitmap in [start, start + n). */
static int64_t count_set(const uint8_t *bits, int64_t start, int64_t n) {
  int64_t i = start, end = start + n, set = 0;
  for (; i < end && (i & 7) != 0; i++) set += (bits[i >> 3] >> (i & 7)) & 1;
  for (; end - i >= 64; i += 64) {
    uint64_t word;
    memcpy(&word, bits + (i >> 3), 8);
    set += __builtin_popcountll(word);
  }
  for (; i < end; i++) set += (bits[i >> 3] >> (i & 7)) & 1;
  return set;
}

/* The first i in (from, to] with o[i] < o[i - 1], or -1: the hot part of
 * the check.  Blocks of 8 are compared without a branch each (the compiler
 * unrolls and vectorizes them); the block with a decrease, if any, is
 * searched one by one.  o is aligned (checked before). */
#define FIRST_DECREASE(name, T)                                           \
  static int64_t name(const T *o, int64_t from, int64_t to) {             \
    int64_t i = from + 1;                                                 \
    for (; i + 8 <= to + 1; i += 8) {                                     \
      int bad = 0;                                                        \
      for (int k = 0; k < 8; k++) bad |= o[i + k] < o[i + k - 1];         \
      if (bad) break;                                                     \
    }                                                                     \
    for (; i <= to; i++)                                                  \
      if (o[i] < o[i - 1]) return i;                                      \
    return -1;                                                            \
  }
FIRST_DECREASE(first_decrease32, int32_t)
FIRST_DECREASE(first_decrease64, int64_t)

/* Offsets from a->offset to a->offset + a->length: the first >= 0, none
 * decreasing.  *first and *last get the two ends. */
static int check_offsets(Check *c, const struct ArrowArray *a, bool wide,
                         int64_t *first, int64_t *last) {
  const void *o = a->buffers[1];
  int64_t bad, end = a->offset + a->length;
  *first = *last = 0;
  if (o == NULL) {
    if (a->length == 0) return NB_OK;
    return fail(c, "the offsets buffer is NULL but the array has %" PRId64 " rows",
                a->length);
  }
  if (!aligned(o, wide ? 8 : 4))
    return fail(c, "the offsets buffer is not aligned to %d bytes", wide ? 8 : 4);
  if (wide) {
    const int64_t *w = o;
    *first = w[a->offset];
    *last = w[end];
    bad = first_decrease64(w, a->offset, end);
    if (bad >= 0) *last = w[bad], *first = w[bad - 1];
  } else {
    const int32_t *n = o;
    *first = n[a->offset];
    *last = n[end];
    bad = first_decrease32(n, a->offset, end);
    if (bad >= 0) *last = n[bad], *first = n[bad - 1];
  }
  if (bad >= 0)
    return fail(c, "offsets decrease at row %" PRId64 " (%" PRId64 " after %" PRId64 ")",
                bad - 1 - a->offset, *last, *first);
  if (*first < 0) return fail(c, "the first offset is negative (%" PRId64 ")", *first);
  return NB_OK;
}

static int check_validity(Check *c, const struct ArrowArray *a, bool top) {
  const uint8_t *bits = a->buffers[0];
  int64_t nulls;
  if (bits == NULL) {
    if (a->null_count > 0)
      return fail(c, "null_count is %" PRId64 " but there is no validity bitmap",
                  a->null_count);
    return NB_OK;
  }
  nulls = a->length - count_set(bits, a->offset, a->length);
  if (a->null_count >= 0 && nulls != a->null_count)
    return fail(c, "null_count is %" PRId64 " but the validity bitmap has %" PRId64 " nulls",
                a->null_count, nulls);
  if (top && nulls > 0)
    return fail(c, "%" PRId64 " rows are null (a batch's rows cannot be null, only its values)",
                nulls);
  return NB_OK;
}

/* The dictionary index at slot i, widened; an unsigned 64-bit index past
 * INT64_MAX comes out as -1 (outside any dictionary either way). */
static int64_t index_at(const uint8_t *values, const Layout *l, int64_t i) {
  switch (l->width) {
    case 1:
      return l->is_unsigned ? (int64_t)values[i] : (int64_t)(int8_t)values[i];
    case 2: {
      uint16_t x;
      memcpy(&x, values + 2 * i, 2);
      return l->is_unsigned ? (int64_t)x : (int64_t)(int16_t)x;
    }
    case 4: {
      uint32_t x;
      memcpy(&x, values + 4 * i, 4);
      return l->is_unsigned ? (int64_t)x : (int64_t)(int32_t)x;
    }
    default: {
      uint64_t x;
      memcpy(&x, values + 8 * i, 8);
      return l->is_unsigned && x > (uint64_t)INT64_MAX ? -1 : (int64_t)x;
    }
  }
}

/* Dictionary indices of every non-null row within [0, size). */
static int check_indices(Check *c, const struct ArrowArray *a, const Layout *l,
                         int64_t size) {
  const uint8_t *values = a->buffers[1], *bits = a->buffers[0];
  int64_t i, end = a->offset + a->length;
  for (i = a->offset; i < end; i++) {
    int64_t v;
    if (bits != NULL && !((bits[i >> 3] >> (i & 7)) & 1)) continue;
    v = index_at(values, l, i);
    if (v < 0 || v >= size)
      return fail(c, "dictionary index %" PRId64 " at row %" PRId64
                     " is outside the dictionary of %" PRId64 " values",
                  v, i - a->offset, size);
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The walk
 * ------------------------------------------------------------------------ */

static int check_node(Check *c, const struct ArrowSchema *s,
                      const struct ArrowArray *a, int64_t min_rows, int depth);

/* The structs themselves: released, format, counts, pointers. */
static int check_shape(Check *c, const struct ArrowSchema *s,
                       const struct ArrowArray *a, Layout *l, int depth) {
  int64_t want_children;
  if (depth > NBH_BATCH_CHECK_MAX_DEPTH)
    return fail(c, "nested more than %d levels deep", NBH_BATCH_CHECK_MAX_DEPTH);
  if (s->release == NULL) return fail(c, "the schema is released");
  if (a->release == NULL) return fail(c, "the array is released");
  if (s->format == NULL) return fail(c, "the schema has no format");
  if (!parse_format(s->format, l)) {
    char shown[40];
    size_t n = strnlen(s->format, sizeof shown - 4);
    memcpy(shown, s->format, n);
    strcpy(shown + n, s->format[n] != '\0' ? "..." : "");
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)shown[i] < 0x20 || (unsigned char)shown[i] >= 0x7f) shown[i] = '?';
    return fail(c, "Arrow format \"%s\" is not supported by nebula-host", shown);
  }
  if (a->length < 0) return fail(c, "length is negative (%" PRId64 ")", a->length);
  if (a->offset < 0) return fail(c, "offset is negative (%" PRId64 ")", a->offset);
  if (a->length > INT64_MAX - a->offset - 1)
    return fail(c, "offset %" PRId64 " + length %" PRId64 " overflows", a->offset, a->length);
  if (a->null_count < -1 || a->null_count > a->length)
    return fail(c, "null_count %" PRId64 " is out of range for length %" PRId64,
                a->null_count, a->length);
  if (a->n_buffers != buffers_of(l->kind))
    return fail(c, "format \"%s\" needs %" PRId64 " buffers, the array has %" PRId64,
                s->format, buffers_of(l->kind), a->n_buffers);
  if (a->n_buffers > 0 && a->buffers == NULL) return fail(c, "the buffers array is NULL");
  if (s->n_children < 0 || (s->n_children > 0 && s->children == NULL))
    return fail(c, "the schema has %" PRId64 " children but no children array", s->n_children);
  want_children = children_of(l->kind);
  if (want_children >= 0 && s->n_children != want_children)
    return fail(c, "format \"%s\" needs %" PRId64 " children, the schema has %" PRId64,
                s->format, want_children, s->n_children);
  if (a->n_children != s->n_children)
    return fail(c, "the array has %" PRId64 " children, the schema %" PRId64,
                a->n_children, s->n_children);
  if (a->n_children > 0 && a->children == NULL)
    return fail(c, "the array has %" PRId64 " children but no children array", a->n_children);
  if ((s->dictionary == NULL) != (a->dictionary == NULL))
    return fail(c, s->dictionary != NULL ? "the schema is dictionary-encoded but the array has "
                                           "no dictionary"
                                         : "the array has a dictionary but the schema has none");
  if (s->dictionary != NULL && !l->integer)
    return fail(c, "dictionary indices of format \"%s\" are not integers", s->format);
  return NB_OK;
}

/* One child: its path is parent + sep + its name. */
static int check_child(Check *c, const struct ArrowSchema *s, const struct ArrowArray *a,
                       int64_t i, const char *sep, int64_t min_rows, int depth) {
  const struct ArrowSchema *cs = s->children[i];
  const struct ArrowArray *ca = a->children[i];
  size_t saved;
  int rc;
  if (cs == NULL) return fail(c, "schema child %" PRId64 " is NULL", i);
  if (ca == NULL) return fail(c, "array child %" PRId64 " is NULL", i);
  saved = path_push(c, sep, sep[0] == '[' ? "" : cs->name != NULL ? cs->name : "");
  rc = check_node(c, cs, ca, min_rows, depth + 1);
  if (rc == NB_OK) path_pop(c, saved);
  return rc;
}

static int check_list(Check *c, const struct ArrowSchema *s, const struct ArrowArray *a,
                      const Layout *l, int depth) {
  int64_t first, last;
  int rc = check_offsets(c, a, l->kind == KIND_LARGE_LIST, &first, &last);
  if (rc != NB_OK) return rc;
  if (l->kind == KIND_MAP) {
    const struct ArrowSchema *entries = s->children[0];
    if (entries != NULL && (entries->format == NULL || strcmp(entries->format, "+s") != 0 ||
                            entries->n_children != 2))
      return fail(c, "a map's entries must be a struct of a key and a value");
  }
  return check_child(c, s, a, 0, "[]", last, depth);
}

static int check_node(Check *c, const struct ArrowSchema *s,
                      const struct ArrowArray *a, int64_t min_rows, int depth) {
  Layout l;
  int64_t i, rows, first, last;
  int rc = check_shape(c, s, a, &l, depth);
  if (rc != NB_OK) return rc;
  rows = a->offset + a->length;
  if (rows < min_rows)
    return fail(c, "the array has %" PRId64 " rows (offset %" PRId64 " + length %" PRId64
                   "), its parent needs %" PRId64,
                rows, a->offset, a->length, min_rows);
  if (l.kind != KIND_NULL) {
    rc = check_validity(c, a, depth == 0);
    if (rc != NB_OK) return rc;
  }
  switch (l.kind) {
    case KIND_NULL:
      break;
    case KIND_BOOL:
    case KIND_FIXED:
      if (a->length > 0 && a->buffers[1] == NULL)
        return fail(c, "the values buffer is NULL but the array has %" PRId64 " rows",
                    a->length);
      if (l.kind == KIND_FIXED && !aligned(a->buffers[1], l.width))
        return fail(c, "the values buffer is not aligned to its %" PRId64 "-byte values",
                    l.width);
      break;
    case KIND_BINARY:
    case KIND_LARGE_BINARY:
      rc = check_offsets(c, a, l.kind == KIND_LARGE_BINARY, &first, &last);
      if (rc != NB_OK) return rc;
      if (a->buffers[2] == NULL && last > first)
        return fail(c, "the data buffer is NULL but the values have %" PRId64 " bytes",
                    last - first);
      break;
    case KIND_LIST:
    case KIND_LARGE_LIST:
    case KIND_MAP:
      rc = check_list(c, s, a, &l, depth);
      if (rc != NB_OK) return rc;
      break;
    case KIND_FIXED_LIST:
      if (rows > INT64_MAX / l.width)
        return fail(c, "%" PRId64 " rows of %" PRId64 " values overflow", rows, l.width);
      rc = check_child(c, s, a, 0, "[]", rows * l.width, depth);
      if (rc != NB_OK) return rc;
      break;
    case KIND_STRUCT:
      for (i = 0; i < a->n_children; i++) {
        rc = check_child(c, s, a, i, ".", rows, depth);
        if (rc != NB_OK) return rc;
      }
      break;
  }
  if (s->dictionary != NULL) {
    size_t saved = path_push(c, NULL, " (dictionary)");
    rc = check_node(c, s->dictionary, a->dictionary, 0, depth + 1);
    if (rc != NB_OK) return rc;
    path_pop(c, saved);
    if (a->length > 0 && a->buffers[1] == NULL) return NB_OK; /* reported above */
    return check_indices(c, a, &l, a->dictionary->length);
  }
  return NB_OK;
}

int nbh_batch_check(const struct ArrowSchema *schema,
                    const struct ArrowArray *array, char *msg, size_t cap) {
  Check c;
  c.msg = msg;
  c.cap = cap;
  c.path[0] = '\0';
  c.path_len = 0;
  if (schema == NULL || array == NULL)
    return fail(&c, "no %s", schema == NULL ? "schema" : "array");
  if (schema->format == NULL || strcmp(schema->format, "+s") != 0)
    return fail(&c, "the batch's schema is not a struct (\"+s\")");
  return check_node(&c, schema, array, 0, 0);
}
