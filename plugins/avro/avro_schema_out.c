/*
 * avro_schema_out.c - Nebula schema -> Avro schema JSON (see
 * avro_schema_out.h).
 */
#include "avro_schema_out.h"

#include <stdio.h>
#include <stdlib.h>

static bool put_text(AvroBuf *b, const char *s) { return avro_buf_bytes(b, s, strlen(s)); }

static bool name_char(char c, bool first) {
  return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (!first && c >= '0' && c <= '9');
}

static bool is_avro_name(const char *s) {
  if (s[0] == '\0' || !name_char(s[0], true)) return false;
  for (const char *p = s + 1; *p; p++)
    if (!name_char(*p, false)) return false;
  return true;
}

/* The Avro name of a column: name itself when valid, else a cleaned copy.
 * Returns a malloc'ed string (NULL when out of memory). */
static char *clean_name(const char *name) {
  size_t len = strlen(name);
  char *out = malloc(len + 2);
  if (out == NULL) return NULL;
  size_t o = 0;
  if (len == 0 || !name_char(name[0], true)) out[o++] = '_';
  for (size_t i = 0; i < len; i++) out[o++] = name_char(name[i], false) ? name[i] : '_';
  out[o] = '\0';
  return out;
}

/* names[0..n) are distinct from each other: add "_2"... to later ones. */
static bool make_unique(char **names, size_t n) {
  for (size_t i = 1; i < n; i++) {
    for (unsigned k = 2;; k++) {
      bool taken = false;
      for (size_t j = 0; j < i && !taken; j++) taken = strcmp(names[i], names[j]) == 0;
      if (!taken) break;
      size_t len = strlen(names[i]);
      char *longer = malloc(len + 16);
      if (longer == NULL) return false;
      /* Strip an earlier suffix of ours before trying the next one. */
      char *base = names[i];
      if (k > 2) {
        char *us = strrchr(base, '_');
        if (us != NULL) *us = '\0';
      }
      snprintf(longer, len + 16, "%s_%u", base, k);
      free(names[i]);
      names[i] = longer;
    }
  }
  return true;
}

static const char *plain_type(const NbField *f, char *buf, size_t cap) {
  switch (f->type) {
  case NB_TYPE_INT64: return "\"long\"";
  case NB_TYPE_FLOAT64: return "\"double\"";
  case NB_TYPE_BOOL: return "\"boolean\"";
  case NB_TYPE_DATE32: return "{\"type\":\"int\",\"logicalType\":\"date\"}";
  case NB_TYPE_TIMESTAMP:
    /* "" is a timestamp without zone: a local timestamp. */
    if (f->timezone != NULL && f->timezone[0] == '\0')
      return "{\"type\":\"long\",\"logicalType\":\"local-timestamp-micros\"}";
    return "{\"type\":\"long\",\"logicalType\":\"timestamp-micros\"}";
  case NB_TYPE_DECIMAL128:
    snprintf(buf, cap, "{\"type\":\"bytes\",\"logicalType\":\"decimal\",\"precision\":%d,\"scale\":%d}",
             (int)f->precision, (int)f->scale);
    return buf;
  case NB_TYPE_NUMBER: return "{\"type\":\"string\",\"nebula.type\":\"number\"}";
  case NB_TYPE_JSON: return "{\"type\":\"string\",\"nebula.type\":\"json\"}";
  default: return "\"string\"";
  }
}

int avro_schema_write(const NbField *fields, size_t n, AvroBuf *out) {
  char **names = calloc(n + 1, sizeof *names);
  bool ok = names != NULL;
  for (size_t i = 0; ok && i < n; i++) ok = (names[i] = clean_name(fields[i].name)) != NULL;
  ok = ok && make_unique(names, n);
  ok = ok && put_text(out, "{\"type\":\"record\",\"name\":\"nebula_row\",\"fields\":[");
  for (size_t i = 0; ok && i < n; i++) {
    char buf[160];
    const char *t = plain_type(&fields[i], buf, sizeof buf);
    ok = put_text(out, i == 0 ? "{\"name\":" : ",{\"name\":") &&
         avro_buf_json_string(out, names[i], strlen(names[i]));
    if (ok && (!is_avro_name(fields[i].name) || strcmp(names[i], fields[i].name) != 0))
      ok = put_text(out, ",\"nebula.name\":") &&
           avro_buf_json_string(out, fields[i].name, strlen(fields[i].name));
    ok = ok && put_text(out, ",\"type\":");
    if (ok && fields[i].nullable) ok = put_text(out, "[\"null\",") && put_text(out, t) && put_text(out, "]");
    else if (ok) ok = put_text(out, t);
    ok = ok && put_text(out, fields[i].nullable ? ",\"default\":null}" : "}");
  }
  ok = ok && put_text(out, "]}");
  for (size_t i = 0; names != NULL && i < n; i++) free(names[i]);
  free(names);
  return ok ? NB_OK : NB_NOMEM;
}
