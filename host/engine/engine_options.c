/*
 * engine_options.c - the table of engine options (engine_options.h) and
 * the few functions that read and write NbhEngineOptions through it.
 */
#include "engine_options.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"

#define ROW(name, type, flags, def, choices, doc, field, member, min, option)                     \
  {{(uint32_t)sizeof(NbSettingSpec), (type), (flags), (name), (def), (choices), (doc)},          \
   (field), offsetof(NbhEngineOptions, member), (min), (option)}

#define TUNING NB_SETTING_TUNING

/* Defaults, and why:
 *   batch_rows 4096: small batches win: a batch of ~4k rows (~0.5 MiB of
 *     taxi data) stays in L2 between the source that builds it and the
 *     destination that reads it, and its buffers stay below the mmap
 *     threshold.  Measured on 1M taxi rows, csv -> json lines: 4096-row
 *     batches take 0.6x the wall time and 0.4x the peak RSS of 65536-row
 *     batches (bench/RESULTS.md).
 *   max_empty_batches 10000: a source that spins calls source_next
 *     millions of times a second; one that polls an idle input typically
 *     waits in the call.  Ten thousand empty batches without moving is a
 *     spin, not a wait.
 * Only on_error, max_errors and dead_letter change what a run produces;
 * the rest (sizes, commit triggers, the state file's own name, retries,
 * watchdog, metrics, progress) are TUNING and never block a resume. */
static const NbhEngineSetting engine_settings[] = {
    ROW("batch_rows", NB_SETTING_INT, TUNING, "4096", NULL, "rows per batch",
        NBH_FIELD_U64, batch_rows, 1, "batch-rows"),
    ROW("batch_bytes", NB_SETTING_INT, TUNING, "1048576", NULL, "bytes per batch",
        NBH_FIELD_U64, batch_bytes, 1, NULL),
    ROW("buffer_bytes", NB_SETTING_INT, TUNING, "67108864", NULL,
        "bytes of batches queued between source and destination", NBH_FIELD_U64, buffer_bytes,
        1, NULL),
    ROW("buffer_batches", NB_SETTING_INT, TUNING, "16", NULL,
        "batches queued between source and destination", NBH_FIELD_U32, buffer_batches, 1, NULL),
    ROW("commit_rows", NB_SETTING_INT, TUNING, "0", NULL,
        "commit after this many rows, 0 = never by rows", NBH_FIELD_U64, commit_rows, 0, NULL),
    ROW("commit_bytes", NB_SETTING_INT, TUNING, "0", NULL,
        "commit after this many bytes, 0 = never by bytes", NBH_FIELD_U64, commit_bytes, 0,
        NULL),
    ROW("commit_interval", NB_SETTING_DOUBLE, TUNING, "5", NULL,
        "commit after this many seconds, 0 = never by time", NBH_FIELD_SECONDS, commit_seconds,
        0, NULL),
    ROW("state_file", NB_SETTING_STRING, TUNING, NULL, NULL,
        "checkpoint to this file and resume from it", NBH_FIELD_STRING, state_file, 0, "state"),
    ROW("on_error", NB_SETTING_ENUM, 0, "fail", "fail|skip|dead_letter",
        "what a bad record does", NBH_FIELD_CHOICE, on_error, 0, "on-error"),
    ROW("max_errors", NB_SETTING_INT, 0, "0", NULL,
        "fail after this many rejected records, 0 = no limit", NBH_FIELD_U64, max_errors, 0,
        "max-errors"),
    ROW("dead_letter", NB_SETTING_STRING, 0, NULL, NULL,
        "JSON Lines file for rejected records (on_error = dead_letter)", NBH_FIELD_STRING,
        dead_letter_path, 0, "dead-letter"),
    ROW("max_retries", NB_SETTING_INT, TUNING, "5", NULL,
        "retries of a transient connector error", NBH_FIELD_U32, max_retries, 0, NULL),
    ROW("retry_deadline", NB_SETTING_DOUBLE, TUNING, "300", NULL,
        "seconds all retries of one call may take", NBH_FIELD_SECONDS, retry_deadline_seconds,
        0, NULL),
    ROW("stall_timeout", NB_SETTING_DOUBLE, TUNING, "0", NULL,
        "fail a call that makes no progress for this many seconds, 0 = never",
        NBH_FIELD_SECONDS, stall_timeout_seconds, 0, NULL),
    ROW("max_empty_batches", NB_SETTING_INT, TUNING, "10000", NULL,
        "empty batches in a row that do not move the source, 0 = no limit", NBH_FIELD_U64,
        max_empty_batches, 0, NULL),
    ROW("metrics_addr", NB_SETTING_STRING, TUNING, NULL, NULL,
        "serve Prometheus metrics on this address", NBH_FIELD_STRING, metrics_addr, 0,
        "metrics-addr"),
    ROW("progress", NB_SETTING_BOOL, TUNING, "false", NULL, "show the progress line on stderr",
        NBH_FIELD_BOOL, progress, 0, NULL),
};

#undef ROW
#undef TUNING

#define N_ENGINE_SETTINGS (sizeof engine_settings / sizeof engine_settings[0])

/* NBH_FIELD_CHOICE fields are enums written and read as int. */
_Static_assert(sizeof(NbhOnError) == sizeof(int), "NbhOnError is stored as an int");

const NbhEngineSetting *nbh_engine_settings(size_t *n) {
  *n = N_ENGINE_SETTINGS;
  return engine_settings;
}

const NbhEngineSetting *nbh_engine_setting(const char *name) {
  for (size_t i = 0; i < N_ENGINE_SETTINGS; i++)
    if (strcmp(engine_settings[i].spec.name, name) == 0) return &engine_settings[i];
  return NULL;
}

const NbhEngineSetting *nbh_engine_setting_by_option(const char *option) {
  for (size_t i = 0; i < N_ENGINE_SETTINGS; i++)
    if (engine_settings[i].option != NULL && strcmp(engine_settings[i].option, option) == 0)
      return &engine_settings[i];
  return NULL;
}

uint64_t nbh_engine_setting_maximum(const NbhEngineSetting *s) {
  return s->field == NBH_FIELD_U32 ? UINT32_MAX : (uint64_t)INT64_MAX;
}

/* The index-th word of "a|b|c" copied to buf, or false. */
static bool choice_word(const char *choices, unsigned index, char *buf, size_t size) {
  const char *p = choices;
  for (unsigned i = 0; p != NULL && *p; i++) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (i == index) {
      if (n >= size) return false;
      memcpy(buf, p, n);
      buf[n] = '\0';
      return true;
    }
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

/* Text is read by the SDK's readers of connector settings (nb_setting_*),
 * so an engine option and a connector setting of the same type accept the
 * same text; then the row's range applies. */
bool nbh_engine_setting_store(NbhEngineOptions *o, const NbhEngineSetting *s, const char *text) {
  const char *name = s->spec.name;
  NbSettings one = {(uint32_t)sizeof one, 1, &name, &text};
  char *field = (char *)o + s->offset;
  NbError err;
  bool ok = false;
  nb_error_init(&err);
  switch (s->field) {
    case NBH_FIELD_U64:
    case NBH_FIELD_U32: {
      int64_t n;
      ok = nb_setting_int(&one, name, 0, &n, &err) == NB_OK && n >= 0 &&
           (uint64_t)n >= s->minimum && (uint64_t)n <= nbh_engine_setting_maximum(s);
      if (ok && s->field == NBH_FIELD_U32) {
        uint32_t n32 = (uint32_t)n;
        memcpy(field, &n32, sizeof n32);
      } else if (ok) {
        uint64_t n64 = (uint64_t)n;
        memcpy(field, &n64, sizeof n64);
      }
      break;
    }
    case NBH_FIELD_SECONDS: {
      double d;
      ok = nb_setting_double(&one, name, 0, &d, &err) == NB_OK && isfinite(d) && d >= 0;
      if (ok) memcpy(field, &d, sizeof d);
      break;
    }
    case NBH_FIELD_STRING:
      ok = text[0] != '\0';
      if (ok) memcpy(field, &text, sizeof text);
      break;
    case NBH_FIELD_CHOICE: {
      /* The enum fields (NbhOnError) are ints numbered as the choices. */
      int index;
      ok = nb_setting_enum(&one, name, s->spec.choices, 0, &index, &err) == NB_OK;
      if (ok) memcpy(field, &index, sizeof index);
      break;
    }
    case NBH_FIELD_BOOL: {
      bool b;
      ok = nb_setting_bool(&one, name, false, &b, &err) == NB_OK;
      if (ok) memcpy(field, &b, sizeof b);
      break;
    }
  }
  nb_error_release(&err);
  return ok;
}

void nbh_engine_setting_expects(const NbhEngineSetting *s, char *buf, size_t size) {
  switch (s->field) {
    case NBH_FIELD_U64:
    case NBH_FIELD_U32:
      snprintf(buf, size, "an integer from %llu to %llu", (unsigned long long)s->minimum,
               (unsigned long long)nbh_engine_setting_maximum(s));
      return;
    case NBH_FIELD_SECONDS: snprintf(buf, size, "a number of seconds, 0 or more"); return;
    case NBH_FIELD_STRING: snprintf(buf, size, "a non-empty string"); return;
    case NBH_FIELD_CHOICE: snprintf(buf, size, "one of %s", s->spec.choices); return;
    case NBH_FIELD_BOOL: snprintf(buf, size, "true or false"); return;
  }
  snprintf(buf, size, "a valid value");
}

const char *nbh_engine_setting_text(const NbhEngineOptions *o, const NbhEngineSetting *s,
                                    char *buf, size_t size) {
  const char *field = (const char *)o + s->offset;
  switch (s->field) {
    case NBH_FIELD_U64: {
      uint64_t n;
      memcpy(&n, field, sizeof n);
      snprintf(buf, size, "%llu", (unsigned long long)n);
      return buf;
    }
    case NBH_FIELD_U32: {
      uint32_t n;
      memcpy(&n, field, sizeof n);
      snprintf(buf, size, "%lu", (unsigned long)n);
      return buf;
    }
    case NBH_FIELD_SECONDS: {
      double d;
      memcpy(&d, field, sizeof d);
      /* The shortest text that reads back as exactly d. */
      for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, size, "%.*g", digits, d);
        if (strtod(buf, NULL) == d) break;
      }
      return buf;
    }
    case NBH_FIELD_STRING: {
      const char *text;
      memcpy(&text, field, sizeof text);
      return text; /* not copied: a path may be longer than buf */
    }
    case NBH_FIELD_CHOICE: {
      int index;
      memcpy(&index, field, sizeof index);
      /* An index out of range reads as the first choice, as it runs. */
      if (index < 0 || !choice_word(s->spec.choices, (unsigned)index, buf, size))
        return choice_word(s->spec.choices, 0, buf, size) ? buf : NULL;
      return buf;
    }
    case NBH_FIELD_BOOL: {
      bool b;
      memcpy(&b, field, sizeof b);
      snprintf(buf, size, "%s", b ? "true" : "false");
      return buf;
    }
  }
  return NULL;
}

static bool field_in_range(const NbhEngineOptions *o, const NbhEngineSetting *s) {
  const char *field = (const char *)o + s->offset;
  char word[64];
  switch (s->field) {
    case NBH_FIELD_U64: {
      uint64_t n;
      memcpy(&n, field, sizeof n);
      return n >= s->minimum && n <= nbh_engine_setting_maximum(s);
    }
    case NBH_FIELD_U32: {
      uint32_t n;
      memcpy(&n, field, sizeof n);
      return n >= s->minimum;
    }
    case NBH_FIELD_SECONDS: {
      double d;
      memcpy(&d, field, sizeof d);
      return isfinite(d) && d >= 0;
    }
    case NBH_FIELD_STRING: {
      const char *text;
      memcpy(&text, field, sizeof text);
      return text == NULL || text[0] != '\0';
    }
    case NBH_FIELD_CHOICE: {
      int index;
      memcpy(&index, field, sizeof index);
      return index >= 0 && choice_word(s->spec.choices, (unsigned)index, word, sizeof word);
    }
    case NBH_FIELD_BOOL: return true;
  }
  return false;
}

bool nbh_engine_options_in_range(const NbhEngineOptions *o, const char **bad_name) {
  for (size_t i = 0; i < N_ENGINE_SETTINGS; i++)
    if (!field_in_range(o, &engine_settings[i])) {
      *bad_name = engine_settings[i].spec.name;
      return false;
    }
  return true;
}

void nbh_engine_options_init(NbhEngineOptions *o) {
  memset(o, 0, sizeof *o);
  for (size_t i = 0; i < N_ENGINE_SETTINGS; i++) {
    const NbhEngineSetting *s = &engine_settings[i];
    /* The defaults are constant text of the right type (tested). */
    if (s->spec.default_value != NULL) (void)nbh_engine_setting_store(o, s, s->spec.default_value);
  }
}
