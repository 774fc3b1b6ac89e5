/*
 * config_read.c - reading a pipeline file: libconfig syntax, ${ENV}
 * substitution, numbers as written (config_number.h), the engine group,
 * and the values of the connector groups (checked later, against the
 * declarations, by pipeline_config.c).
 */
#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "config_number.h"
#include "engine_options.h"
#include "nebula/sdk.h"
#include "textutil.h"

/* ------------------------------------------------------------------------
 * ${ENV} substitution
 * ------------------------------------------------------------------------ */

static bool is_env_name(const char *name, size_t n) {
  size_t i;
  if (n == 0 || !((name[0] >= 'A' && name[0] <= 'Z') || (name[0] >= 'a' && name[0] <= 'z') ||
                  name[0] == '_'))
    return false;
  for (i = 1; i < n; i++)
    if (!((name[i] >= 'A' && name[i] <= 'Z') || (name[i] >= 'a' && name[i] <= 'z') ||
          (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
      return false;
  return true;
}

/* Expand ${NAME} and ${NAME:-fallback} in text; "$${" is a literal "${"
 * and any other '$' stands for itself.  *out is malloc'ed. */
static int substitute(const NbhConfig *cfg, const char *setting, int line, const char *text,
                      char **out, NbError *err) {
  NbhBuf buf = NBH_BUF_INIT;
  const char *p = text;
  *out = NULL;
  while (*p) {
    const char *dollar = strchr(p, '$'), *close, *body, *colon, *value;
    size_t name_len;
    char name[256];
    if (dollar == NULL) {
      nbh_buf_puts(&buf, p);
      break;
    }
    nbh_buf_append(&buf, p, (size_t)(dollar - p));
    if (dollar[1] == '$' && dollar[2] == '{') {
      nbh_buf_puts(&buf, "${");
      p = dollar + 3;
      continue;
    }
    if (dollar[1] != '{') {
      nbh_buf_puts(&buf, "$");
      p = dollar + 1;
      continue;
    }
    body = dollar + 2;
    close = strchr(body, '}');
    if (close == NULL) {
      nbh_buf_free(&buf);
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL,
              "unterminated environment variable reference in setting \"%s\"", setting);
      nb_error_detail(err, "The value \"%s\" has \"${\" without a closing \"}\".", text);
      nb_error_hint(err, "Write $${ for a literal \"${\".");
      return NB_INVALID;
    }
    colon = memchr(body, ':', (size_t)(close - body));
    name_len = (size_t)((colon != NULL && colon[1] == '-' ? colon : close) - body);
    if (!is_env_name(body, name_len) || name_len >= sizeof name ||
        (colon != NULL && colon[1] != '-')) {
      nbh_buf_free(&buf);
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL,
              "invalid environment variable reference \"%.*s\" in setting \"%s\"",
              (int)(close - dollar + 1), dollar, setting);
      nb_error_detail(err, "A reference is ${NAME} or ${NAME:-fallback}, where NAME is letters, "
                           "digits and underscores, not starting with a digit.");
      nb_error_hint(err, "Write $${ for a literal \"${\".");
      return NB_INVALID;
    }
    memcpy(name, body, name_len);
    name[name_len] = '\0';
    value = getenv(name);
    if (colon != NULL && colon[1] == '-' && (value == NULL || value[0] == '\0')) {
      nbh_buf_append(&buf, colon + 2, (size_t)(close - colon - 2));
    } else if (value == NULL) {
      nbh_buf_free(&buf);
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "environment variable \"%s\" is not set", name);
      nb_error_detail(err, "Setting \"%s\" refers to ${%s}.", setting, name);
      nb_error_hint(err, "Set the variable, give a fallback with ${%s:-value}, or write $${%s} "
                         "for a literal \"${%s}\".", name, name, name);
      return NB_INVALID;
    } else {
      nbh_buf_puts(&buf, value);
    }
    p = close + 1;
  }
  *out = nbh_buf_take(&buf);
  if (*out == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  return NB_OK;
}

/* A configuration file larger than this is refused: it is read whole. */
#define CONFIG_MAX_BYTES (16u << 20)

/* Read a whole file (or standard input for "-") into *text.  Returns 0, or
 * an errno value (EFBIG when larger than CONFIG_MAX_BYTES). */
static int read_text(const char *path, char **text) {
  FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  NbhBuf buf = NBH_BUF_INIT;
  char chunk[8192];
  size_t n;
  int error = 0;
  *text = NULL;
  if (fp == NULL) return errno;
  while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0) {
    if (buf.len + n > CONFIG_MAX_BYTES) {
      error = EFBIG;
      break;
    }
    nbh_buf_append(&buf, chunk, n);
  }
  if (error == 0 && ferror(fp)) error = errno != 0 ? errno : EIO;
  if (fp != stdin) fclose(fp);
  if (error == 0 && memchr(buf.data ? buf.data : "", '\0', buf.len) != NULL) error = EINVAL;
  if (error != 0) {
    nbh_buf_free(&buf);
    return error;
  }
  *text = nbh_buf_take(&buf);
  return *text != NULL ? 0 : ENOMEM;
}

/* The literal written for numeric setting s, from the file it is in. */
static bool setting_literal(const NbhConfig *cfg, config_setting_t *s, char *out, size_t cap) {
  const char *file = config_setting_source_file(s);
  char *other = NULL;
  bool found;
  int line = (int)config_setting_source_line(s);
  if (file == NULL || (cfg->path != NULL && strcmp(file, cfg->path) == 0))
    return cfg->text != NULL && nbh_config_find_literal(cfg->text, line, config_setting_name(s),
                                                        out, cap);
  if (read_text(file, &other) != 0) return false; /* an @include'd file */
  found = nbh_config_find_literal(other, line, config_setting_name(s), out, cap);
  free(other);
  return found;
}

/* The text of a numeric setting, read from the literal as written; an
 * error when it does not fit (see config_number.h). */
static int number_text(const NbhConfig *cfg, config_setting_t *s, const char *dotted,
                       NbhConfigValue *v, NbError *err) {
  char literal[128], text[64];
  bool is_float = config_setting_type(s) == CONFIG_TYPE_FLOAT;
  int line = (int)config_setting_source_line(s);
  if (!setting_literal(cfg, s, literal, sizeof literal)) {
    nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "could not read the number given for setting \"%s\"",
            dotted);
    nb_error_detail(err, "The number is checked as written, and its text was not found after "
                         "\"%s =\" on that line.", config_setting_name(s));
    nb_error_hint(err, "Write the setting as name = value; on one line.");
    return NB_INVALID;
  }
  if (is_float ? nbh_config_float_check(literal, NULL) != 0
               : nbh_config_integer_text(literal, text, sizeof text) != 0) {
    nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "number out of range for setting \"%s\"", dotted);
    if (is_float)
      nb_error_detail(err, "%s is beyond the range of a double-precision number (about 2.2e-308 "
                           "to 1.8e308 in magnitude).", literal);
    else
      nb_error_detail(err, "%s does not fit a 64-bit integer (%lld to %lld).", literal,
                      (long long)INT64_MIN, (long long)INT64_MAX);
    return NB_INVALID;
  }
  v->text = is_float ? nbh_config_double_text(config_setting_get_float(s)) : strdup(text);
  return NB_OK;
}

/* Convert a scalar libconfig setting to a value (strings substituted). */
static int value_from_setting(const NbhConfig *cfg, const char *group, config_setting_t *s,
                              NbhConfigValue *v, NbError *err) {
  const char *name = config_setting_name(s);
  int line = (int)config_setting_source_line(s);
  char dotted[256];
  memset(v, 0, sizeof *v);
  v->line = line;
  snprintf(dotted, sizeof dotted, "%s.%s", group, name);
  switch (config_setting_type(s)) {
    case CONFIG_TYPE_INT:
    case CONFIG_TYPE_INT64:
    case CONFIG_TYPE_FLOAT: {
      int rc;
      v->kind = config_setting_type(s) == CONFIG_TYPE_FLOAT ? NBH_VALUE_FLOAT : NBH_VALUE_INT;
      rc = number_text(cfg, s, dotted, v, err);
      if (rc != NB_OK) return rc;
      break;
    }
    case CONFIG_TYPE_BOOL:
      v->kind = NBH_VALUE_BOOL;
      v->text = strdup(config_setting_get_bool(s) ? "true" : "false");
      break;
    case CONFIG_TYPE_STRING: {
      int rc;
      v->kind = NBH_VALUE_STRING;
      rc = substitute(cfg, dotted, line, config_setting_get_string(s), &v->text, err);
      if (rc != NB_OK) return rc;
      break;
    }
    default:
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "setting \"%s\" must be a single value", dotted);
      nb_error_detail(err, "Groups, arrays and lists are not settings of %s.",
                      strcmp(group, "engine") == 0 ? "the engine" : "a connector");
      return NB_INVALID;
  }
  v->name = strdup(name);
  if (v->text == NULL || v->name == NULL) {
    nbh_config_value_free(v);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The engine group
 * ------------------------------------------------------------------------ */

/* The options and their declarations are the table of engine_options.h;
 * a value is checked by the same rules as a connector's setting
 * (nbh_config_check_value), then against the option's range. */

static int engine_unrecognized(const NbhConfig *cfg, const NbhConfigValue *v, NbError *err) {
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  const char **names = calloc(n + 1, sizeof *names);
  if (names == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) names[i] = table[i].spec.name;
  const char *guess = nbh_did_you_mean(v->name, names, n);
  nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "unrecognized setting \"engine.%s\"",
          v->name);
  if (guess != NULL)
    nb_error_hint(err, "Did you mean \"%s\"?", guess);
  else
    nb_error_hint(err, "The engine settings are described in nebula-host(1).");
  free(names);
  return NB_INVALID;
}

static int engine_out_of_range(const NbhConfig *cfg, const NbhConfigValue *v,
                               const NbhEngineSetting *e, NbError *err) {
  char expects[96];
  nbh_engine_setting_expects(e, expects, sizeof expects);
  nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option,
                     "invalid value for setting \"engine.%s\"", v->name);
  nb_error_detail(err, "The value must be %s; %s is not.", expects, v->text);
  if (e->spec.doc != NULL) nb_error_hint(err, "engine.%s: %s.", e->spec.name, e->spec.doc);
  return NB_INVALID;
}

static int apply_engine_value(NbhConfig *cfg, const NbhConfigValue *v, NbError *err) {
  const NbhEngineSetting *e = nbh_engine_setting(v->name);
  if (e == NULL) return engine_unrecognized(cfg, v, err);
  int rc = nbh_config_check_value(cfg, "engine", "The engine", v, &e->spec, err);
  if (rc != NB_OK) return rc;
  const char *text = v->text;
  if (e->field == NBH_FIELD_STRING && text[0] != '\0') {
    /* The options keep the pointer: the configuration owns the copy. */
    text = nbh_config_own(cfg, strdup(v->text));
    if (text == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (!nbh_engine_setting_store(&cfg->engine, e, text)) return engine_out_of_range(cfg, v, e, err);
  return NB_OK;
}

int nbh_config_set_engine(NbhConfig *cfg, const char *name, const char *text,
                          const char *option, NbError *err) {
  NbhConfigValue v;
  memset(&v, 0, sizeof v);
  v.name = (char *)name;
  v.text = (char *)text;
  v.kind = NBH_VALUE_TEXT;
  v.option = (char *)option;
  return apply_engine_value(cfg, &v, err);
}

static int load_engine(NbhConfig *cfg, config_setting_t *group, NbError *err) {
  int i, n = config_setting_length(group);
  for (i = 0; i < n; i++) {
    NbhConfigValue v;
    int rc = value_from_setting(cfg, "engine", config_setting_get_elem(group, (unsigned)i), &v,
                                err);
    if (rc != NB_OK) return rc;
    rc = apply_engine_value(cfg, &v, err);
    nbh_config_value_free(&v);
    if (rc != NB_OK) return rc;
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The file
 * ------------------------------------------------------------------------ */

static const char *const top_level_names[] = {"source", "destination", "engine"};

static int load_side(NbhConfig *cfg, NbhConfigSide *side, const char *group_name,
                     config_setting_t *group, NbError *err) {
  int i, n = config_setting_length(group);
  side->line = (int)config_setting_source_line(group);
  for (i = 0; i < n; i++) {
    config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
    NbhConfigValue v;
    int rc = value_from_setting(cfg, group_name, s, &v, err);
    if (rc != NB_OK) return rc;
    if (strcmp(v.name, "connector") == 0) {
      if (v.kind != NBH_VALUE_STRING || v.text[0] == '\0') {
        nbh_config_fail_at(err, NB_INVALID, cfg, v.line, NULL,
                "invalid value for setting \"%s.connector\"", group_name);
        nb_error_detail(err, "The value must be a connector name in double quotes.");
        nbh_config_value_free(&v);
        return NB_INVALID;
      }
      free(side->connector);
      side->connector = v.text;
      v.text = NULL;
      nbh_config_value_free(&v);
      continue;
    }
    rc = nbh_config_values_put(&side->values, &side->n_values, v.name, v.text, v.kind, v.line, NULL);
    nbh_config_value_free(&v);
    if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (side->connector == NULL) {
    nbh_config_fail_at(err, NB_INVALID, cfg, side->line, NULL,
            "missing required setting \"%s.connector\"", group_name);
    nb_error_hint(err, "Name the connector, e.g. connector = \"csv\"; \"nebula-host list\" shows "
                       "the connectors installed.");
    return NB_INVALID;
  }
  return NB_OK;
}

static int load_root(NbhConfig *cfg, config_t *lc, NbError *err) {
  config_setting_t *root = config_root_setting(lc);
  int i, n = config_setting_length(root), rc;
  bool seen_source = false, seen_destination = false;
  for (i = 0; i < n; i++) {
    config_setting_t *s = config_setting_get_elem(root, (unsigned)i);
    const char *name = config_setting_name(s);
    int line = (int)config_setting_source_line(s);
    size_t which;
    for (which = 0; which < 3; which++)
      if (strcmp(name, top_level_names[which]) == 0) break;
    if (which == 3) {
      const char *guess = nbh_did_you_mean(name, top_level_names, 3);
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "unrecognized setting \"%s\"", name);
      if (guess != NULL)
        nb_error_hint(err, "Did you mean \"%s\"?", guess);
      else
        nb_error_hint(err, "A pipeline file has the groups \"source\", \"destination\" and, "
                           "optionally, \"engine\".");
      return NB_INVALID;
    }
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
      nbh_config_fail_at(err, NB_INVALID, cfg, line, NULL, "setting \"%s\" must be a group", name);
      nb_error_hint(err, "Write %s = { ... };", name);
      return NB_INVALID;
    }
    if (which == 0) {
      seen_source = true;
      rc = load_side(cfg, &cfg->source, "source", s, err);
    } else if (which == 1) {
      seen_destination = true;
      rc = load_side(cfg, &cfg->destination, "destination", s, err);
    } else {
      rc = load_engine(cfg, s, err);
    }
    if (rc != NB_OK) return rc;
  }
  if (!seen_source || !seen_destination) {
    nbh_config_fail_at(err, NB_INVALID, cfg, 0, NULL, "missing group \"%s\"",
            seen_source ? "destination" : "source");
    nb_error_hint(err, "A pipeline file has the groups \"source\" and \"destination\", e.g. "
                       "source = { connector = \"csv\"; path = \"in.csv\"; };");
    return NB_INVALID;
  }
  return NB_OK;
}

int nbh_config_load(NbhConfig *cfg, const char *path, NbError *err) {
  config_t lc;
  char *dir, *slash;
  int rc, error;
  cfg->path = strdup(path);
  if (cfg->path == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
  /* Read whole: numbers are checked against the text (config_number.h). */
  error = read_text(path, &cfg->text);
  if (error != 0) {
    nb_error_set(err, error == ENOENT ? NB_NOT_FOUND : error == ENOMEM ? NB_NOMEM
                      : error == EFBIG || error == EINVAL ? NB_INVALID : NB_IO,
                 "could not %s configuration file \"%s\": %s",
                 error == EFBIG || error == EINVAL ? "read" : "open", path,
                 error == EFBIG ? "larger than 16 MiB" : error == EINVAL ? "it contains a NUL byte"
                                                                           : strerror(error));
    nb_error_locate(err, path, 0, 0);
    return err != NULL ? err->code : NB_IO;
  }
  config_init(&lc);
  /* @include "x.conf" is relative to the including file. */
  dir = strdup(path);
  if (dir != NULL && (slash = strrchr(dir, '/')) != NULL) {
    *slash = '\0';
    config_set_include_dir(&lc, dir[0] ? dir : "/");
  }
  if (!config_read_string(&lc, cfg->text)) {
    const char *file = config_error_file(&lc) != NULL ? config_error_file(&lc) : path;
    nb_error_set(err, NB_INVALID, "syntax error in file \"%s\" line %d: %s", file,
                 config_error_line(&lc), config_error_text(&lc));
    nb_error_locate(err, file, config_error_line(&lc), 0);
    nb_error_hint(err, "Settings are written name = value; and groups name = { ... }; see "
                       "nebula-host(1).");
    rc = NB_INVALID;
  } else {
    rc = load_root(cfg, &lc, err);
  }
  config_destroy(&lc);
  free(dir);
  return rc;
}

