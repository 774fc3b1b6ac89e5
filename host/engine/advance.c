/*
 * advance.c - see advance.h.
 */
#include "advance.h"

#include <stdlib.h>
#include <string.h>

static int keep_position(NbhAdvance *a, const void *position, size_t len) {
  uint8_t *copy = NULL;
  if (position != NULL) {
    copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) return -1;
    if (len > 0) memcpy(copy, position, len);
  }
  free(a->position);
  a->position = copy;
  a->position_len = position != NULL ? len : 0;
  return 0;
}

int nbh_advance_init(NbhAdvance *a, const void *position, size_t position_len) {
  memset(a, 0, sizeof *a);
  a->bytes_read = -1;
  return keep_position(a, position, position_len);
}

static bool same_position(const NbhAdvance *a, const void *position, size_t len) {
  if (a->position == NULL) return false;
  return a->position_len == len && (len == 0 || memcmp(a->position, position, len) == 0);
}

int nbh_advance_note(NbhAdvance *a, const void *position, size_t position_len,
                     int64_t bytes_read) {
  bool advanced;
  if (bytes_read >= 0 && a->bytes_read >= 0)
    advanced = bytes_read > a->bytes_read;
  else
    advanced = position != NULL && !same_position(a, position, position_len);
  if (position != NULL && !same_position(a, position, position_len) &&
      keep_position(a, position, position_len) != 0)
    return -1;
  if (bytes_read >= 0) a->bytes_read = bytes_read;
  return advanced ? 1 : 0;
}

void nbh_advance_free(NbhAdvance *a) {
  free(a->position);
  a->position = NULL;
  a->position_len = 0;
}
