/*
 * cli_common.c - what every command of nebula-host uses: global options,
 * usage errors, reporting NbErrors, loading the connectors.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "nebula/sdk.h"
#include "report.h"
#include "textutil.h"

int nbh_cli_global_option(NbhCli *cli, int opt, const char *arg) {
  switch (opt) {
    case OPT_PLUGIN_DIR:
      if (arg[0] == '\0') {
        nbh_cli_usage_error(cli, NULL, "option --plugin-dir needs a directory, not \"\"");
        return -1;
      }
      cli->plugin_dirs[cli->n_plugin_dirs++] = arg;
      return 1;
    case OPT_LOG_FORMAT:
      if (strcmp(arg, "logfmt") == 0) {
        cli->logger->format = NBH_LOG_LOGFMT;
      } else if (strcmp(arg, "json") == 0) {
        cli->logger->format = NBH_LOG_JSON;
      } else {
        nbh_cli_usage_error(cli, NULL,
                            "invalid value \"%s\" for option --log-format: use logfmt or json",
                            arg);
        return -1;
      }
      return 1;
    case OPT_LOG_LEVEL: {
      int level = nbh_log_level_parse(arg);
      if (level == 0) {
        nbh_cli_usage_error(cli, NULL,
                            "invalid value \"%s\" for option --log-level: use error, warn, info "
                            "or debug", arg);
        return -1;
      }
      cli->logger->level = level;
      cli->log_level_given = true;
      return 1;
    }
    case 'q':
      cli->quiet = true;
      if (!cli->log_level_given) cli->logger->level = NB_LOG_ERROR;
      return 1;
    default:
      return 0;
  }
}

int nbh_cli_usage_error(NbhCli *cli, const char *command, const char *fmt, ...) {
  NbhBuf message = NBH_BUF_INIT, hint = NBH_BUF_INIT;
  va_list ap;
  va_start(ap, fmt);
  nbh_buf_vprintf(&message, fmt, ap);
  va_end(ap);
  if (command != NULL)
    nbh_buf_printf(&hint, "Try \"nebula-host %s --help\".", command);
  else
    nbh_buf_puts(&hint, "Try \"nebula-host --help\".");
  /* Usage errors are shown whatever the log level: they are the answer. */
  {
    int saved = cli->logger->level;
    cli->logger->level = NB_LOG_ERROR;
    nbh_log_report(cli->logger, NB_LOG_ERROR, "host",
                   nbh_buf_text(&message) ? nbh_buf_text(&message) : "usage error", NULL,
                   nbh_buf_text(&hint));
    cli->logger->level = saved;
  }
  nbh_buf_free(&message);
  nbh_buf_free(&hint);
  return NBH_EXIT_USAGE;
}

int nbh_cli_bad_option(NbhCli *cli, const char *command, int opt, char **argv) {
  const char *arg = argv[optind - 1];
  if (opt == ':') return nbh_cli_usage_error(cli, command, "option \"%s\" needs a value", arg);
  return nbh_cli_usage_error(cli, command, "unrecognized option \"%s\"", arg);
}

void nbh_cli_report(NbhCli *cli, int level, const NbError *err) {
  const char *message;
  if (err == NULL) return;
  message = err->message != NULL ? err->message : nb_status_name(err->code);
  nbh_log_report(cli->logger, level, "host", message, err->detail, err->hint);
}

void nbh_cli_report_refusals(NbhCli *cli, const NbhPluginSet *set, int level) {
  size_t i;
  for (i = 0; i < set->n_errors; i++)
    nbh_log_report(cli->logger, level, "loader", set->errors[i].message, set->errors[i].detail,
                   set->errors[i].hint);
}

int nbh_cli_load_plugins(NbhCli *cli, NbhPluginSet *set, const char *const *names,
                         size_t n_names) {
  nbh_plugins_init(set);
  return nbh_cli_search_plugins(cli, set, names, n_names);
}

int nbh_cli_search_plugins(NbhCli *cli, NbhPluginSet *set, const char *const *names,
                           size_t n_names) {
  set->loading = cli->loading;
  if (nbh_plugins_search(set, cli->plugin_dirs, cli->n_plugin_dirs, names, n_names) != 0) {
    nbh_cli_report_refusals(cli, set, NB_LOG_ERROR);
    nbh_log_report(cli->logger, NB_LOG_ERROR, "loader", "could not load connectors",
                   "The connector loader ran out of memory or libltdl could not start.", NULL);
    return -1;
  }
  nbh_cli_report_refusals(cli, set, NB_LOG_DEBUG);
  return 0;
}
