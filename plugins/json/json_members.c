/*
 * json_members.c - member names that repeat within one object record (see
 * json_members.h).
 */
#include "json_members.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Up to this many members, names are compared pairwise: cheaper than a
 * sort for the objects most files hold. */
#define PAIRWISE_MAX 16

struct JsonNameEntry {
  const char *key;
  size_t len;
  size_t index; /* in input order: ties sort by it */
};

void json_names_free(JsonNameSort *w) {
  free(w->v);
  w->v = NULL;
  w->cap = 0;
}

static bool same_name(const JsonMember *a, const JsonMember *b) {
  return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

static int by_name_then_index(const void *pa, const void *pb) {
  const struct JsonNameEntry *a = pa, *b = pb;
  size_t n = a->len < b->len ? a->len : b->len;
  int c = memcmp(a->key, b->key, n);
  if (c != 0) return c;
  if (a->len != b->len) return a->len < b->len ? -1 : 1;
  return a->index < b->index ? -1 : a->index > b->index;
}

/* w->v[0..n): the members sorted by name, then input order. */
static bool sort_names(JsonNameSort *w, const JsonMember *m, size_t n) {
  if (n > w->cap) {
    if (n > SIZE_MAX / sizeof *w->v) return false;
    struct JsonNameEntry *v = realloc(w->v, n * sizeof *v);
    if (v == NULL) return false;
    w->v = v;
    w->cap = n;
  }
  for (size_t i = 0; i < n; i++) {
    w->v[i].key = m[i].key;
    w->v[i].len = m[i].key_len;
    w->v[i].index = i;
  }
  qsort(w->v, n, sizeof *w->v, by_name_then_index);
  return true;
}

static bool entries_equal(const struct JsonNameEntry *a, const struct JsonNameEntry *b) {
  return a->len == b->len && memcmp(a->key, b->key, a->len) == 0;
}

bool json_names_find_repeat(JsonNameSort *w, const JsonMember *m, size_t n,
                            size_t *repeat, size_t *first) {
  *repeat = SIZE_MAX;
  *first = SIZE_MAX;
  if (n <= PAIRWISE_MAX) {
    for (size_t i = 1; i < n; i++)
      for (size_t j = 0; j < i; j++)
        if (same_name(&m[i], &m[j])) {
          *repeat = i;
          *first = j;
          return true;
        }
    return true;
  }
  if (!sort_names(w, m, n)) return false;
  /* In each run of one name, the second entry is that name's first
   * repeat; the earliest of those in input order is the answer. */
  for (size_t k = 1; k < n; k++) {
    if (!entries_equal(&w->v[k], &w->v[k - 1])) continue;
    if (w->v[k].index < *repeat) {
      *repeat = w->v[k].index;
      *first = w->v[k - 1].index;
    }
    while (k + 1 < n && entries_equal(&w->v[k + 1], &w->v[k])) k++;
  }
  return true;
}

bool json_names_keep_one(JsonNameSort *w, JsonMember *m, size_t n,
                         bool keep_last, size_t *kept) {
  size_t out = 0;
  *kept = n;
  if (n <= PAIRWISE_MAX) {
    /* Member i goes when another of its name is the one kept. */
    bool drop[PAIRWISE_MAX];
    for (size_t i = 0; i < n; i++) {
      drop[i] = false;
      for (size_t j = 0; j < n && !drop[i]; j++)
        if (j != i && (keep_last ? j > i : j < i) && same_name(&m[i], &m[j])) drop[i] = true;
    }
    for (size_t i = 0; i < n; i++)
      if (!drop[i]) m[out++] = m[i];
    *kept = out;
    return true;
  }
  if (!sort_names(w, m, n)) return false;
  /* Mark the dropped members with a length no name has, then compact. */
  for (size_t k = 0; k < n;) {
    size_t end = k + 1;
    while (end < n && entries_equal(&w->v[end], &w->v[k])) end++;
    size_t keep = keep_last ? end - 1 : k;
    for (size_t x = k; x < end; x++)
      if (x != keep) m[w->v[x].index].key_len = SIZE_MAX;
    k = end;
  }
  for (size_t i = 0; i < n; i++)
    if (m[i].key_len != SIZE_MAX) m[out++] = m[i];
  *kept = out;
  return true;
}
