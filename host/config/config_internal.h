/*
 * config_internal.h - what the two halves of the configuration code share:
 * config_read.c (the file, ${ENV}, the engine group) and pipeline_config.c
 * (values, resolution against the connectors' declarations).  Not for use
 * outside host/config.
 */
#ifndef NBH_CONFIG_INTERNAL_H
#define NBH_CONFIG_INTERNAL_H

#include "pipeline_config.h"

/* Keep text (malloc'ed) until nbh_config_free; returns it, or NULL (text
 * freed) when out of memory. */
char *nbh_config_own(NbhConfig *cfg, char *text);

/* nb_error_set with where the value was written appended to the message
 * (` in file "p.conf" line 3`, ` given by option -s`) and recorded in
 * err->location / err->line.  Returns code. */
int nbh_config_fail_at(NbError *err, int code, const NbhConfig *cfg, int line,
                       const char *option, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* "an integer", "a string", ... */
const char *nbh_config_kind_name(NbhValueKind kind);

/* The shortest text that reads back as exactly d (malloc'ed, or NULL). */
char *nbh_config_double_text(double d);

/* Check one value against its declaration (the same rules and messages
 * for connector settings and engine options): the kind as written, enum
 * choices with a "did you mean", 64-bit range, the declared type.  group
 * prefixes the setting ("source", "engine"), owner says who declares it
 * ("Connector \"csv\"", "The engine").  A secret's value is never quoted.
 * Returns NB_OK or NB_INVALID. */
int nbh_config_check_value(const NbhConfig *cfg, const char *group, const char *owner,
                           const NbhConfigValue *v, const NbSettingSpec *spec, NbError *err);

/* Free a value's strings. */
void nbh_config_value_free(NbhConfigValue *v);

/* Put a value into values (replacing one of the same name).  NB_OK or
 * NB_NOMEM. */
int nbh_config_values_put(NbhConfigValue **values, size_t *n, const char *name, const char *text,
                          NbhValueKind kind, int line, const char *option);

#endif /* NBH_CONFIG_INTERNAL_H */
