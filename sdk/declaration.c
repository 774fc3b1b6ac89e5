/*
 * declaration.c - the rules a connector's settings declaration follows,
 * written once: the host's loader refuses a connector that breaks them and
 * the conformance kit reports the same problem, so the two can never
 * disagree.  Also the one way to step through a declaration array (the
 * stride rule of nebula/abi.h).
 */
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sdk_internal.h"

#define KNOWN_FLAGS \
  (NB_SETTING_REQUIRED | NB_SETTING_SECRET | NB_SETTING_SOURCE | NB_SETTING_DEST | \
   NB_SETTING_TUNING)
#define MAX_NAME 64

const NbSettingSpec *nb_setting_spec_at(const NbSettingSpec *spec, uint32_t i) {
  size_t stride;
  if (spec == NULL) return NULL;
  stride = spec[0].struct_size;
  /* A broken first entry: nb_settings_declaration_check refuses the
   * array; meanwhile read it with our own layout rather than overlap. */
  if (stride < NB_SETTING_SPEC_SIZE_1_0) stride = sizeof(NbSettingSpec);
  return (const NbSettingSpec *)((const char *)spec + (size_t)i * stride);
}

/* lower_snake_case: a letter, then letters, digits and single underscores,
 * not ending in one, at most MAX_NAME bytes. */
static bool is_snake(const char *s) {
  size_t n;
  if (s == NULL || !(s[0] >= 'a' && s[0] <= 'z')) return false;
  for (n = 0; s[n] != '\0'; n++) {
    char c = s[n];
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    if (c == '_' && s[n + 1] == '_') return false;
  }
  return n <= MAX_NAME && s[n - 1] != '_';
}

static const char *type_name(uint32_t type) {
  switch (type) {
    case NB_SETTING_STRING: return "string";
    case NB_SETTING_INT: return "integer";
    case NB_SETTING_DOUBLE: return "number";
    case NB_SETTING_BOOL: return "boolean";
    case NB_SETTING_ENUM: return "enum";
    default: return NULL;
  }
}

/* Choices: non-empty words separated by '|', each listed once.  NULL when
 * sound, else the sentence's ending. */
static const char *choices_problem(const char *choices) {
  const char *p = choices;
  if (choices == NULL || choices[0] == '\0') return "declares no choices";
  for (;;) {
    const char *bar = strchr(p, '|');
    size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
    if (n == 0) return "has an empty choice; choices are non-empty words separated by '|'";
    for (const char *q = choices; q < p;) {
      const char *qb = strchr(q, '|');
      if ((size_t)(qb - q) == n && memcmp(q, p, n) == 0) return "lists a choice twice";
      q = qb + 1;
    }
    if (bar == NULL) return NULL;
    p = bar + 1;
  }
}

static bool sides_overlap(uint32_t a, uint32_t b) {
  uint32_t sa = a & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  uint32_t sb = b & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  return sa == 0 || sb == 0 || (sa & sb) != 0;
}

static int refuse(NbError *err, const char *fmt, ...) NB_PRINTF(2, 3);

/* NB_INVALID with the fixed message and a DETAIL sentence. */
static int refuse(NbError *err, const char *fmt, ...) {
  char detail[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  nb_error_set(err, NB_INVALID, "invalid settings declaration");
  nb_error_detail(err, "%s", detail);
  return NB_INVALID;
}

static int check_stride(const NbSettingSpec *spec, uint32_t n, NbError *err) {
  uint32_t stride = spec[0].struct_size;
  if (stride < NB_SETTING_SPEC_SIZE_1_0)
    return refuse(err, "Setting declaration 1 has struct_size %u; ABI 1.0 needs at least %zu.",
                  (unsigned)stride, (size_t)NB_SETTING_SPEC_SIZE_1_0);
  if (stride % alignof(NbSettingSpec) != 0)
    return refuse(err, "Setting declaration 1 has struct_size %u, not a multiple of %zu.",
                  (unsigned)stride, (size_t)alignof(NbSettingSpec));
  for (uint32_t i = 1; i < n; i++) {
    const NbSettingSpec *s = nb_setting_spec_at(spec, i);
    if (s->struct_size != stride)
      return refuse(err, "Setting declaration %u has struct_size %u, unlike the first one (%u).",
                    (unsigned)i + 1, (unsigned)s->struct_size, (unsigned)stride);
  }
  return NB_OK;
}

/* The rules of one entry on its own. */
static int check_entry(const NbSettingSpec *s, uint32_t i, NbError *err) {
  const char *tname, *why;
  if (!is_snake(s->name))
    return refuse(err, "Setting declaration %u has the name \"%s\"; setting names are "
                  "lower_snake_case: a lower-case letter, then letters, digits or single "
                  "underscores, at most %d bytes.",
                  (unsigned)i + 1, s->name != NULL ? s->name : "(null)", MAX_NAME);
  tname = type_name(s->type);
  if (tname == NULL)
    return refuse(err, "Setting \"%s\" has the unrecognized type %u.", s->name, (unsigned)s->type);
  if ((s->flags & ~KNOWN_FLAGS) != 0)
    return refuse(err, "Setting \"%s\" has the unrecognized flags 0x%x.", s->name,
                  (unsigned)(s->flags & ~KNOWN_FLAGS));
  if ((s->flags & NB_SETTING_SOURCE) && (s->flags & NB_SETTING_DEST))
    return refuse(err, "Setting \"%s\" is marked both source-only and destination-only.", s->name);
  if (s->type == NB_SETTING_ENUM && (why = choices_problem(s->choices)) != NULL)
    return refuse(err, "Enum setting \"%s\" %s.", s->name, why);
  if (s->type != NB_SETTING_ENUM && s->choices != NULL)
    return refuse(err, "Setting \"%s\" is not an enum but declares choices.", s->name);
  if ((s->flags & NB_SETTING_REQUIRED) && s->default_value != NULL)
    return refuse(err, "Setting \"%s\" is required and has a default; a default makes it "
                  "optional.", s->name);
  if (s->doc == NULL || s->doc[0] == '\0' || strchr(s->doc, '\n') != NULL ||
      s->doc[strlen(s->doc) - 1] == '.')
    return refuse(err, "Setting \"%s\" needs a doc of one line without a final period.", s->name);
  if (s->default_value != NULL) {
    NbError why_err;
    nb_error_init(&why_err);
    if (nb_setting_value_check(s, s->default_value, &why_err) != NB_OK) {
      refuse(err, "The default value \"%s\" of %s setting \"%s\" is not valid: %s.",
             (s->flags & NB_SETTING_SECRET) ? "(secret)" : s->default_value, tname, s->name,
             why_err.message != NULL ? why_err.message : "rejected");
      nb_error_release(&why_err);
      return NB_INVALID;
    }
  }
  return NB_OK;
}

int nb_settings_declaration_check(const NbSettingSpec *spec, uint32_t n, NbError *err) {
  int rc;
  if (n == 0) return NB_OK;
  if (spec == NULL)
    return refuse(err, "The connector declares %u settings but no table of them.", (unsigned)n);
  if ((rc = check_stride(spec, n, err)) != NB_OK) return rc;
  for (uint32_t i = 0; i < n; i++) {
    const NbSettingSpec *s = nb_setting_spec_at(spec, i);
    if ((rc = check_entry(s, i, err)) != NB_OK) return rc;
    /* The same name twice only for different sides (e.g. a source and a
     * destination default of their own). */
    for (uint32_t j = 0; j < i; j++) {
      const NbSettingSpec *o = nb_setting_spec_at(spec, j);
      if (strcmp(o->name, s->name) == 0 && sides_overlap(o->flags, s->flags))
        return refuse(err, "Setting \"%s\" is declared twice.", s->name);
    }
  }
  return NB_OK;
}
