/*
 * fuzz_batch_check.c - batch validation (host/engine/batch_check.c,
 * nbh_batch_check) on random ArrowSchema / ArrowArray trees built from the
 * input: formats (valid, unsupported and malformed), children counts and
 * buffer counts that agree or not with the format, NULL buffers and
 * children, dictionaries, lengths, offsets and null counts (small, negative
 * and overflowing), and buffer contents (offsets, validity bits, indices)
 * taken from the input.
 *
 * Every buffer is allocated for what the array's offset + length can make
 * a correct checker read (elements up to offset + length + 1, 16 bytes
 * each), as the C Data Interface promises a consumer: reading past that is
 * a bug of the checker, reported by ASan.  Lengths too large for that are
 * only produced together with a defect the checker must refuse before
 * reading (a negative value, an overflowing offset + length).
 * Invariant: a refusal has a message; nothing is read out of bounds.
 *
 * fuzz-requires: host/engine/batch_check.c (run.sh skips the harness
 * until the file is in the tree)
 */
#include "fuzz.h" /* first: it defines _GNU_SOURCE */

#include <stdbool.h>
#include <string.h>

#include "batch_check.h"
#include "nebula/arrow_c.h"

#define MAX_NODES 64
#define MAX_ALLOCS 1024
#define MAX_ROWS 48 /* offset + length of a node stays below this when sane */

typedef struct Builder {
  const uint8_t *data;
  size_t size;
  size_t pos;
  void *allocs[MAX_ALLOCS];
  size_t n_allocs;
  unsigned nodes;
} Builder;

static uint8_t next(Builder *b) {
  if (b->pos >= b->size) return 0;
  return b->data[b->pos++];
}

static void *alloc(Builder *b, size_t n) {
  if (b->n_allocs == MAX_ALLOCS) return NULL;
  void *p = calloc(1, n ? n : 1);
  if (p != NULL) b->allocs[b->n_allocs++] = p;
  return p;
}

static void never_released_schema(struct ArrowSchema *s) { (void)s; }
static void never_released_array(struct ArrowArray *a) { (void)a; }

static const char *const formats[] = {
    "n", "b", "c", "C", "s", "S", "i", "I", "l", "L", "e", "f", "g", "u", "U", "z", "Z",
    "tdD", "tdm", "tts", "ttn", "tss:", "tsu:UTC", "tDs", "tiM", "d:10,2", "d:38,4,256",
    "w:4", "w:0", "+l", "+L", "+w:3", "+w:0", "+s", "+m", "+ud:0,1", "vu", "+r", "x", "",
    "d:", "w:", "+w:-1", "tsz", "i\x01", "+vl", "ts", "w:99999999999",
};

/* One int64 from the input: mostly small, sometimes a hostile value. */
static int64_t pick_count(Builder *b, bool *huge) {
  uint8_t c = next(b);
  *huge = false;
  switch (c >> 5) {
    case 7:
      *huge = true;
      switch (c & 3) {
        case 0: return -1;
        case 1: return INT64_MIN;
        case 2: return INT64_MAX;
        default: return -(int64_t)(c & 0x1c) - 2;
      }
    default:
      return c % 24;
  }
}

/* Buffers for a node of `rows` rows (offset + length): every element a
 * checker may read, with contents from the input. */
static const void *make_buffer(Builder *b, int64_t rows) {
  uint8_t c = next(b);
  if (c < 24) return NULL;
  size_t n = (size_t)(rows + 2) * 16;
  uint8_t *buf = alloc(b, n);
  if (buf == NULL) return NULL;
  uint8_t mode = c & 3;
  for (size_t i = 0; i < n; i++) {
    if (mode == 0) buf[i] = next(b);
    else if (mode == 1) buf[i] = 0xff;              /* all valid / -1 */
    else if (mode == 2) buf[i] = (uint8_t)(i % 4 == 0 ? i / 4 : 0); /* rising int32 */
    else buf[i] = (uint8_t)(i % 8 == 0 ? i / 8 : 0);  /* rising int64 */
  }
  return buf;
}

static bool build(Builder *b, struct ArrowSchema *s, struct ArrowArray *a, int64_t rows,
                  unsigned depth);

static bool build_children(Builder *b, struct ArrowSchema *s, struct ArrowArray *a,
                           int64_t n_schema, int64_t n_array, int64_t child_rows,
                           unsigned depth) {
  int64_t n = n_schema > n_array ? n_schema : n_array;
  struct ArrowSchema **sc = alloc(b, (size_t)n * sizeof *sc);
  struct ArrowArray **ac = alloc(b, (size_t)n * sizeof *ac);
  if (sc == NULL || ac == NULL) return false;
  for (int64_t i = 0; i < n; i++) {
    sc[i] = alloc(b, sizeof **sc);
    ac[i] = alloc(b, sizeof **ac);
    if (sc[i] == NULL || ac[i] == NULL) return false;
    if (!build(b, sc[i], ac[i], child_rows, depth + 1)) return false;
    if (next(b) == 0x42) sc[i] = NULL; /* a NULL child */
  }
  s->n_children = n_schema;
  s->children = n_schema > 0 || next(b) & 1 ? sc : NULL;
  a->n_children = n_array;
  a->children = n_array > 0 || next(b) & 1 ? ac : NULL;
  return true;
}

static bool build(Builder *b, struct ArrowSchema *s, struct ArrowArray *a, int64_t rows,
                  unsigned depth) {
  if (++b->nodes > MAX_NODES) return false;
  uint8_t f = next(b);
  const char *format = formats[f % (sizeof formats / sizeof formats[0])];
  s->format = (f & 0x80) && depth > 0 && next(b) == 7 ? NULL : format;
  s->name = "c";
  s->flags = next(b) & 3;
  s->release = never_released_schema;
  a->release = next(b) == 0x11 ? NULL : never_released_array;
  /* This node's rows: what the parent said, or the fuzzer's own. */
  bool huge_len = false, huge_off = false;
  uint8_t how = next(b);
  if (how & 1) {
    a->length = pick_count(b, &huge_len);
    a->offset = pick_count(b, &huge_off);
  } else {
    a->length = rows;
    a->offset = 0;
  }
  /* INT64_MAX only where offset + length overflows: a checker must refuse
   * that before reading, while a merely long array would be a lie. */
  if (a->length == INT64_MAX || a->offset == INT64_MAX) {
    a->offset = INT64_MAX;
    if (a->length <= 0) a->length = 1;
  }
  if (!huge_len && !huge_off && a->length + a->offset > MAX_ROWS) a->length = 0;
  int64_t span = huge_len || huge_off ? 0 : a->offset + a->length;
  a->null_count = (how & 6) == 2 ? -1 : (how & 6) == 4 ? (int64_t)(next(b) % 8) : 0;
  if ((how & 0x38) == 0x38) a->null_count = -5;
  /* Buffers: the count the format wants, give or take one. */
  int64_t n_buffers = next(b) % 4;
  a->n_buffers = n_buffers;
  const void **buffers = alloc(b, 4 * sizeof *buffers);
  if (buffers == NULL) return false;
  for (int i = 0; i < 4; i++) buffers[i] = make_buffer(b, span);
  a->buffers = next(b) == 0x33 ? NULL : buffers;
  /* Children: as the format wants, or not. */
  int64_t n_schema = 0, n_array = 0, child_rows = span;
  if (format[0] == '+') {
    n_schema = format[1] == 's' ? next(b) % 4 : 1;
    if (format[1] == 'w') child_rows = span * 3;
  }
  n_array = n_schema;
  if (next(b) == 0x5a) n_array = (n_array + 1) % 3;
  if (depth < 6 && (n_schema > 0 || n_array > 0)) {
    if (!build_children(b, s, a, n_schema, n_array, child_rows > MAX_ROWS ? 0 : child_rows,
                        depth))
      return false;
  }
  /* A dictionary, on the schema, the array, or both. */
  uint8_t d = next(b);
  if ((d & 0x0f) == 0x0f && depth < 6) {
    struct ArrowSchema *ds = alloc(b, sizeof *ds);
    struct ArrowArray *da = alloc(b, sizeof *da);
    if (ds == NULL || da == NULL) return false;
    if (!build(b, ds, da, next(b) % 16, depth + 1)) return false;
    if (d & 0x10) s->dictionary = ds;
    if (d & 0x20) a->dictionary = da;
  }
  return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  Builder *b = calloc(1, sizeof *b);
  if (b == NULL) return 0;
  b->data = data;
  b->size = size;
  struct ArrowSchema schema;
  struct ArrowArray array;
  memset(&schema, 0, sizeof schema);
  memset(&array, 0, sizeof array);
  if (build(b, &schema, &array, next(b) % 16, 0)) {
    char msg[256];
    msg[0] = '\0';
    int rc = nbh_batch_check(&schema, &array, msg, sizeof msg);
    if (rc != 0 && msg[0] == '\0') fuzz_fail("batch_check: refused without a message");
    if (rc != 0 && strnlen(msg, sizeof msg) == sizeof msg) fuzz_fail("batch_check: message not terminated");
  }
  for (size_t i = 0; i < b->n_allocs; i++) free(b->allocs[i]);
  free(b);
  return 0;
}
