/*
 * csv_names.c - unique column names from a CSV header (issue 9, item 4).
 *
 * A header may repeat a name or leave one empty; as JSON keys (or SQL
 * columns) such names collide and values are lost downstream.  The rule
 * (setting header_names = "dedupe", the default):
 *   - the first column with a given non-empty name keeps it;
 *   - an empty name becomes "column_N", N its 1-based position;
 *   - a later repeat of a name NAME (or a "column_N" already taken) becomes
 *     NAME_2, or NAME_3, ..., the first of these that no column has, the
 *     names written in the header counting as taken wherever they stand.
 * So "a,a,,a_2,a" gives a, a_3, column_3, a_2, a_4.  With
 * header_names = "strict" an empty or repeated name is an error naming the
 * file, the line and both columns.
 *
 * Cost: one hash set of the names, O(columns) time and memory, freed before
 * returning; each base name remembers the next suffix to try, so a header
 * of 10^5 copies of one name stays linear.
 */
#include "csv_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct NameSlot {
  const char *name; /* NULL: empty slot; points into names[] */
  size_t column;    /* 0-based column that holds the name */
  uint64_t next_suffix; /* next NAME_k to try when NAME repeats */
} NameSlot;

typedef struct NameSet {
  NameSlot *slots;
  size_t mask; /* capacity - 1, capacity a power of two */
} NameSet;

static uint64_t name_hash(const char *s) {
  uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
  for (; *s != '\0'; s++) {
    h ^= (unsigned char)*s;
    h *= UINT64_C(1099511628211);
  }
  return h;
}

/* The slot holding name, or the empty slot where it would go. */
static NameSlot *set_find(const NameSet *set, const char *name) {
  size_t i = (size_t)name_hash(name) & set->mask;
  while (set->slots[i].name != NULL && strcmp(set->slots[i].name, name) != 0)
    i = (i + 1) & set->mask;
  return &set->slots[i];
}

static int set_init(NameSet *set, size_t n) {
  size_t cap = 16;
  /* Every column's name plus every generated one: at most 2n entries, and
   * the table stays at most half full. */
  while (cap < 4 * n) cap *= 2;
  set->slots = calloc(cap, sizeof *set->slots);
  set->mask = cap - 1;
  return set->slots != NULL ? 0 : -1;
}

static int strict_error(const char *const *names, size_t first, size_t col, const char *path,
                        int64_t line, NbError *err) {
  if (names[col][0] == '\0') {
    nb_error_set(err, NB_INVALID, "column %zu at line %lld of file \"%s\" has an empty name",
                 col + 1, (long long)line, path);
  } else {
    nb_error_set(err, NB_INVALID,
                 "columns %zu and %zu at line %lld of file \"%s\" have the same name \"%.200s\"",
                 first + 1, col + 1, (long long)line, path, names[col]);
  }
  nb_error_detail(err, "With header_names = \"strict\" every column needs its own name.");
  nb_error_hint(err,
                "Fix the header, or set header_names = \"dedupe\" to rename such columns "
                "(an empty name becomes column_N, a repeated one NAME_2, NAME_3, ...).");
  nb_error_locate(err, path, line, (int64_t)col + 1);
  return NB_INVALID;
}

/* A new name for column col: base (the name, or column_N when empty), then
 * base_k from the base's next suffix on, whichever no column has yet. */
static char *new_name(NameSet *set, const char *name, size_t col) {
  char number[32];
  const char *base = name;
  char *candidate = NULL;
  NameSlot *base_slot;
  size_t base_len;
  uint64_t k;

  if (name[0] == '\0') {
    snprintf(number, sizeof number, "column_%zu", col + 1);
    base = number;
    if (set_find(set, base)->name == NULL) return strdup(base);
  }
  base_slot = set_find(set, base); /* taken: that is why we are here */
  base_len = strlen(base);
  candidate = malloc(base_len + 32);
  if (candidate == NULL) return NULL;
  for (k = base_slot->next_suffix < 2 ? 2 : base_slot->next_suffix;; k++) {
    snprintf(candidate, base_len + 32, "%s_%llu", base, (unsigned long long)k);
    if (set_find(set, candidate)->name == NULL) break;
  }
  base_slot->next_suffix = k + 1;
  return candidate;
}

int csv_unique_names(char **names, size_t n, CsvHeaderNames mode, const char *path,
                     int64_t line, NbError *err) {
  NameSet set;
  bool *renamed;
  size_t i;
  int rc = NB_OK;

  if (n == 0) return NB_OK;
  renamed = calloc(n, sizeof *renamed);
  if (renamed == NULL || set_init(&set, n) != 0) {
    free(renamed);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  /* The names written in the header are all taken, wherever they stand:
   * the first column with a name keeps it. */
  for (i = 0; i < n && rc == NB_OK; i++) {
    NameSlot *slot;
    if (names[i][0] == '\0') {
      renamed[i] = true;
      if (mode == CSV_NAMES_STRICT) rc = strict_error((const char *const *)names, i, i, path, line, err);
      continue;
    }
    slot = set_find(&set, names[i]);
    if (slot->name == NULL) {
      slot->name = names[i];
      slot->column = i;
      continue;
    }
    renamed[i] = true;
    if (mode == CSV_NAMES_STRICT)
      rc = strict_error((const char *const *)names, slot->column, i, path, line, err);
  }
  /* Then the others get new names, left to right. */
  for (i = 0; i < n && rc == NB_OK; i++) {
    char *name;
    NameSlot *slot;
    if (!renamed[i]) continue;
    name = new_name(&set, names[i], i);
    if (name == NULL) {
      rc = nb_error_set(err, NB_NOMEM, "out of memory");
      break;
    }
    free(names[i]);
    names[i] = name;
    slot = set_find(&set, name);
    slot->name = name;
    slot->column = i;
  }
  free(set.slots);
  free(renamed);
  return rc;
}
