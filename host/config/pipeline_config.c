/*
 * pipeline_config.c - reads a pipeline's libconfig file, substitutes ${ENV}
 * references, and checks every setting: the engine group against its own
 * table, connector settings against the declarations the connectors carry.
 * Errors name the file and line (or the command-line option) and the
 * setting as "group.setting", PostgreSQL style.
 */
#include "pipeline_config.h"

#include <errno.h>
#include <libconfig.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nebula/sdk.h"
#include "textutil.h"
#include "config_number.h"

/* ------------------------------------------------------------------------
 * Building blocks
 * ------------------------------------------------------------------------ */

static char *own(NbhConfig *cfg, char *text) {
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

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...) {
  NbhBuf buf = NBH_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  nbh_buf_vprintf(&buf, fmt, ap);
  va_end(ap);
  return nbh_buf_take(&buf);
}

/* Where a value was written, as the tail of a primary message:
 * ` in file "p.conf" line 3` or ` given by option --source-path`. */
static char *where(const NbhConfig *cfg, int line, const char *option) {
  if (option != NULL) return format(" given by option %s", option);
  if (cfg->path == NULL) return strdup("");
  if (strcmp(cfg->path, "-") == 0)
    return line > 0 ? format(" in standard input line %d", line) : strdup(" in standard input");
  if (line > 0) return format(" in file \"%s\" line %d", cfg->path, line);
  return format(" in file \"%s\"", cfg->path);
}

/* nb_error_set with the location appended to the message, and recorded in
 * err->location / err->line. */
static int fail_at(NbError *err, int code, const NbhConfig *cfg, int line, const char *option,
                   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail_at(NbError *err, int code, const NbhConfig *cfg, int line, const char *option,
                   const char *fmt, ...) {
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

static const char *kind_name(NbhValueKind kind) {
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
static char *double_text(double d) {
  char buf[64];
  int precision;
  for (precision = 1; precision <= 17; precision++) {
    snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (strtod(buf, NULL) == d) break;
  }
  return strdup(buf);
}

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
      fail_at(err, NB_INVALID, cfg, line, NULL,
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
      fail_at(err, NB_INVALID, cfg, line, NULL,
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
      fail_at(err, NB_INVALID, cfg, line, NULL, "environment variable \"%s\" is not set", name);
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

/* ------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------ */

static void value_free(NbhConfigValue *v) {
  free(v->name);
  free(v->text);
  free(v->option);
}

static int values_put(NbhConfigValue **values, size_t *n, const char *name, const char *text,
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
    value_free(&v);
    return NB_NOMEM;
  }
  for (i = 0; i < *n; i++) {
    if (strcmp((*values)[i].name, name) == 0) {
      value_free(&(*values)[i]);
      (*values)[i] = v;
      return NB_OK;
    }
  }
  grown = realloc(*values, (*n + 1) * sizeof *grown);
  if (grown == NULL) {
    value_free(&v);
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
  return values_put(&side->values, &side->n_values, name, text, NBH_VALUE_TEXT, 0, option);
}

int nbh_config_add_either(NbhConfig *cfg, const char *name, const char *text,
                          const char *option) {
  return values_put(&cfg->either, &cfg->n_either, name, text, NBH_VALUE_TEXT, 0, option);
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
    fail_at(err, NB_INVALID, cfg, line, NULL, "could not read the number given for setting \"%s\"",
            dotted);
    nb_error_detail(err, "The number is checked as written, and its text was not found after "
                         "\"%s =\" on that line.", config_setting_name(s));
    nb_error_hint(err, "Write the setting as name = value; on one line.");
    return NB_INVALID;
  }
  if (is_float ? nbh_config_float_check(literal, NULL) != 0
               : nbh_config_integer_text(literal, text, sizeof text) != 0) {
    fail_at(err, NB_INVALID, cfg, line, NULL, "number out of range for setting \"%s\"", dotted);
    if (is_float)
      nb_error_detail(err, "%s is beyond the range of a double-precision number (about 2.2e-308 "
                           "to 1.8e308 in magnitude).", literal);
    else
      nb_error_detail(err, "%s does not fit a 64-bit integer (%lld to %lld).", literal,
                      (long long)INT64_MIN, (long long)INT64_MAX);
    return NB_INVALID;
  }
  v->text = is_float ? double_text(config_setting_get_float(s)) : strdup(text);
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
      fail_at(err, NB_INVALID, cfg, line, NULL, "setting \"%s\" must be a single value", dotted);
      nb_error_detail(err, "Groups, arrays and lists are not settings of %s.",
                      strcmp(group, "engine") == 0 ? "the engine" : "a connector");
      return NB_INVALID;
  }
  v->name = strdup(name);
  if (v->text == NULL || v->name == NULL) {
    value_free(v);
    return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

/* ------------------------------------------------------------------------
 * The engine group
 * ------------------------------------------------------------------------ */

typedef enum EngineKind { E_U64, E_U32, E_SECONDS, E_STRING, E_ON_ERROR, E_BOOL } EngineKind;

typedef struct EngineSetting {
  const char *name;
  EngineKind kind;
  size_t offset;
  uint64_t minimum;  /* integers */
} EngineSetting;

#define ENGINE(name, kind, field, min) {name, kind, offsetof(NbhEngineOptions, field), min}
static const EngineSetting engine_settings[] = {
    ENGINE("batch_rows", E_U64, batch_rows, 1),
    ENGINE("batch_bytes", E_U64, batch_bytes, 1),
    ENGINE("buffer_bytes", E_U64, buffer_bytes, 1),
    ENGINE("buffer_batches", E_U32, buffer_batches, 1),
    ENGINE("commit_rows", E_U64, commit_rows, 0),
    ENGINE("commit_bytes", E_U64, commit_bytes, 0),
    ENGINE("commit_interval", E_SECONDS, commit_seconds, 0),
    ENGINE("state_file", E_STRING, state_file, 0),
    ENGINE("on_error", E_ON_ERROR, on_error, 0),
    ENGINE("max_errors", E_U64, max_errors, 0),
    ENGINE("dead_letter", E_STRING, dead_letter_path, 0),
    ENGINE("max_retries", E_U32, max_retries, 0),
    ENGINE("retry_deadline", E_SECONDS, retry_deadline_seconds, 0),
    ENGINE("stall_timeout", E_SECONDS, stall_timeout_seconds, 0),
    ENGINE("max_empty_batches", E_U64, max_empty_batches, 0),
    ENGINE("metrics_addr", E_STRING, metrics_addr, 0),
    ENGINE("progress", E_BOOL, progress, 0),
};
#undef ENGINE
#define N_ENGINE_SETTINGS (sizeof engine_settings / sizeof engine_settings[0])

static const char *const on_error_names[] = {"fail", "skip", "dead_letter"};

static const EngineSetting *engine_setting(const char *name) {
  size_t i;
  for (i = 0; i < N_ENGINE_SETTINGS; i++)
    if (strcmp(engine_settings[i].name, name) == 0) return &engine_settings[i];
  return NULL;
}

static int engine_unrecognized(const NbhConfig *cfg, const NbhConfigValue *v, NbError *err) {
  const char *names[N_ENGINE_SETTINGS];
  const char *guess;
  size_t i;
  for (i = 0; i < N_ENGINE_SETTINGS; i++) names[i] = engine_settings[i].name;
  guess = nbh_did_you_mean(v->name, names, N_ENGINE_SETTINGS);
  fail_at(err, NB_INVALID, cfg, v->line, v->option, "unrecognized setting \"engine.%s\"",
          v->name);
  if (guess != NULL)
    nb_error_hint(err, "Did you mean \"%s\"?", guess);
  else
    nb_error_hint(err, "The engine settings are described in nebula-host(1).");
  return NB_INVALID;
}

static int engine_bad_value(const NbhConfig *cfg, const NbhConfigValue *v, const char *expected,
                            NbError *err) {
  fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"engine.%s\"",
          v->name);
  if (v->kind == NBH_VALUE_TEXT || v->kind == NBH_VALUE_STRING)
    nb_error_detail(err, "The value must be %s; \"%s\" is not.", expected, v->text);
  else
    nb_error_detail(err, "The value must be %s, not %s (%s).", expected, kind_name(v->kind),
                    v->text);
  return NB_INVALID;
}

static bool parse_u64(const char *text, uint64_t *out) {
  char *end;
  unsigned long long n;
  if (text[0] < '0' || text[0] > '9') return false;
  errno = 0;
  n = strtoull(text, &end, 10);
  if (errno != 0 || *end != '\0') return false;
  *out = n;
  return true;
}

static int apply_engine_value(NbhConfig *cfg, const NbhConfigValue *v, NbError *err) {
  const EngineSetting *e = engine_setting(v->name);
  char *field;
  bool text_ok = v->kind == NBH_VALUE_TEXT;
  if (e == NULL) return engine_unrecognized(cfg, v, err);
  field = (char *)&cfg->engine + e->offset;
  switch (e->kind) {
    case E_U64:
    case E_U32: {
      uint64_t n;
      char expected[96];
      snprintf(expected, sizeof expected, "an integer from %llu to %llu",
               (unsigned long long)e->minimum,
               (unsigned long long)(e->kind == E_U32 ? UINT32_MAX : INT64_MAX));
      if (!(text_ok || v->kind == NBH_VALUE_INT) || !parse_u64(v->text, &n) || n < e->minimum ||
          n > (e->kind == E_U32 ? UINT32_MAX : (uint64_t)INT64_MAX))
        return engine_bad_value(cfg, v, expected, err);
      if (e->kind == E_U32) {
        uint32_t n32 = (uint32_t)n;
        memcpy(field, &n32, sizeof n32);
      } else {
        memcpy(field, &n, sizeof n);
      }
      return NB_OK;
    }
    case E_SECONDS: {
      char *end;
      double d;
      if (!(text_ok || v->kind == NBH_VALUE_INT || v->kind == NBH_VALUE_FLOAT))
        return engine_bad_value(cfg, v, "a number of seconds", err);
      errno = 0;
      d = strtod(v->text, &end);
      if (errno != 0 || *end != '\0' || end == v->text || !isfinite(d) || d < 0)
        return engine_bad_value(cfg, v, "a number of seconds, 0 or more", err);
      memcpy(field, &d, sizeof d);
      return NB_OK;
    }
    case E_STRING: {
      char *copy;
      if (!(text_ok || v->kind == NBH_VALUE_STRING))
        return engine_bad_value(cfg, v, "a string", err);
      if (v->text[0] == '\0') return engine_bad_value(cfg, v, "a non-empty string", err);
      copy = own(cfg, strdup(v->text));
      if (copy == NULL) return nb_error_set(err, NB_NOMEM, "out of memory");
      memcpy(field, &copy, sizeof copy);
      return NB_OK;
    }
    case E_ON_ERROR: {
      size_t i;
      if (text_ok || v->kind == NBH_VALUE_STRING)
        for (i = 0; i < 3; i++)
          if (strcmp(v->text, on_error_names[i]) == 0) {
            cfg->engine.on_error = (NbhOnError)i;
            return NB_OK;
          }
      engine_bad_value(cfg, v, "one of \"fail\", \"skip\" or \"dead_letter\"", err);
      if (v->kind == NBH_VALUE_STRING || v->kind == NBH_VALUE_TEXT) {
        const char *guess = nbh_did_you_mean(v->text, on_error_names, 3);
        if (guess != NULL) nb_error_hint(err, "Did you mean \"%s\"?", guess);
      }
      return NB_INVALID;
    }
    case E_BOOL: {
      bool b;
      if (!(text_ok || v->kind == NBH_VALUE_BOOL) ||
          (strcmp(v->text, "true") != 0 && strcmp(v->text, "false") != 0))
        return engine_bad_value(cfg, v, "true or false", err);
      b = strcmp(v->text, "true") == 0;
      memcpy(field, &b, sizeof b);
      return NB_OK;
    }
  }
  return nb_error_set(err, NB_INTERNAL, "unhandled engine setting kind");
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
    value_free(&v);
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
        fail_at(err, NB_INVALID, cfg, v.line, NULL,
                "invalid value for setting \"%s.connector\"", group_name);
        nb_error_detail(err, "The value must be a connector name in double quotes.");
        value_free(&v);
        return NB_INVALID;
      }
      free(side->connector);
      side->connector = v.text;
      v.text = NULL;
      value_free(&v);
      continue;
    }
    rc = values_put(&side->values, &side->n_values, v.name, v.text, v.kind, v.line, NULL);
    value_free(&v);
    if (rc != NB_OK) return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  if (side->connector == NULL) {
    fail_at(err, NB_INVALID, cfg, side->line, NULL,
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
      fail_at(err, NB_INVALID, cfg, line, NULL, "unrecognized setting \"%s\"", name);
      if (guess != NULL)
        nb_error_hint(err, "Did you mean \"%s\"?", guess);
      else
        nb_error_hint(err, "A pipeline file has the groups \"source\", \"destination\" and, "
                           "optionally, \"engine\".");
      return NB_INVALID;
    }
    if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
      fail_at(err, NB_INVALID, cfg, line, NULL, "setting \"%s\" must be a group", name);
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
    fail_at(err, NB_INVALID, cfg, 0, NULL, "missing group \"%s\"",
            seen_source ? "destination" : "source");
    nb_error_hint(err, "A pipeline file has the groups \"source\" and \"destination\", e.g. "
                       "source = { connector = \"csv\"; path = \"in.csv\"; };");
    return NB_INVALID;
  }
  return NB_OK;
}

void nbh_config_init(NbhConfig *cfg) {
  memset(cfg, 0, sizeof *cfg);
  nbh_engine_options_init(&cfg->engine);
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
  fail_at(err, NB_INVALID, cfg, v->line, v->option, "unrecognized setting \"%s.%s\"", side_name,
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

/* Check one value against its declaration; a secret's value is never
 * quoted in the message. */
static int check_value(const NbhConfig *cfg, const NbhConfigSide *side, const NbhConfigValue *v,
                       const NbSettingSpec *spec, NbError *err) {
  const char *side_name = nbh_config_side_name(cfg, side);
  bool secret = (spec->flags & NB_SETTING_SECRET) != 0;
  NbError inner;
  if (!kind_fits(v->kind, spec)) {
    fail_at(err, NB_INVALID, cfg, v->line, v->option, "wrong type for setting \"%s.%s\"",
            side_name, v->name);
    nb_error_detail(err, "Connector \"%s\" declares \"%s\" as %s; the file gives %s.",
                    side->plugin->vtable.name, v->name, spec_type_name(spec), kind_name(v->kind));
    if (type_hint(spec) != NULL) nb_error_hint(err, "%s", type_hint(spec));
    return NB_INVALID;
  }
  if (spec->type == NB_SETTING_ENUM && !choice_is_listed(spec->choices, v->text)) {
    char *choices = choices_text(spec->choices);
    const char *guess = NULL;
    fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"%s.%s\"",
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
    fail_at(err, NB_INVALID, cfg, v->line, v->option, "number out of range for setting \"%s.%s\"",
            side_name, v->name);
    nb_error_detail(err, "%s does not fit a 64-bit integer (%lld to %lld).",
                    secret ? "The value" : v->text, (long long)INT64_MIN, (long long)INT64_MAX);
    return NB_INVALID;
  }
  nb_error_init(&inner);
  if (nb_setting_value_check(spec, v->text, &inner) != NB_OK) {
    fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"%s.%s\"",
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

static int connector_not_found(const NbhConfig *cfg, const NbhConfigSide *side,
                               const NbhPluginSet *plugins, NbError *err) {
  const char **names = calloc(plugins->n_plugins + 1, sizeof *names);
  const char *guess = NULL;
  NbhBuf searched = NBH_BUF_INIT;
  size_t i;
  fail_at(err, NB_NOT_FOUND, cfg, side->line, NULL, "connector \"%s\" not found", side->connector);
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
    fail_at(err, NB_INVALID, cfg, 0, NULL, "no %s connector given", side_name);
    return NB_INVALID;
  }
  plugin = nbh_plugins_find(plugins, side->connector);
  if (plugin == NULL) return connector_not_found(cfg, side, plugins, err);
  side->plugin = plugin;
  if (!(plugin->vtable.capabilities & cap)) {
    fail_at(err, NB_INVALID, cfg, side->line, NULL, "connector \"%s\" cannot be a %s",
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
      fail_at(err, NB_INVALID, cfg, side->line, NULL, "missing required setting \"%s.%s\"",
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
      fail_at(err, rc, cfg, side->line, NULL, "invalid settings for %s connector \"%s\"",
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
      fail_at(err, NB_INVALID, cfg, 0, v->option, "ambiguous setting \"%s\"", v->name);
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
      fail_at(err, NB_INVALID, cfg, 0, v->option, "unrecognized setting \"%s\"", v->name);
      nb_error_detail(err, "Neither the source connector \"%s\" nor the destination connector "
                           "\"%s\" has a setting \"%s\".",
                      cfg->source.connector, cfg->destination.connector, v->name);
      if (guess != NULL) nb_error_hint(err, "Did you mean \"%s\"?", guess);
      return NB_INVALID;
    }
    side = on_source != NULL ? &cfg->source : &cfg->destination;
    if (values_put(&side->values, &side->n_values, v->name, v->text, v->kind, v->line,
                   v->option) != NB_OK)
      return nb_error_set(err, NB_NOMEM, "out of memory");
  }
  return NB_OK;
}

static int check_engine(NbhConfig *cfg, NbError *err) {
  if (cfg->engine.on_error == NBH_ON_ERROR_DEAD_LETTER && cfg->engine.dead_letter_path == NULL) {
    fail_at(err, NB_INVALID, cfg, 0, NULL,
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
      fail_at(err, NB_INVALID, cfg, 0, NULL, "no %s connector given", side_names[i]);
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
  for (i = 0; i < side->n_values; i++) value_free(&side->values[i]);
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
  for (i = 0; i < cfg->n_either; i++) value_free(&cfg->either[i]);
  free(cfg->either);
  for (i = 0; i < cfg->n_owned; i++) free(cfg->owned[i]);
  free(cfg->owned);
  memset(cfg, 0, sizeof *cfg);
}
