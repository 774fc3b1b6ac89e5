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
  nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "unrecognized setting \"engine.%s\"",
          v->name);
  if (guess != NULL)
    nb_error_hint(err, "Did you mean \"%s\"?", guess);
  else
    nb_error_hint(err, "The engine settings are described in nebula-host(1).");
  return NB_INVALID;
}

static int engine_bad_value(const NbhConfig *cfg, const NbhConfigValue *v, const char *expected,
                            NbError *err) {
  nbh_config_fail_at(err, NB_INVALID, cfg, v->line, v->option, "invalid value for setting \"engine.%s\"",
          v->name);
  if (v->kind == NBH_VALUE_TEXT || v->kind == NBH_VALUE_STRING)
    nb_error_detail(err, "The value must be %s; \"%s\" is not.", expected, v->text);
  else
    nb_error_detail(err, "The value must be %s, not %s (%s).", expected, nbh_config_kind_name(v->kind),
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
      copy = nbh_config_own(cfg, strdup(v->text));
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

