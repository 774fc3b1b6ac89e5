/*
 * pipeline_config.c - a pipeline's settings: the values as given (file or
 * command line), and their resolution against the declarations the
 * connectors carry (unrecognized names, types, choices, required settings,
 * defaults, secrets).  Reading the file itself is config_read.c's part.
 * Errors name the file and line (or the command-line option) and the
 * setting as "group.setting", PostgreSQL style.
 */
#include "pipeline_config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "config_number.h"
#include "nebula/sdk.h"
#include "textutil.h"

/* ------------------------------------------------------------------------
 * Building blocks
 * ------------------------------------------------------------------------ */

char *nbh_config_own(NbhConfig *cfg, char *text) {
  char **grown;
  if (text == NULL) return NULL;
  grown = realloc(cfg->owned, (cfg->n_owned + 1) * sizeof *grown);
  if (grown == NULL) {
    free(text);
    return NULL;
  }
  cfg->owned = grown;
  cfg->owned[cfg->n_owned++] = text;
  return text;
}

/* Where a value was written, as the tail of a primary message:
 * ` in file "p.conf" line 3` or ` given by option --source-path`. */
static char *where(const NbhConfig *cfg, int line, const char *option) {
  if (option != NULL) return nbh_format(" given by option %s", option);
  if (cfg->path == NULL) return strdup("");
  if (strcmp(cfg->path, "-") == 0)
    return line > 0 ? nbh_format(" in standard input line %d", line) : strdup(" in standard input");
  if (line > 0) return nbh_format(" in file \"%s\" line %d", cfg->path, line);
  return nbh_format(" in file \"%s\"", cfg->path);
}

int nbh_config_fail_at(NbError *err, int code, const NbhConfig *cfg, int line,
                       const char *option, const char *fmt, ...) {
  NbhBuf buf = NBH_BUF_INIT;
  char *tail = where(cfg, line, option);
  va_list ap;
  va_start(ap, fmt);
  nbh_buf_vprintf(&buf, fmt, ap);
  va_end(ap);
  if (tail != NULL) nbh_buf_puts(&buf, tail);
  free(tail);
  nb_error_set(err, code, "%s", nbh_buf_text(&buf) ? nbh_buf_text(&buf) : "out of memory");
  nbh_buf_free(&buf);
  if (option == NULL && cfg->path != NULL) nb_error_locate(err, cfg->path, line, 0);
  return code;
}

const char *nbh_config_kind_name(NbhValueKind kind) {
  switch (kind) {
    case NBH_VALUE_STRING: return "a string";
    case NBH_VALUE_INT: return "an integer";
    case NBH_VALUE_FLOAT: return "a floating-point number";
    case NBH_VALUE_BOOL: return "a boolean";
    default: return "text";
  }
}

const char *nbh_config_side_name(const NbhConfig *cfg, const NbhConfigSide *side) {
  return side == &cfg->source ? "source" : "destination";
}

/* The shortest text that reads back as exactly d: "5" not
 * "5.0000000000000000", "0.1" not "0.10000000000000001". */
char *nbh_config_double_text(double d) {
  char buf[64];
  int precision;
  for (precision = 1; precision <= 17; precision++) {
    snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (strtod(buf, NULL) == d) break;
  }
  return strdup(buf);
}

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

void nbh_config_value_free(NbhConfigValue *v) {
  free(v->name);
  free(v->text);
  free(v->option);
}

int nbh_config_values_put(NbhConfigValue **values, size_t *n, const char *name, const char *text,
                      NbhValueKind kind, int line, const char *option) {
  NbhConfigValue v, *grown;
  size_t i;
  memset(&v, 0, sizeof v);
  v.name = strdup(name);
  v.text = strdup(text);
  v.option = option != NULL ? strdup(option) : NULL;
  v.kind = kind;
  v.line = line;
  if (v.name == NULL || v.text == NULL || (option != NULL && v.option == NULL)) {
    nbh_config_value_free(&v);
    return NB_NOMEM;
  }
  for (i = 0; i < *n; i++) {
    if (strcmp((*values)[i].name, name) == 0) {
      nbh_config_value_free(&(*values)[i]);
      (*values)[i] = v;
      return NB_OK;
    }
  }
  grown = realloc(*values, (*n + 1) * sizeof *grown);
  if (grown == NULL) {
    nbh_config_value_free(&v);
    return NB_NOMEM;
  }
  *values = grown;
  (*values)[(*n)++] = v;
  return NB_OK;
}

int nbh_config_set_connector(NbhConfig *cfg, NbhConfigSide *side, const char *name) {
  char *copy = strdup(name);
  (void)cfg;
  if (copy == NULL) return NB_NOMEM;
  free(side->connector);
  side->connector = copy;
  return NB_OK;
}

int nbh_config_add_setting(NbhConfig *cfg, NbhConfigSide *side, const char *name,
                           const char *text, const char *option) {
  (void)cfg;
  return nbh_config_values_put(&side->values, &side->n_values, name, text, NBH_VALUE_TEXT, 0, option);
}

int nbh_config_add_either(NbhConfig *cfg, const char *name, const char *text,
                          const char *option) {
  return nbh_config_values_put(&cfg->either, &cfg->n_either, name, text, NBH_VALUE_TEXT, 0, option);
}

void nbh_config_init(NbhConfig *cfg) {
  memset(cfg, 0, sizeof *cfg);
  nbh_engine_options_init(&cfg->engine);
}

/* ------------------------------------------------------------------------
 * Checking connector settings
 * ------------------------------------------------------------------------ */

static bool applies_to(const NbSettingSpec *spec, uint32_t side_flag) {
  uint32_t sides = spec->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  return sides == 0 || (sides & side_flag) != 0;
}

static const NbSettingSpec *find_spec(const NbhPlugin *plugin, const char *name,
                                      uint32_t side_flag) {
  uint32_t i;
  for (i = 0; i < plugin->vtable.n_settings; i++) {
    const NbSettingSpec *s = nbh_connector_setting(&plugin->vtable, i);
    if (applies_to(s, side_flag) && strcmp(s->name, name) == 0) return s;
  }
  return NULL;
}

static const char *spec_type_name(const NbSettingSpec *spec) {
  switch (spec->type) {
    case NB_SETTING_STRING: return "a string";
    case NB_SETTING_INT: return "an integer";
    case NB_SETTING_DOUBLE: return "a number";
    case NB_SETTING_BOOL: return "a boolean";
    default: return "one of its choices";
  }
}

static const char *type_hint(const NbSettingSpec *spec) {
  switch (spec->type) {
    case NB_SETTING_STRING:
    case NB_SETTING_ENUM: return "Put the value in double quotes.";
    case NB_SETTING_INT: return "Write the integer without quotes or a decimal point.";
    case NB_SETTING_DOUBLE: return "Write the number without quotes.";
    case NB_SETTING_BOOL: return "Write true or false, without quotes.";
    default: return NULL;
  }
}

static bool kind_fits(NbhValueKind kind, const NbSettingSpec *spec) {
  switch (kind) {
    case NBH_VALUE_TEXT: return true;
    case NBH_VALUE_STRING: return spec->type == NB_SETTING_STRING || spec->type == NB_SETTING_ENUM;
    case NBH_VALUE_INT: return spec->type == NB_SETTING_INT || spec->type == NB_SETTING_DOUBLE;
    case NBH_VALUE_FLOAT: return spec->type == NB_SETTING_DOUBLE;
    case NBH_VALUE_BOOL: return spec->type == NB_SETTING_BOOL;
  }
  return false;
}

/* `"a", "b" or "c"` from "a|b|c". */
static char *choices_text(const char *choices) {
  NbhBuf buf = NBH_BUF_INIT;
  const char *p = choices;
  while (p != NULL && *p) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (buf.len > 0) nbh_buf_puts(&buf, bar ? ", " : " or ");
    nbh_buf_puts(&buf, "\"");
    nbh_buf_append(&buf, p, n);
    nbh_buf_puts(&buf, "\"");
    p = bar ? bar + 1 : NULL;
  }
  return nbh_buf_take(&buf);
}

static bool choice_is_listed(const char *choices, const char *value) {
  const char *p = choices;
  size_t len = strlen(value);
  while (p != NULL && *p) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n == len && memcmp(p, value, n) == 0) return true;
    p = bar ? bar + 1 : NULL;
  }
  return false;
}

static int unrecognized_setting(const NbhConfig *cfg, const NbhConfigSide *side,
                                const NbhConfigValue *v, uint32_t side_flag, NbError *err) {
  const NbhPlugin *plugin = side->plugin;
  const char *side_name = nbh_config_side_name(cfg, side);
  const char **names;
  const char *guess;
  uint32_t i, n = 0;
  uint32_t other = side_flag == NB_SETTING_SOURCE ? NB_SETTING_DEST : NB_SETTING_SOURCE;
  nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "unrecognized setting \"%s.%s\"", side_name,
          v->name);
  if (find_spec(plugin, v->name, other) != NULL) {
    nb_error_detail(err, "Connector \"%s\" has a setting \"%s\" only for %s.",
                    plugin->vtable.name, v->name,
                    other == NB_SETTING_SOURCE ? "sources" : "destinations");
    return NB_INVALID;
  }
  nb_error_detail(err, "Connector \"%s\" has no %s setting \"%s\".", plugin->vtable.name,
                  side_name, v->name);
  names = calloc(plugin->vtable.n_settings + 1, sizeof *names);
  if (names == NULL) return NB_INVALID;
  for (i = 0; i < plugin->vtable.n_settings; i++)
    if (applies_to(nbh_connector_setting(&plugin->vtable, i), side_flag))
      names[n++] = nbh_connector_setting(&plugin->vtable, i)->name;
  guess = nbh_did_you_mean(v->name, names, n);
  if (guess != NULL)
    nb_error_hint(err, "Did you mean \"%s\"?", guess);
  else
    nb_error_hint(err, "\"nebula-host describe %s\" lists its settings.", plugin->vtable.name);
  free(names);
  return NB_INVALID;
}

/* See config_internal.h. */
int nbh_config_check_value(const NbhConfig *cfg, const char *group, const char *owner,
                           const NbhConfigValue *v, const NbSettingSpec *spec, NbError *err) {
  const char *side_name = group;
  bool secret = (spec->flags & NB_SETTING_SECRET) != 0;
  NbError inner;
  if (!kind_fits(v->kind, spec)) {
    nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "wrong type for setting \"%s.%s\"",
            side_name, v->name);
    nb_error_detail(err, "%s declares \"%s\" as %s; the file gives %s.", owner, v->name,
                    spec_type_name(spec), nbh_config_kind_name(v->kind));
    if (type_hint(spec) != NULL) nb_error_hint(err, "%s", type_hint(spec));
    return NB_INVALID;
  }
  if (spec->type == NB_SETTING_ENUM && !choice_is_listed(spec->choices, v->text)) {
    char *choices = choices_text(spec->choices);
    const char *guess = NULL;
    nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"%s.%s\"",
            side_name, v->name);
    nb_error_detail(err, "\"%s\" is not one of the choices %s.", secret ? "[REDACTED]" : v->text,
                    choices != NULL ? choices : spec->choices);
    free(choices);
    if (!secret) {
      const char *words[64];
      size_t n = 0;
      char *copy = strdup(spec->choices), *save = NULL, *w;
      for (w = copy ? strtok_r(copy, "|", &save) : NULL; w != NULL && n < 64;
           w = strtok_r(NULL, "|", &save))
        words[n++] = w;
      guess = nbh_did_you_mean(v->text, words, n);
      if (guess != NULL) nb_error_hint(err, "Did you mean \"%s\"?", guess);
      free(copy);
    }
    return NB_INVALID;
  }
  if (spec->type == NB_SETTING_INT && nbh_config_integer_overflows(v->text)) {
    nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "number out of range for setting \"%s.%s\"",
            side_name, v->name);
    nb_error_detail(err, "%s does not fit a 64-bit integer (%lld to %lld).",
                    secret ? "The value" : v->text, (long long)INT64_MIN, (long long)INT64_MAX);
    return NB_INVALID;
  }
  nb_error_init(&inner);
  if (nb_setting_value_check(spec, v->text, &inner) != NB_OK) {
    nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"%s.%s\"",
            side_name, v->name);
    if (secret)
      nb_error_detail(err, "The value of secret setting \"%s\" is not %s.", v->name,
                      spec_type_name(spec));
    else
      nb_error_detail(err, "\"%s\" is not %s%s%s.", v->text, spec_type_name(spec),
                      inner.message ? ": " : "", inner.message ? inner.message : "");
    nb_error_release(&inner);
    return NB_INVALID;
  }
  return NB_OK;
}

/* Check one value of a connector side against its declaration. */
static int check_value(const NbhConfig *cfg, const NbhConfigSide *side, const NbhConfigValue *v,
                       const NbSettingSpec *spec, NbError *err) {
  char owner[160];
  snprintf(owner, sizeof owner, "Connector \"%s\"", side->plugin->vtable.name);
  return nbh_config_check_value(cfg, nbh_config_side_name(cfg, side), owner, v, spec, err);
}

static int connector_not_found(const NbhConfig *cfg, const NbhConfigSide *side,
                               const NbhPluginSet *plugins, NbError *err) {
  const char **names = calloc(plugins->n_plugins + 1, sizeof *names);
  const char *guess = NULL;
  NbhBuf searched = NBH_BUF_INIT;
  size_t i;
  nbh_config_fail_at(err, NB_NOT_FOUND, cfg, side->line, NULL, "connector \"%s\" not found", side->connector);
  for (i = 0; i < plugins->n_searched; i++)
    nbh_buf_printf(&searched, "%s%s", i ? ", " : "", plugins->searched[i]);
  if (plugins->n_plugins == 0)
    nb_error_detail(err, "No connector was loaded. Searched: %s.",
                    nbh_buf_text(&searched) ? nbh_buf_text(&searched) : "?");
  else
    nb_error_detail(err, "Searched: %s.", nbh_buf_text(&searched) ? nbh_buf_text(&searched) : "?");
  nbh_buf_free(&searched);
  if (names != NULL) {
    for (i = 0; i < plugins->n_plugins; i++) names[i] = plugins->plugins[i].vtable.name;
    guess = nbh_did_you_mean(side->connector, names, plugins->n_plugins);
  }
  if (guess != NULL)
    nb_error_hint(err, "Did you mean \"%s\"?", guess);
  else
    nb_error_hint(err, "\"nebula-host list\" shows the connectors found; --plugin-dir or "
                       "NEBULA_PLUGIN_PATH add directories to search.");
  free(names);
  return NB_NOT_FOUND;
}

static void side_free_resolved(NbhConfigSide *side) {
  free(side->names);
  free(side->texts);
  free(side->secret);
  free(side->defaulted);
  side->names = side->texts = NULL;
  side->secret = side->defaulted = NULL;
  memset(&side->settings, 0, sizeof side->settings);
}

static int resolve_side(NbhConfig *cfg, NbhConfigSide *side, uint32_t side_flag,
                        const NbhPluginSet *plugins, NbhLogger *logger, NbError *err) {
  const char *side_name = nbh_config_side_name(cfg, side);
  uint64_t cap = side_flag == NB_SETTING_SOURCE ? NB_CAP_SOURCE : NB_CAP_DESTINATION;
  const NbhPlugin *plugin;
  uint32_t i, n_spec, count = 0;
  size_t k;
  int rc;

  if (side->connector == NULL) {
    nbh_config_fail_at(err, NB_INVALID, cfg, 0, NULL, "no %s connector given", side_name);
    return NB_INVALID;
  }
  plugin = nbh_plugins_find(plugins, side->connector);
  if (plugin == NULL) return connector_not_found(cfg, side, plugins, err);
  side->plugin = plugin;
  if (!(plugin->vtable.capabilities & cap)) {
    nbh_config_fail_at(err, NB_INVALID, cfg, side->line, NULL, "connector \"%s\" cannot be a %s",
            side->connector, side_name);
    nb_error_detail(err, "Connector \"%s\" (\"%s\") is only a %s.", side->connector, plugin->path,
                    cap == NB_CAP_SOURCE ? "destination" : "source");
    return NB_INVALID;
  }
  for (k = 0; k < side->n_values; k++) {
    const NbhConfigValue *v = &side->values[k];
    const NbSettingSpec *spec = find_spec(plugin, v->name, side_flag);
    if (spec == NULL) return unrecognized_setting(cfg, side, v, side_flag, err);
    rc = check_value(cfg, side, v, spec, err);
    if (rc != NB_OK) return rc;
  }

  n_spec = plugin->vtable.n_settings;
  side_free_resolved(side);
  side->names = calloc(n_spec + 1, sizeof *side->names);
  side->texts = calloc(n_spec + 1, sizeof *side->texts);
  side->secret = calloc(n_spec + 1, sizeof *side->secret);
  side->defaulted = calloc(n_spec + 1, sizeof *side->defaulted);
  if (!side->names || !side->texts || !side->secret || !side->defaulted)
    return nb_error_set(err, NB_NOMEM, "out of memory");
  for (i = 0; i < n_spec; i++) {
    const NbSettingSpec *spec = nbh_connector_setting(&plugin->vtable, i);
    const char *text = NULL;
    bool defaulted = false;
    if (!applies_to(spec, side_flag)) continue;
    for (k = 0; k < side->n_values && text == NULL; k++)
      if (strcmp(side->values[k].name, spec->name) == 0) text = side->values[k].text;
    if (text == NULL && spec->default_value != NULL) {
      text = spec->default_value;
      defaulted = true;
    }
    if (text == NULL && (spec->flags & NB_SETTING_REQUIRED)) {
      nbh_config_fail_at(err, NB_INVALID, cfg, side->line, NULL, "missing required setting \"%s.%s\"",
              side_name, spec->name);
      nb_error_detail(err, "Connector \"%s\" requires \"%s\"%s%s.", plugin->vtable.name,
                      spec->name, spec->doc ? ": " : "", spec->doc ? spec->doc : "");
      if (cfg->path == NULL && strcmp(spec->name, "path") == 0)
        nb_error_hint(err, "Give it with --%s-path PATH.",
                      side_flag == NB_SETTING_SOURCE ? "source" : "dest");
      else if (cfg->path == NULL)
        nb_error_hint(err, "Give it with --%s-setting %s=VALUE.",
                      side_flag == NB_SETTING_SOURCE ? "source" : "dest", spec->name);
      return NB_INVALID;
    }
    if (text == NULL) continue;
    side->names[count] = spec->name;
    side->texts[count] = text;
    side->secret[count] = (spec->flags & NB_SETTING_SECRET) != 0;
    side->defaulted[count] = defaulted;
    if (side->secret[count] && logger != NULL && nbh_logger_add_secret(logger, text) != 0)
      return nb_error_set(err, NB_NOMEM, "out of memory");
    count++;
  }
  side->settings.struct_size = (uint32_t)sizeof side->settings;
  side->settings.count = count;
  side->settings.names = side->names;
  side->settings.values = side->texts;

  /* The SDK's check is what connectors themselves run: agreeing with it
   * here means a connector never refuses what validate accepted. */
  {
    NbError inner;
    nb_error_init(&inner);
    rc = nb_settings_check(&side->settings, plugin->vtable.settings, n_spec, side_flag, &inner);
    if (rc != NB_OK) {
      nbh_config_fail_at(err, rc, cfg, side->line, NULL, "invalid settings for %s connector \"%s\"",
              side_name, plugin->vtable.name);
      if (inner.message != NULL) nb_error_detail(err, "%s.", inner.message);
      nb_error_release(&inner);
      return rc;
    }
  }
  return NB_OK;
}

/* Send every -s value to the one side that declares it. */
static int distribute_either(NbhConfig *cfg, NbError *err) {
  size_t k;
  for (k = 0; k < cfg->n_either; k++) {
    const NbhConfigValue *v = &cfg->either[k];
    const NbSettingSpec *on_source = find_spec(cfg->source.plugin, v->name, NB_SETTING_SOURCE);
    const NbSettingSpec *on_dest =
        find_spec(cfg->destination.plugin, v->name, NB_SETTING_DEST);
    NbhConfigSide *side;
    if (on_source != NULL && on_dest != NULL) {
      nbh_config_fail_at(err, NB_INVALID, cfg, 0, v->option, "ambiguous setting \"%s\"", v->name);
      nb_error_detail(err, "Both the source connector \"%s\" and the destination connector "
                           "\"%s\" have a setting \"%s\".",
                      cfg->source.connector, cfg->destination.connector, v->name);
      nb_error_hint(err, "Use --source-setting or --dest-setting.");
      return NB_INVALID;
    }
    if (on_source == NULL && on_dest == NULL) {
      const char *names[512];
      const char *guess;
      size_t n = 0;
      uint32_t i;
      for (i = 0; i < cfg->source.plugin->vtable.n_settings && n < 256; i++)
        if (applies_to(nbh_connector_setting(&cfg->source.plugin->vtable, i), NB_SETTING_SOURCE))
          names[n++] = nbh_connector_setting(&cfg->source.plugin->vtable, i)->name;
      for (i = 0; i < cfg->destination.plugin->vtable.n_settings && n < 512; i++)
        if (applies_to(nbh_connector_setting(&cfg->destination.plugin->vtable, i), NB_SETTING_DEST))
          names[n++] = nbh_connector_setting(&cfg->destination.plugin->vtable, i)->name;
      guess = nbh_did_you_mean(v->name, names, n);
      nbh_config_fail_at(err, NB_INVALID, cfg, 0, v->option, "unrecognized setting \"%s\"", v->name);
      nb_error_detail(err, "Neither the source connector \"%s\" nor the destination connector "
                           "\"%s\" has a setting \"%s\".",
                      cfg->source.connector, cfg->destination.connector, v->name);
      if (guess != NULL) nb_error_hint(err, "Did you mean \"%s\"?", guess);
      return NB_INVALID;
    }
    side = on_source != NULL ? &cfg->source : &cfg->destination;
    if (nbh_config_values_put(&side->values, &side->n_values, v->name, v->text, v->kind, v->line,
                   v->option) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

static int check_engine(NbhConfig *cfg, NbError *err) {
  if (cfg->engine.on_error == NBH_ON_ERROR_DEAD_LETTER && cfg->engine.dead_letter_path == NULL) {
    nbh_config_fail_at(err, NB_INVALID, cfg, 0, NULL,
            "setting \"engine.on_error\" is \"dead_letter\" but no dead-letter file is given");
    nb_error_hint(err, "Set engine.dead_letter (or --dead-letter) to a file for the rejected "
                       "records.");
    return NB_INVALID;
  }
  return NB_OK;
}

int nbh_config_resolve(NbhConfig *cfg, const NbhPluginSet *plugins, NbhLogger *logger,
                       NbError *err) {
  int rc;
  const char *side_names[2] = {"source", "destination"};
  NbhConfigSide *sides[2];
  int i;
  sides[0] = &cfg->source;
  sides[1] = &cfg->destination;
  /* Find both connectors first: -s needs both declarations. */
  for (i = 0; i < 2; i++) {
    if (sides[i]->connector == NULL) {
      nbh_config_fail_at(err, NB_INVALID, cfg, 0, NULL, "no %s connector given", side_names[i]);
      return NB_INVALID;
    }
    sides[i]->plugin = nbh_plugins_find(plugins, sides[i]->connector);
    if (sides[i]->plugin == NULL) return connector_not_found(cfg, sides[i], plugins, err);
  }
  rc = distribute_either(cfg, err);
  if (rc == NB_OK) rc = resolve_side(cfg, &cfg->source, NB_SETTING_SOURCE, plugins, logger, err);
  if (rc == NB_OK)
    rc = resolve_side(cfg, &cfg->destination, NB_SETTING_DEST, plugins, logger, err);
  if (rc == NB_OK) rc = check_engine(cfg, err);
  return rc;
}

static void side_free(NbhConfigSide *side) {
  size_t i;
  free(side->connector);
  for (i = 0; i < side->n_values; i++) nbh_config_value_free(&side->values[i]);
  free(side->values);
  side_free_resolved(side);
}

void nbh_config_free(NbhConfig *cfg) {
  size_t i;
  if (cfg == NULL) return;
  free(cfg->path);
  free(cfg->text);
  side_free(&cfg->source);
  side_free(&cfg->destination);
  for (i = 0; i < cfg->n_either; i++) nbh_config_value_free(&cfg->either[i]);
  free(cfg->either);
  for (i = 0; i < cfg->n_owned; i++) free(cfg->owned[i]);
  free(cfg->owned);
  memset(cfg, 0, sizeof *cfg);
}
