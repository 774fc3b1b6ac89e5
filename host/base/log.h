/*
 * log.h - the host's logger: logfmt or JSON lines on stderr, secrets
 * redacted.
 *
 * One NbhLogger is created by main() and shared by every thread (calls are
 * serialised by its mutex).  Secret values registered with
 * nbh_logger_add_secret are replaced by "[REDACTED]" in every line.
 */
#ifndef NBH_LOG_H
#define NBH_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>

typedef enum NbhLogFormat { NBH_LOG_LOGFMT = 0, NBH_LOG_JSON = 1 } NbhLogFormat;

typedef struct NbhLogger {
  NbhLogFormat format;
  int level;               /* NB_LOG_ERROR .. NB_LOG_DEBUG; lines above are dropped */
  FILE *out;               /* stderr unless a test says otherwise */
  bool out_is_tty;         /* out is a terminal: a line first erases the
                              progress line the engine may have drawn */
  pthread_mutex_t lock;
  char **secrets;          /* owned copies */
  size_t n_secrets;
} NbhLogger;

/* Initialise with format and level, writing to out (stderr if NULL). */
int nbh_logger_init(NbhLogger *logger, NbhLogFormat format, int level, FILE *out);
void nbh_logger_destroy(NbhLogger *logger);
/* Register a value to redact (empty strings are ignored).  0 or -1 (ENOMEM). */
int nbh_logger_add_secret(NbhLogger *logger, const char *value);

/* A copy of text with every registered secret replaced by "[REDACTED]",
 * for output that does not go through the logger (validate's listing of
 * settings).  free() it; NULL when out of memory. */
char *nbh_logger_redact(NbhLogger *logger, const char *text);

/* One line: level, component ("host", "engine", a connector's name) and a
 * printf-style message; logfmt: `level=info component=engine msg="..."`. */
void nbh_log(NbhLogger *logger, int level, const char *component,
             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void nbh_logv(NbhLogger *logger, int level, const char *component,
              const char *fmt, va_list ap);

#endif /* NBH_LOG_H */
