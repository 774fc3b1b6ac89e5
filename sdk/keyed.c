/*
 * keyed.c - arrays of structs found by a string key (a stream's name, a
 * file's path).  Every file connector keeps such arrays (the streams it
 * was prepared for, the files it has open, the files of a saved state)
 * and looked them up and grew them by hand, each its own copy.
 */
#include <stdlib.h>
#include <string.h>

#include "sdk_internal.h"

/* The key of item i: memcpy, since the key member need not be the first
 * and the array is seen as bytes. */
static const char *key_at(const void *items, size_t i, size_t item_size,
                          size_t key_offset) {
  const char *key;
  memcpy(&key, (const unsigned char *)items + i * item_size + key_offset, sizeof key);
  return key;
}

size_t nb_keyed_find(const void *items, size_t n, size_t item_size,
                     size_t key_offset, const char *key) {
  if (items == NULL || key == NULL) return n;
  for (size_t i = 0; i < n; i++) {
    const char *k = key_at(items, i, item_size, key_offset);
    if (k != NULL && strcmp(k, key) == 0) return i;
  }
  return n;
}

void *nb_keyed_append(void *items, size_t n, size_t item_size,
                      size_t key_offset, const char *key) {
  if (key == NULL || item_size < key_offset + sizeof(char *) ||
      n >= SIZE_MAX / item_size - 1)
    return NULL;
  /* The copy first: a failure after the realloc could not be undone. */
  char *copy = strdup(key);
  if (copy == NULL) return NULL;
  unsigned char *v = realloc(items, (n + 1) * item_size);
  if (v == NULL) {
    free(copy);
    return NULL;
  }
  unsigned char *item = v + n * item_size;
  memset(item, 0, item_size);
  memcpy(item + key_offset, &copy, sizeof copy);
  return v;
}

void *nb_keyed_find_or_add(void *items, size_t *n, size_t item_size, size_t key_offset,
                           const char *key, size_t *index) {
  size_t i = nb_keyed_find(items, *n, item_size, key_offset, key);
  if (i < *n) {
    *index = i;
    return items;
  }
  void *v = nb_keyed_append(items, *n, item_size, key_offset, key);
  if (v == NULL) return NULL;
  *index = (*n)++;
  return v;
}
