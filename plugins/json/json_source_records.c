/*
 * json_source_records.c - the json source's checks of a record's member
 * names: a name repeated in one object (refused, or one value kept, by the
 * setting duplicate_keys) and new names past max_columns, with errors
 * that name file, line, column and record.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json_source_internal.h"

/* name[0..len) for a message: at most 64 bytes, control characters as
 * '?', cut at a character boundary. */
static void printable_name(const char *name, size_t len, char *out, size_t cap) {
  size_t n = len < 64 ? len : 64;
  while (n < len && n > 0 && ((unsigned char)name[n] & 0xC0) == 0x80) n--;
  size_t o = 0;
  for (size_t i = 0; i < n && o + 4 < cap; i++) {
    unsigned char c = (unsigned char)name[i];
    out[o++] = c < 0x20 || c == 0x7F ? '?' : (char)c;
  }
  if (n < len && o + 4 < cap) {
    memcpy(out + o, "...", 3);
    o += 3;
  }
  out[o] = '\0';
}

/* NB_DATA for the record v whose member `dup` repeats a name. */
static int duplicate_error(const Stream *s, const JsonValue *v, const JsonMember *dup,
                           NbError *e) {
  char name[80];
  uint64_t line, column;
  printable_name(dup->key, dup->key_len, name, sizeof name);
  json_reader_locate(&s->reader, dup->value.raw, &line, &column);
  nb_error_set(e, NB_DATA, "duplicate member name \"%s\" in file \"%s\" at line %llu, column %llu: the object (record %llu) already has a member of that name",
               name, s->path, (unsigned long long)line, (unsigned long long)column,
               (unsigned long long)s->reader.cur.record + 1);
  nb_error_locate(e, s->path, (int64_t)line, (int64_t)column);
  nb_error_record(e, v->raw, v->raw_len);
  nb_error_hint(e, "Fix the producer, or set duplicate_keys = \"first\" or \"last\" to keep one value of each name (the others are dropped and counted).");
  return NB_DATA;
}

/* An object record of n members whose names may repeat: by the setting
 * duplicate_keys, NB_DATA (e filled), or keep one value of each name in
 * the parser's members (*n lowered, *dropped the values dropped). */
int json_source_resolve_duplicates(Stream *s, const JsonValue *v, size_t *n, size_t *dropped,
                                   NbError *e) {
  JsonMember *m = s->reader.parser.members;
  *dropped = 0;
  if (v->kind != JSON_OBJECT || *n < 2) return NB_OK;
  if (s->src->duplicate_keys == DUP_ERROR) {
    size_t repeat, first;
    if (!json_names_find_repeat(&s->names, m, *n, &repeat, &first))
      return nb_error_set(e, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
    return repeat == SIZE_MAX ? NB_OK : duplicate_error(s, v, &m[repeat], e);
  }
  size_t kept;
  if (!json_names_keep_one(&s->names, m, *n, s->src->duplicate_keys == DUP_LAST, &kept))
    return nb_error_set(e, NB_NOMEM, "out of memory reading file \"%s\"", s->path);
  *dropped = *n - kept;
  *n = kept;
  return NB_OK;
}

/* NB_DATA for the record v, whose new member names would take the
 * stream past max_columns. */
void json_source_too_many_columns(const Stream *s, const JsonValue *v, NbError *err) {
  uint64_t line, column;
  json_reader_locate(&s->reader, v->raw, &line, &column);
  nb_error_set(err, NB_DATA, "record %llu at line %llu of file \"%s\" has new member names that would make more than %zu columns",
               (unsigned long long)s->reader.cur.record + 1, (unsigned long long)line, s->path,
               s->src->max_columns);
  nb_error_locate(err, s->path, (int64_t)line, (int64_t)column);
  nb_error_record(err, v->raw, v->raw_len < 256 ? v->raw_len : 256);
  nb_error_hint(err, "Raise the setting \"max_columns\" if the file really has that many different names.");
}

/* A record that lost `dropped` values to duplicate_keys was accepted. */
void json_source_note_dropped(Stream *s, size_t dropped) {
  const NbHostApi *host = s->src->host;
  if (dropped == 0) return;
  if (host->counter_add != NULL)
    host->counter_add(host->host_data, "json_duplicate_members_dropped", (int64_t)dropped);
  if (s->duplicate_logged) return;
  s->duplicate_logged = true;
  nb_log(host, NB_LOG_WARN,
         "file \"%s\" has objects with duplicate member names (first at record %llu): the %s value of each name is kept, as duplicate_keys says; the values dropped are counted in json_duplicate_members_dropped",
         s->path, (unsigned long long)s->reader.cur.record,
         s->src->duplicate_keys == DUP_LAST ? "last" : "first");
}
