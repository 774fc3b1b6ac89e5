/*
 * report.h - multi-part diagnostics (message, DETAIL, HINT) printed through
 * the logger, PostgreSQL style.  Implemented in log.c beside nbh_log; kept
 * in its own header because log.h belongs to the shared interface set (the
 * lead may merge it there).
 */
#ifndef NBH_REPORT_H
#define NBH_REPORT_H

#include "log.h"

/* Print one diagnostic at level (NB_LOG_ERROR or NB_LOG_WARN usually),
 * dropped like nbh_log when above the logger's level.  In logfmt mode it is
 * meant for a person:
 *
 *   nebula-host: incompatible connector "/x/a.so": ABI version mismatch
 *   DETAIL: The connector was built for ABI 2.1.  This ...
 *   HINT: Install a build of the connector for ABI 1, or ...
 *
 * (warnings start with "nebula-host: warning: "); in JSON mode it is one
 * object with msg, detail and hint.  detail and hint may be NULL.  Secrets
 * are redacted as in nbh_log. */
void nbh_log_report(NbhLogger *logger, int level, const char *component,
                    const char *message, const char *detail, const char *hint);

/* "error", "warn", "info", "debug"; NULL for other values. */
const char *nbh_log_level_name(int level);
/* Parse a level name (also "warning"); 0 when not recognised. */
int nbh_log_level_parse(const char *name);

#endif /* NBH_REPORT_H */
