/*
 * engine_options.h - the engine's options, declared once.
 *
 * Every option of the `engine = { ... }` group is one row of a table of
 * NbSettingSpec declarations (the type connectors declare their settings
 * with: name, type, default as text, enum choices, one line of doc, flags)
 * plus where the value lives in NbhEngineOptions, its range and the
 * command-line option that sets it, if any.  From that one table come:
 *   - the defaults (nbh_engine_options_init),
 *   - reading a value from the file or the command line (config_read.c,
 *     cli_pipeline.c through nbh_config_set_engine),
 *   - the range check the engine makes before a run (engine.c),
 *   - the configuration fingerprint (config_print.c: every row without
 *     NB_SETTING_TUNING),
 *   - the test that the man page and --help name every option.
 * A new engine option is one row here and one field in NbhEngineOptions.
 */
#ifndef NBH_ENGINE_OPTIONS_H
#define NBH_ENGINE_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "nebula/abi.h"

/* How a value is stored in its NbhEngineOptions field. */
typedef enum NbhEngineField {
  NBH_FIELD_U64 = 0,  /* uint64_t, NB_SETTING_INT */
  NBH_FIELD_U32,      /* uint32_t, NB_SETTING_INT */
  NBH_FIELD_SECONDS,  /* double, NB_SETTING_DOUBLE, finite and >= 0 */
  NBH_FIELD_STRING,   /* const char *, NB_SETTING_STRING, NULL or not empty */
  NBH_FIELD_CHOICE,   /* an enum stored as the index of its choice */
  NBH_FIELD_BOOL      /* bool, NB_SETTING_BOOL */
} NbhEngineField;

typedef struct NbhEngineSetting {
  NbSettingSpec spec;   /* name, type, default, choices, doc, flags:
                           NB_SETTING_TUNING = left out of the fingerprint */
  NbhEngineField field;
  size_t offset;        /* of the field in NbhEngineOptions */
  uint64_t minimum;     /* integers: the smallest value allowed */
  const char *option;   /* long command-line option without "--", or NULL */
} NbhEngineSetting;

/* The table, in the order nebula-host(1) documents it. */
const NbhEngineSetting *nbh_engine_settings(size_t *n);

/* The row named name, or NULL. */
const NbhEngineSetting *nbh_engine_setting(const char *name);

/* The row set by the long option (without "--"), or NULL. */
const NbhEngineSetting *nbh_engine_setting_by_option(const char *option);

/* The largest integer a row's field takes. */
uint64_t nbh_engine_setting_maximum(const NbhEngineSetting *s);

/* Store text (already checked against s->spec: type, choices) in o's
 * field.  A string is stored as the pointer text: the caller keeps it
 * alive.  Returns false when the value is out of the row's range (below
 * the minimum, beyond the field, negative seconds, an empty string); then
 * o is unchanged. */
bool nbh_engine_setting_store(NbhEngineOptions *o, const NbhEngineSetting *s, const char *text);

/* "an integer from 1 to 9223372036854775807", "a number of seconds, 0 or
 * more", ...: what the row accepts, for error messages. */
void nbh_engine_setting_expects(const NbhEngineSetting *s, char *buf, size_t size);

/* The value of s in o as text (what the file would say): buf, or the
 * string field itself; NULL when it is unset (a NULL string). */
const char *nbh_engine_setting_text(const NbhEngineOptions *o, const NbhEngineSetting *s,
                                    char *buf, size_t size);

/* Whether every field of o is within its row's range; when not, the name
 * of the first one that is not. */
bool nbh_engine_options_in_range(const NbhEngineOptions *o, const char **bad_name);

#endif /* NBH_ENGINE_OPTIONS_H */
