/*
 * log.c - the host's logger: one line per event on stderr, in logfmt or as
 * JSON objects, with every registered secret value redacted.  Every thread
 * shares one logger; a mutex keeps lines whole and the secret list stable.
 */
#include <unistd.h>

#include "log.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nebula/abi.h"
#include "report.h"
#include "textutil.h"
#include "utf8.h"

#define REDACTED "[REDACTED]"

int nbh_logger_init(NbhLogger *logger, NbhLogFormat format, int level, FILE *out) {
  memset(logger, 0, sizeof *logger);
  logger->format = format;
  logger->level = level;
  logger->out = out != NULL ? out : stderr;
  logger->out_is_tty = isatty(fileno(logger->out)) == 1;
  if (pthread_mutex_init(&logger->lock, NULL) != 0) return -1;
  return 0;
}

void nbh_logger_destroy(NbhLogger *logger) {
  size_t i;
  if (logger == NULL) return;
  for (i = 0; i < logger->n_secrets; i++) free(logger->secrets[i]);
  free(logger->secrets);
  logger->secrets = NULL;
  logger->n_secrets = 0;
  pthread_mutex_destroy(&logger->lock);
}

int nbh_logger_add_secret(NbhLogger *logger, const char *value) {
  char *copy, **grown;
  size_t i, at;
  if (value == NULL || value[0] == '\0') return 0;
  copy = strdup(value);
  if (copy == NULL) return -1;
  pthread_mutex_lock(&logger->lock);
  for (i = 0; i < logger->n_secrets; i++) {
    if (strcmp(logger->secrets[i], value) == 0) {
      pthread_mutex_unlock(&logger->lock);
      free(copy);
      return 0;
    }
  }
  grown = realloc(logger->secrets, (logger->n_secrets + 1) * sizeof *grown);
  if (grown == NULL) {
    pthread_mutex_unlock(&logger->lock);
    free(copy);
    return -1;
  }
  logger->secrets = grown;
  /* Longest first: a secret that contains a shorter one must be replaced
   * whole, or its tail would leak ("abc" inside "abcdef"). */
  for (at = 0; at < logger->n_secrets; at++)
    if (strlen(logger->secrets[at]) < strlen(copy)) break;
  memmove(logger->secrets + at + 1, logger->secrets + at,
          (logger->n_secrets - at) * sizeof *grown);
  logger->secrets[at] = copy;
  logger->n_secrets++;
  pthread_mutex_unlock(&logger->lock);
  return 0;
}

const char *nbh_log_level_name(int level) {
  switch (level) {
    case NB_LOG_ERROR: return "error";
    case NB_LOG_WARN: return "warn";
    case NB_LOG_INFO: return "info";
    case NB_LOG_DEBUG: return "debug";
    default: return NULL;
  }
}

int nbh_log_level_parse(const char *name) {
  if (strcmp(name, "error") == 0) return NB_LOG_ERROR;
  if (strcmp(name, "warn") == 0 || strcmp(name, "warning") == 0) return NB_LOG_WARN;
  if (strcmp(name, "info") == 0) return NB_LOG_INFO;
  if (strcmp(name, "debug") == 0) return NB_LOG_DEBUG;
  return 0;
}

/* Append text to out with every secret replaced.  Called with the lock
 * held.  Redaction happens on the raw text, before any escaping, so a
 * secret containing quotes or newlines is still found. */
static void append_redacted(const NbhLogger *logger, NbhBuf *out, const char *text) {
  size_t i = 0, run = 0, len = strlen(text), k;
  while (i < len) {
    for (k = 0; k < logger->n_secrets; k++) {
      size_t n = strlen(logger->secrets[k]);
      if (n <= len - i && memcmp(text + i, logger->secrets[k], n) == 0) break;
    }
    if (k == logger->n_secrets) {
      i++;
      run++;
      continue;
    }
    nbh_buf_append(out, text + i - run, run);
    nbh_buf_puts(out, REDACTED);
    run = 0;
    i += strlen(logger->secrets[k]);
  }
  nbh_buf_append(out, text + i - run, run);
}

char *nbh_logger_redact(NbhLogger *logger, const char *text) {
  NbhBuf buf = NBH_BUF_INIT;
  pthread_mutex_lock(&logger->lock);
  append_redacted(logger, &buf, text != NULL ? text : "");
  pthread_mutex_unlock(&logger->lock);
  return nbh_buf_take(&buf);
}

/* Redacted, then made printable (utf8.h): the one place every logged
 * string passes, whoever wrote it.  Redaction first, on the raw text, so
 * escaping cannot split a secret. */
static void append_shown(const NbhLogger *logger, NbhBuf *out, const char *text) {
  NbhBuf raw = NBH_BUF_INIT;
  append_redacted(logger, &raw, text);
  if (nbh_buf_text(&raw) == NULL) {
    nbh_buf_puts(out, "(out of memory)");
    return;
  }
  nbh_buf_put_printable(out, nbh_buf_text(&raw), NBH_SHOW_FIELD);
  nbh_buf_free(&raw);
}

/* Redacted and bounded, for logfmt and JSON values: their JSON string
 * escaping (textutil.h) already writes every unsafe character as \uXXXX. */
static char *redacted_copy(const NbhLogger *logger, const char *text) {
  NbhBuf buf = NBH_BUF_INIT;
  append_redacted(logger, &buf, text);
  if (!buf.failed && buf.len > NBH_SHOW_FIELD) {
    buf.len = NBH_SHOW_FIELD;
    buf.data[buf.len] = '\0';
    nbh_buf_puts(&buf, "...");
  }
  return nbh_buf_take(&buf);
}

/* The host's own parts; any other component is a connector's name. */
static bool is_connector_component(const char *component) {
  static const char *const host_parts[] = {"host", "engine", "loader", "config"};
  size_t i;
  if (component == NULL) return false;
  for (i = 0; i < sizeof host_parts / sizeof host_parts[0]; i++)
    if (strcmp(component, host_parts[i]) == 0) return false;
  return true;
}

static void append_timestamp(NbhBuf *out) {
  struct timespec now;
  struct tm tm;
  char text[32];
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  nbh_buf_printf(out, "%s.%03ldZ", text, now.tv_nsec / 1000000L);
}

/* A logfmt value: bare when it is a plain word, else quoted with JSON
 * escapes (the convention logfmt readers accept). */
static void append_logfmt_value(NbhBuf *out, const char *value) {
  const unsigned char *p;
  bool plain = value[0] != '\0';
  for (p = (const unsigned char *)value; *p && plain; p++)
    if (*p <= ' ' || *p == '=' || *p == '"' || *p == '\\' || *p >= 0x7f) plain = false;
  if (plain) {
    nbh_buf_puts(out, value);
    return;
  }
  nbh_buf_puts(out, "\"");
  nbh_buf_json_escape(out, value, strlen(value));
  nbh_buf_puts(out, "\"");
}

static void append_json_member(NbhBuf *out, const char *key, const char *value) {
  nbh_buf_printf(out, ",\"%s\":\"", key);
  nbh_buf_json_escape(out, value, strlen(value));
  nbh_buf_puts(out, "\"");
}

/* Field names and values of one event; values already redacted. */
typedef struct Field {
  const char *key;
  const char *value;
} Field;

static void format_event(const NbhLogger *logger, NbhBuf *out, int level,
                         const Field *fields, size_t n_fields) {
  const char *level_name = nbh_log_level_name(level);
  size_t i;
  if (level_name == NULL) level_name = "info";
  if (logger->format == NBH_LOG_JSON) {
    nbh_buf_puts(out, "{\"ts\":\"");
    append_timestamp(out);
    nbh_buf_printf(out, "\",\"level\":\"%s\"", level_name);
    for (i = 0; i < n_fields; i++)
      if (fields[i].value != NULL) append_json_member(out, fields[i].key, fields[i].value);
    nbh_buf_puts(out, "}\n");
    return;
  }
  nbh_buf_puts(out, "ts=");
  append_timestamp(out);
  nbh_buf_printf(out, " level=%s", level_name);
  for (i = 0; i < n_fields; i++) {
    if (fields[i].value == NULL) continue;
    nbh_buf_printf(out, " %s=", fields[i].key);
    append_logfmt_value(out, fields[i].value);
  }
  nbh_buf_puts(out, "\n");
}

static void write_line(NbhLogger *logger, NbhBuf *line) {
  const char *text = nbh_buf_text(line);
  if (text == NULL) text = "level=error component=host msg=\"out of memory while logging\"\n";
  /* The progress line leaves the cursor at column 0; erase it so a shorter
   * log line does not leave its tail on screen.  It is redrawn below. */
  if (logger->out_is_tty) fputs("\033[K", logger->out);
  fputs(text, logger->out);
  fflush(logger->out);
}

void nbh_logv(NbhLogger *logger, int level, const char *component,
              const char *fmt, va_list ap) {
  NbhBuf message = NBH_BUF_INIT, line = NBH_BUF_INIT;
  char *msg, *comp;
  Field fields[2];
  if (logger == NULL || level > logger->level) return;
  nbh_buf_vprintf(&message, fmt, ap);
  pthread_mutex_lock(&logger->lock);
  msg = redacted_copy(logger, nbh_buf_text(&message) ? nbh_buf_text(&message) : "");
  comp = redacted_copy(logger, component != NULL ? component : "host");
  fields[0].key = "component";
  fields[0].value = comp != NULL ? comp : "host";
  fields[1].key = "msg";
  fields[1].value = msg != NULL ? msg : "(out of memory)";
  format_event(logger, &line, level, fields, 2);
  write_line(logger, &line);
  pthread_mutex_unlock(&logger->lock);
  free(msg);
  free(comp);
  nbh_buf_free(&message);
  nbh_buf_free(&line);
}

void nbh_log(NbhLogger *logger, int level, const char *component,
             const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  nbh_logv(logger, level, component, fmt, ap);
  va_end(ap);
}

void nbh_log_report(NbhLogger *logger, int level, const char *component,
                    const char *message, const char *detail, const char *hint) {
  NbhBuf line = NBH_BUF_INIT;
  if (logger == NULL || level > logger->level) return;
  pthread_mutex_lock(&logger->lock);
  if (logger->format == NBH_LOG_JSON) {
    char *values[4];
    Field fields[4];
    size_t i;
    values[0] = redacted_copy(logger, component != NULL ? component : "host");
    values[1] = redacted_copy(logger, message != NULL ? message : "");
    values[2] = detail != NULL ? redacted_copy(logger, detail) : NULL;
    values[3] = hint != NULL ? redacted_copy(logger, hint) : NULL;
    fields[0] = (Field){"component", values[0]};
    fields[1] = (Field){"msg", values[1]};
    fields[2] = (Field){"detail", values[2]};
    fields[3] = (Field){"hint", values[3]};
    format_event(logger, &line, level, fields, 4);
    for (i = 0; i < 4; i++) free(values[i]);
  } else {
    nbh_buf_puts(&line, level == NB_LOG_WARN ? "nebula-host: warning: " : "nebula-host: ");
    /* Without the name, "could not write" could be either end. */
    if (is_connector_component(component)) {
      nbh_buf_puts(&line, "connector \"");
      append_shown(logger, &line, component);
      nbh_buf_puts(&line, "\": ");
    }
    append_shown(logger, &line, message != NULL ? message : "");
    if (detail != NULL) {
      nbh_buf_puts(&line, "\nDETAIL: ");
      append_shown(logger, &line, detail);
    }
    if (hint != NULL) {
      nbh_buf_puts(&line, "\nHINT: ");
      append_shown(logger, &line, hint);
    }
    nbh_buf_puts(&line, "\n");
  }
  write_line(logger, &line);
  pthread_mutex_unlock(&logger->lock);
  nbh_buf_free(&line);
}
