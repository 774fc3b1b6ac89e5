/*
 * pipeline_config.h - a pipeline's configuration: read from a libconfig
 * file (or assembled from command-line options), checked against the
 * settings the connectors declare, and turned into NbSettings and
 * NbhEngineOptions.
 *
 *   source      = { connector = "csv";  path = "in.csv"; };
 *   destination = { connector = "json"; path = "out.jsonl"; format = "lines"; };
 *   engine      = { batch_rows = 65536; commit_interval = 5.0; };   (optional)
 *
 * String values may refer to environment variables as ${NAME} (an unset
 * variable is an error) or ${NAME:-fallback}; "$${" is a literal "${".
 * Every error names the file and line (or the command-line option) and the
 * setting, as "group.setting".
 */
#ifndef NBH_PIPELINE_CONFIG_H
#define NBH_PIPELINE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "engine.h"
#include "loader.h"
#include "log.h"
#include "nebula/abi.h"

/* What a value looked like where it was written: libconfig's scalar types,
 * or untyped text from the command line. */
typedef enum NbhValueKind {
  NBH_VALUE_TEXT = 0,
  NBH_VALUE_STRING,
  NBH_VALUE_INT,
  NBH_VALUE_FLOAT,
  NBH_VALUE_BOOL
} NbhValueKind;

typedef struct NbhConfigValue {
  char *name;
  char *text;           /* the value as text, ${} substituted */
  NbhValueKind kind;
  int line;             /* line in the file, 0 when from the command line */
  char *option;         /* the command-line option that gave it, or NULL */
} NbhConfigValue;

/* One side (source or destination) of the pipeline. */
typedef struct NbhConfigSide {
  char *connector;      /* the connector's name */
  int line;             /* line of the group (0: command line) */
  NbhConfigValue *values; /* as written, in order */
  size_t n_values;

  /* Filled by nbh_config_resolve: */
  const NbhPlugin *plugin;
  NbSettings settings;  /* points at names/texts below */
  const char **names;   /* declared order; strings owned by the config or
                           the connector (defaults) */
  const char **texts;
  bool *secret;         /* texts[i] must never be printed */
  bool *defaulted;      /* texts[i] is the connector's default */
} NbhConfigSide;

typedef struct NbhConfig {
  char *path;           /* the file, or NULL when built from options */
  char *text;           /* the file's text as read, owned (numbers are
                           read from it: config_number.h), or NULL */
  NbhConfigSide source;
  NbhConfigSide destination;
  NbhConfigValue *either; /* -s key=value: whichever side declares it */
  size_t n_either;
  NbhEngineOptions engine; /* strings owned by the config */
  char **owned;
  size_t n_owned;
} NbhConfig;

/* Zero cfg and set the engine defaults (nbh_engine_options_init). */
void nbh_config_init(NbhConfig *cfg);
void nbh_config_free(NbhConfig *cfg);

/* Read path ("-" is standard input) into cfg (initialised).  Checks the
 * syntax, the groups, the engine settings and ${} references; connector
 * settings are only collected here (their declarations come with the
 * connectors).  Returns NB_OK, NB_NOT_FOUND or NB_IO (file cannot be read),
 * NB_INVALID (anything else), NB_NOMEM. */
int nbh_config_load(NbhConfig *cfg, const char *path, NbError *err);

/* Command-line assembly.  `option` names the option for messages
 * ("--source-path", "-s").  Later values replace earlier ones of the same
 * name.  Return NB_OK or NB_NOMEM. */
int nbh_config_set_connector(NbhConfig *cfg, NbhConfigSide *side, const char *name);
int nbh_config_add_setting(NbhConfig *cfg, NbhConfigSide *side, const char *name,
                           const char *text, const char *option);
int nbh_config_add_either(NbhConfig *cfg, const char *name, const char *text,
                          const char *option);

/* Set an engine setting (the names of the engine group) from text given on
 * the command line; overrides the file.  NB_INVALID names the option. */
int nbh_config_set_engine(NbhConfig *cfg, const char *name, const char *text,
                          const char *option, NbError *err);

/* Find both connectors in plugins, check every setting against their
 * declarations (unrecognized names with a "did you mean" hint, types,
 * required settings, enum choices), fill in defaults, build the
 * NbSettings, and register secret values with logger (may be NULL).
 * Returns NB_OK, NB_NOT_FOUND (a connector is missing), NB_INVALID,
 * NB_NOMEM. */
int nbh_config_resolve(NbhConfig *cfg, const NbhPluginSet *plugins, NbhLogger *logger,
                       NbError *err);

/* "source" or "destination". */
const char *nbh_config_side_name(const NbhConfig *cfg, const NbhConfigSide *side);

#endif /* NBH_PIPELINE_CONFIG_H */
