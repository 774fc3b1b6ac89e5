/*
 * settings.c - reading a connector's settings (NbSettings) and checking them
 * against its declaration (NbSettingSpec): types, enum choices, required
 * settings, unrecognized names with a "did you mean" hint; and reading
 * them through the declaration (nb_declared_*: defaults and choices taken
 * from it).
 *
 * A SECRET setting's value is never quoted in a message: the error travels
 * to logs and terminals.
 */
#define _GNU_SOURCE 1
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sdk_internal.h"

#define QUOTE_CAP 80

/* ------------------------------------------------------------------------
 * Parsing values
 * ------------------------------------------------------------------------ */

/* Decimal integer, optional sign, nothing else. */
static bool parse_int(const char *s, int64_t *out) {
  bool negative = false;
  uint64_t limit, value = 0;
  if (*s == '-' || *s == '+') negative = *s++ == '-';
  if (*s == '\0') return false;
  limit = negative ? (uint64_t)INT64_MAX + 1u : (uint64_t)INT64_MAX;
  for (; *s != '\0'; s++) {
    unsigned digit;
    if (*s < '0' || *s > '9') return false;
    digit = (unsigned)(*s - '0');
    if (value > (limit - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = negative ? (int64_t)(0u - value) : (int64_t)value;
  return true;
}

/* Decimal or scientific notation, finite, in range. */
static bool parse_double(const char *s, double *out) {
  const char *p;
  char *end;
  double v;
  if (*s == '\0') return false;
  for (p = s; *p != '\0'; p++)
    if (strchr("0123456789+-.eE", *p) == NULL) return false;
  errno = 0;
  v = strtod(s, &end);
  if (*end != '\0' || end == s) return false;
  if (errno == ERANGE && (v == 0 || isinf(v))) return false;
  if (!isfinite(v)) return false;
  *out = v;
  return true;
}

static bool parse_bool(const char *s, bool *out) {
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};
  size_t i;
  for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
    if (strcasecmp(s, yes[i]) == 0) return *out = true, true;
    if (strcasecmp(s, no[i]) == 0) return *out = false, true;
  }
  return false;
}

/* Index of value among the '|'-separated choices, -1 if absent. */
static int enum_index(const char *choices, const char *value) {
  size_t len = strlen(value);
  int i = 0;
  const char *p = choices;
  if (choices == NULL) return -1;
  for (;;) {
    const char *bar = strchr(p, '|');
    size_t n = bar != NULL ? (size_t)(bar - p) : strlen(p);
    if (n == len && memcmp(p, value, n) == 0) return i;
    if (bar == NULL) return -1;
    p = bar + 1;
    i++;
  }
}

/* "a|b|c" as "a, b, c" for a detail sentence. */
static char *choices_list(const char *choices) {
  size_t bars = 0, len;
  const char *p;
  char *out, *q;
  if (choices == NULL) return strdup("");
  for (p = choices; *p != '\0'; p++) bars += *p == '|';
  len = strlen(choices) + bars + 1;
  out = malloc(len);
  if (out == NULL) return NULL;
  for (p = choices, q = out; *p != '\0'; p++) {
    if (*p == '|') {
      *q++ = ',';
      *q++ = ' ';
    } else {
      *q++ = *p;
    }
  }
  *q = '\0';
  return out;
}

/* ------------------------------------------------------------------------
 * Getters
 * ------------------------------------------------------------------------ */

static bool settings_usable(const NbSettings *s) {
  return s != NULL &&
         NB_STRUCT_HAS(NbSettings, s, values) &&
         (s->count == 0 || (s->names != NULL && s->values != NULL));
}

const char *nb_settings_find(const NbSettings *settings, const char *name) {
  uint32_t i;
  if (!settings_usable(settings) || name == NULL) return NULL;
  for (i = 0; i < settings->count; i++)
    if (settings->names[i] != NULL && strcmp(settings->names[i], name) == 0)
      return settings->values[i];
  return NULL;
}

/* INT into an int64_t, DOUBLE into a double, BOOL into a bool; false for
 * a value that does not parse (out unchanged) or another type. */
static bool parse_typed(uint32_t type, const char *s, void *out) {
  switch (type) {
    case NB_SETTING_INT: return parse_int(s, out);
    case NB_SETTING_DOUBLE: return parse_double(s, out);
    case NB_SETTING_BOOL: return parse_bool(s, out);
    default: return false;
  }
}

static const char *type_expectation(uint32_t type) {
  switch (type) {
    case NB_SETTING_INT:
      return "a decimal integer between -9223372036854775808 and 9223372036854775807";
    case NB_SETTING_DOUBLE:
      return "a finite decimal number such as 0.5 or 1e-3";
    case NB_SETTING_BOOL:
      return "true or false";
    default:
      return "text";
  }
}

static int type_error(NbError *err, const char *name, const char *value,
                      const char *expected) {
  char quoted[QUOTE_CAP];
  nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": \"%s\"",
               name, nbsdk_quote(value, strlen(value), quoted, sizeof quoted));
  nb_error_detail(err, "The value must be %s.", expected);
  return NB_INVALID;
}

int nb_setting_string(const NbSettings *settings, const char *name,
                      const char *fallback, const char **out, NbError *err) {
  const char *v = nb_settings_find(settings, name);
  (void)err;
  *out = v != NULL ? v : fallback;
  return NB_OK;
}

/* An undeclared typed setting: *out (already its fallback) is replaced
 * by the value when there is one. */
static int typed_setting(const NbSettings *settings, const char *name, uint32_t type,
                         void *out, NbError *err) {
  const char *v = nb_settings_find(settings, name);
  if (v != NULL && !parse_typed(type, v, out))
    return type_error(err, name, v, type_expectation(type));
  return NB_OK;
}

int nb_setting_int(const NbSettings *settings, const char *name,
                   int64_t fallback, int64_t *out, NbError *err) {
  *out = fallback;
  return typed_setting(settings, name, NB_SETTING_INT, out, err);
}

int nb_setting_double(const NbSettings *settings, const char *name,
                      double fallback, double *out, NbError *err) {
  *out = fallback;
  return typed_setting(settings, name, NB_SETTING_DOUBLE, out, err);
}

int nb_setting_bool(const NbSettings *settings, const char *name,
                    bool fallback, bool *out, NbError *err) {
  *out = fallback;
  return typed_setting(settings, name, NB_SETTING_BOOL, out, err);
}

static int enum_error(NbError *err, const char *name, const char *value,
                      const char *choices, bool secret) {
  char quoted[QUOTE_CAP];
  char *list = choices_list(choices);
  if (secret)
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\"", name);
  else
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": \"%s\"",
                 name,
                 nbsdk_quote(value, strlen(value), quoted, sizeof quoted));
  if (list != NULL) nb_error_detail(err, "Valid values are: %s.", list);
  free(list);
  return NB_INVALID;
}

int nb_setting_enum(const NbSettings *settings, const char *name,
                    const char *choices, int fallback, int *out,
                    NbError *err) {
  const char *v = nb_settings_find(settings, name);
  int i;
  if (v == NULL) {
    *out = fallback;
    return NB_OK;
  }
  i = enum_index(choices, v);
  if (i < 0) return enum_error(err, name, v, choices, false);
  *out = i;
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Checking against a declaration
 * ------------------------------------------------------------------------ */

int nb_setting_value_check(const NbSettingSpec *spec, const char *value,
                           NbError *err) {
  char quoted[QUOTE_CAP];
  bool secret, ok;
  union { int64_t i; double d; bool b; } parsed;
  if (spec == NULL || spec->name == NULL)
    return nb_error_set(err, NB_INTERNAL, "setting declaration without a name");
  if (value == NULL)
    return nb_error_set(err, NB_INVALID, "setting \"%s\" has no value",
                        spec->name);
  secret = (spec->flags & NB_SETTING_SECRET) != 0;
  switch (spec->type) {
    case NB_SETTING_STRING:
      return NB_OK;
    case NB_SETTING_INT:
    case NB_SETTING_DOUBLE:
    case NB_SETTING_BOOL:
      ok = parse_typed(spec->type, value, &parsed);
      break;
    case NB_SETTING_ENUM:
      if (enum_index(spec->choices, value) >= 0) return NB_OK;
      return enum_error(err, spec->name, value, spec->choices, secret);
    default:
      return nb_error_set(err, NB_INTERNAL,
                          "setting \"%s\" is declared with unrecognized type %u",
                          spec->name, (unsigned)spec->type);
  }
  if (ok) return NB_OK;
  if (secret)
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\"",
                 spec->name);
  else
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\": \"%s\"",
                 spec->name,
                 nbsdk_quote(value, strlen(value), quoted, sizeof quoted));
  nb_error_detail(err, "The value must be %s.", type_expectation(spec->type));
  return NB_INVALID;
}

/* Levenshtein distance, capped: names longer than the row are compared by
 * their first 63 bytes, which is plenty for a typo hint. */
static size_t edit_distance(const char *a, const char *b) {
  size_t row[64];
  size_t la = strlen(a), lb = strlen(b), i, j;
  if (la > 63) la = 63;
  if (lb > 63) lb = 63;
  for (j = 0; j <= lb; j++) row[j] = j;
  for (i = 1; i <= la; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (j = 1; j <= lb; j++) {
      size_t up = row[j];
      size_t best = diag + (a[i - 1] != b[j - 1]);
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[lb];
}

static bool applies_to(const NbSettingSpec *s, uint32_t side) {
  uint32_t sides = s->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  return sides == 0 || side == 0 || (sides & side) != 0;
}

static const char *side_name(uint32_t side) {
  return side == NB_SETTING_SOURCE ? "source" : "destination";
}

static int unrecognized(const char *name, const NbSettingSpec *spec,
                        uint32_t n_spec, uint32_t side, NbError *err) {
  const char *best = NULL;
  size_t best_distance = (size_t)-1, limit;
  uint32_t i;
  for (i = 0; i < n_spec; i++) {
    const NbSettingSpec *s = nb_setting_spec_at(spec, i);
    if (s->name != NULL && !applies_to(s, side) && strcmp(s->name, name) == 0)
      return nb_error_set(
          err, NB_INVALID, "setting \"%s\" applies only to a %s, not to a %s",
          name,
          side_name(side == NB_SETTING_SOURCE ? NB_SETTING_DEST
                                              : NB_SETTING_SOURCE),
          side_name(side));
  }
  for (i = 0; i < n_spec; i++) {
    const NbSettingSpec *s = nb_setting_spec_at(spec, i);
    size_t d;
    if (s->name == NULL || !applies_to(s, side)) continue;
    d = edit_distance(name, s->name);
    if (d < best_distance) {
      best_distance = d;
      best = s->name;
    }
  }
  nb_error_set(err, NB_INVALID, "unrecognized setting \"%s\"", name);
  /* A hint only for a plausible typo: up to a third of the name wrong. */
  limit = strlen(name) / 3 + 1;
  if (limit > 3) limit = 3;
  if (best != NULL && best_distance <= limit)
    nb_error_hint(err, "Did you mean \"%s\"?", best);
  return NB_INVALID;
}

int nb_settings_check(const NbSettings *settings, const NbSettingSpec *spec,
                      uint32_t n_spec, uint32_t side, NbError *err) {
  uint32_t count = 0, i, j;
  if (settings != NULL && !settings_usable(settings))
    return nb_error_set(err, NB_INTERNAL, "malformed settings structure");
  if (n_spec > 0 && spec == NULL)
    return nb_error_set(err, NB_INTERNAL, "settings declaration is missing");
  if (settings != NULL) count = settings->count;

  for (i = 0; i < count; i++) {
    const char *name = settings->names[i];
    const NbSettingSpec *match = NULL;
    int rc;
    if (name == NULL)
      return nb_error_set(err, NB_INTERNAL, "setting %u has no name",
                          (unsigned)i);
    for (j = 0; j < i; j++)
      if (strcmp(settings->names[j], name) == 0)
        return nb_error_set(err, NB_INVALID,
                            "setting \"%s\" is given more than once", name);
    for (j = 0; j < n_spec; j++) {
      const NbSettingSpec *s = nb_setting_spec_at(spec, j);
      if (s->name != NULL && applies_to(s, side) &&
          strcmp(s->name, name) == 0) {
        match = s;
        break;
      }
    }
    if (match == NULL) return unrecognized(name, spec, n_spec, side, err);
    rc = nb_setting_value_check(match, settings->values[i], err);
    if (rc != NB_OK) return rc;
  }

  for (j = 0; j < n_spec; j++) {
    const NbSettingSpec *s = nb_setting_spec_at(spec, j);
    if (s->name == NULL || !applies_to(s, side) ||
        !(s->flags & NB_SETTING_REQUIRED))
      continue;
    if (nb_settings_find(settings, s->name) != NULL) continue;
    nb_error_set(err, NB_INVALID, "missing required setting \"%s\"", s->name);
    if (s->doc != NULL && s->doc[0] != '\0')
      nb_error_detail(err, "Setting \"%s\": %s.", s->name, s->doc);
    return NB_INVALID;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * Reading through the declaration
 * ------------------------------------------------------------------------ */

const NbSettingSpec *nb_declared_spec(const NbDeclaredSettings *d, const char *name) {
  uint32_t i;
  if (d == NULL || name == NULL || !NB_STRUCT_HAS(NbDeclaredSettings, d, n_spec) ||
      d->spec == NULL)
    return NULL;
  for (i = 0; i < d->n_spec; i++) {
    const NbSettingSpec *s = nb_setting_spec_at(d->spec, i);
    if (s->name != NULL && applies_to(s, d->side) && strcmp(s->name, name) == 0) return s;
  }
  return NULL;
}

/* The declaration's entry for name, which must have type `type`, and its
 * text: the value given, else the default (NULL: neither). */
static int declared_text(const NbDeclaredSettings *d, const char *name, uint32_t type,
                         const NbSettingSpec **spec, const char **text, NbError *err) {
  const NbSettingSpec *s = nb_declared_spec(d, name);
  if (s == NULL)
    return nb_error_set(err, NB_INTERNAL, "setting \"%s\" is read but not declared for the %s",
                        name ? name : "(null)", side_name(d ? d->side : 0));
  if (s->type != type && !(type == NB_SETTING_STRING && s->type == NB_SETTING_ENUM))
    return nb_error_set(err, NB_INTERNAL, "setting \"%s\" is read as another type than declared",
                        name);
  *spec = s;
  *text = nb_settings_find(d->settings, name);
  if (*text == NULL) *text = s->default_value;
  if ((*text == NULL || (*text)[0] == '\0') && (s->flags & NB_SETTING_REQUIRED))
    return nb_error_set(err, NB_INVALID, "%s setting \"%s\"",
                        *text == NULL ? "missing required" : "empty value for required", name);
  if (*text == NULL && type != NB_SETTING_STRING)
    return nb_error_set(err, NB_INTERNAL, "setting \"%s\" has no value and no declared default",
                        name);
  return NB_OK;
}

/* A value of spec that does not parse: the value quoted unless SECRET. */
static int declared_type_error(const NbSettingSpec *spec, const char *value, NbError *err) {
  if (spec->flags & NB_SETTING_SECRET) {
    nb_error_set(err, NB_INVALID, "invalid value for setting \"%s\"", spec->name);
    nb_error_detail(err, "The value must be %s.", type_expectation(spec->type));
    return NB_INVALID;
  }
  return type_error(err, spec->name, value, type_expectation(spec->type));
}

int nb_declared_string(const NbDeclaredSettings *d, const char *name, const char **out,
                       NbError *err) {
  const NbSettingSpec *spec;
  const char *text;
  int rc = declared_text(d, name, NB_SETTING_STRING, &spec, &text, err);
  *out = NULL;
  if (rc != NB_OK) return rc;
  if (text != NULL && spec->type == NB_SETTING_ENUM && enum_index(spec->choices, text) < 0)
    return enum_error(err, name, text, spec->choices, (spec->flags & NB_SETTING_SECRET) != 0);
  *out = text;
  return NB_OK;
}

/* A declared INT or BOOL setting's value (or default) into *out. */
static int declared_typed(const NbDeclaredSettings *d, const char *name, uint32_t type,
                          void *out, NbError *err) {
  const NbSettingSpec *spec;
  const char *text;
  int rc = declared_text(d, name, type, &spec, &text, err);
  if (rc != NB_OK) return rc;
  return parse_typed(type, text, out) ? NB_OK : declared_type_error(spec, text, err);
}

int nb_declared_int(const NbDeclaredSettings *d, const char *name, int64_t *out, NbError *err) {
  return declared_typed(d, name, NB_SETTING_INT, out, err);
}

int nb_declared_bool(const NbDeclaredSettings *d, const char *name, bool *out, NbError *err) {
  return declared_typed(d, name, NB_SETTING_BOOL, out, err);
}

int nb_declared_enum(const NbDeclaredSettings *d, const char *name, int *out, NbError *err) {
  const NbSettingSpec *spec;
  const char *text;
  int rc = declared_text(d, name, NB_SETTING_ENUM, &spec, &text, err);
  if (rc != NB_OK) return rc;
  int i = enum_index(spec->choices, text);
  if (i < 0)
    return enum_error(err, name, text, spec->choices, (spec->flags & NB_SETTING_SECRET) != 0);
  *out = i;
  return NB_OK;
}
