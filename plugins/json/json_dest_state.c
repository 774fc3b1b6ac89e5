/*
 * json_dest_state.c - the json destination's state blob: per file the
 * length of its last commit and whether a row was written, so a resumed
 * run truncates to that length and goes on with ",\n" in an array.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json_dest_internal.h"

#define STATE_MAGIC "nebula-json-dest 1\n"

SavedFile *json_dest_saved_find(JsonDest *d, const char *path) {
  size_t i = NB_KEYED_FIND(d->saved, d->n_saved, SavedFile, path, path);
  return i < d->n_saved ? &d->saved[i] : NULL;
}

int json_dest_saved_set(JsonDest *d, const char *path, uint64_t length, bool any_row) {
  size_t i;
  SavedFile *v = NB_KEYED_FIND_OR_ADD(d->saved, &d->n_saved, SavedFile, path, path, &i);
  if (v == NULL) return NB_NOMEM;
  d->saved = v;
  v[i].length = length;
  v[i].any_row = any_row;
  return NB_OK;
}

/* "nebula-json-dest 1\n" then per file "<length> <any_row> <path length>
 * <path>\n". */
int json_dest_parse_state(JsonDest *d, const char *s, size_t len, NbError *err) {
  const char *end = s + len;
  if (!nb_text_expect(&s, end, STATE_MAGIC)) goto bad;
  while (s < end) {
    uint64_t length, any_row;
    char *path;
    if (!nb_text_u64(&s, end, ' ', &length) || !nb_text_u64(&s, end, ' ', &any_row) || any_row > 1)
      goto bad;
    int rc = nb_text_path(&s, end, &path);
    if (rc == NB_INVALID) goto bad;
    if (rc == NB_OK) rc = json_dest_saved_set(d, path, length, any_row != 0);
    free(path);
    if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory opening the json destination");
  }
  return NB_OK;
bad:
  nb_error_set(err, NB_INVALID, "the saved state is not a json destination state");
  nb_error_hint(err, "Resume with the same destination, or start afresh without the state file.");
  return NB_INVALID;
}

int json_dest_build_state(JsonDest *d) {
  JsonBuf *b = &d->state;
  b->len = 0;
  if (!json_buf_reserve(b, strlen(STATE_MAGIC))) return NB_NOMEM;
  json_buf_put(b, STATE_MAGIC, strlen(STATE_MAGIC));
  for (size_t i = 0; i < d->n_saved; i++) {
    const SavedFile *f = &d->saved[i];
    size_t plen = strlen(f->path);
    if (!json_buf_reserve(b, plen + 80)) return NB_NOMEM;
    b->len += (size_t)snprintf(b->data + b->len, 80, "%llu %d %zu ",
                               (unsigned long long)f->length, f->any_row ? 1 : 0, plen);
    json_buf_put(b, f->path, plen);
    json_buf_put(b, "\n", 1);
  }
  return NB_OK;
}
