/*
 * json_columns.c - the columns of a json source stream (see
 * json_columns.h).
 */
#include "json_columns.h"

#include <stdlib.h>
#include <string.h>

static uint32_t name_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 16777619u;
  return h;
}

void columns_free(Columns *c) {
  for (size_t i = 0; i < c->n; i++) free(c->v[i].name);
  free(c->v);
  free(c->slots);
  memset(c, 0, sizeof *c);
}

/* The column named name[0..len) (no NUL bytes), or SIZE_MAX. */
static size_t columns_lookup(const Columns *c, const char *name, size_t len) {
  if (c->n_slots == 0) return SIZE_MAX;
  size_t mask = c->n_slots - 1;
  for (size_t i = name_hash(name, len) & mask;; i = (i + 1) & mask) {
    uint32_t s = c->slots[i];
    if (s == 0) return SIZE_MAX;
    const Column *col = &c->v[s - 1];
    if (col->name_len == len && memcmp(col->name, name, len) == 0) return s - 1;
  }
}

static bool columns_index(Columns *c, size_t n_slots) {
  uint32_t *slots = calloc(n_slots, sizeof *slots);
  if (slots == NULL) return false;
  free(c->slots);
  c->slots = slots;
  c->n_slots = n_slots;
  for (size_t k = 0; k < c->n; k++) {
    size_t i = name_hash(c->v[k].name, c->v[k].name_len) & (n_slots - 1);
    while (slots[i] != 0) i = (i + 1) & (n_slots - 1);
    slots[i] = (uint32_t)(k + 1);
  }
  return true;
}

/* A member name as a column name: U+0000 becomes the text "\u0000".
 * Returns a malloc'ed NUL-terminated string, or NULL. */
static char *column_name(const char *key, size_t len, size_t *out_len) {
  size_t nuls = 0;
  for (size_t i = 0; i < len; i++) nuls += key[i] == '\0';
  char *name = malloc(len + 5 * nuls + 1);
  if (name == NULL) return NULL;
  char *o = name;
  for (size_t i = 0; i < len; i++) {
    if (key[i] == '\0') {
      memcpy(o, "\\u0000", 6);
      o += 6;
    } else {
      *o++ = key[i];
    }
  }
  *o = '\0';
  *out_len = (size_t)(o - name);
  return name;
}

/* The column of a member name, or SIZE_MAX. */
size_t columns_find(const Columns *c, const char *key, size_t len) {
  if (memchr(key, '\0', len) == NULL) return columns_lookup(c, key, len);
  size_t n;
  char *name = column_name(key, len, &n);
  if (name == NULL) return SIZE_MAX;
  size_t i = columns_lookup(c, name, n);
  free(name);
  return i;
}

int columns_add(Columns *c, const char *key, size_t len,
                       size_t *index) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 16;
    Column *v = realloc(c->v, cap * sizeof *v);
    if (v == NULL) return NB_NOMEM;
    c->v = v;
    c->cap = cap;
  }
  Column *col = &c->v[c->n];
  memset(col, 0, sizeof *col);
  col->name = column_name(key, len, &col->name_len);
  if (col->name == NULL) return NB_NOMEM;
  c->n++;
  if (c->n * 2 > c->n_slots) {
    if (!columns_index(c, c->n_slots ? c->n_slots * 2 : 64)) {
      free(col->name);
      c->n--;
      return NB_NOMEM;
    }
  } else {
    size_t mask = c->n_slots - 1;
    size_t i = name_hash(col->name, col->name_len) & mask;
    while (c->slots[i] != 0) i = (i + 1) & mask;
    c->slots[i] = (uint32_t)c->n;
  }
  *index = c->n - 1;
  return NB_OK;
}

ColumnKind kind_of(JsonKind k) {
  switch (k) {
    case JSON_NULL: return COL_NULL;
    case JSON_TRUE:
    case JSON_FALSE: return COL_BOOL;
    case JSON_NUMBER: return COL_NUMBER;
    case JSON_STRING: return COL_UTF8;
    default: return COL_JSON;
  }
}

NbType type_of(ColumnKind k) {
  switch (k) {
    case COL_NUMBER: return NB_TYPE_NUMBER;
    case COL_BOOL: return NB_TYPE_BOOL;
    case COL_JSON: return NB_TYPE_JSON;
    default: return NB_TYPE_UTF8;
  }
}

