/*
 * cli.h - what the commands of nebula-host share: the context main()
 * builds from the global options, option parsing helpers, error reporting,
 * and the command entry points (one file per group of commands).
 */
#ifndef NBH_CLI_H
#define NBH_CLI_H

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

#include "pipeline_config.h"
#include "loader.h"
#include "log.h"
#include "nebula/abi.h"

typedef struct NbhCli {
  NbhLogger *logger;
  const char **plugin_dirs;         /* --plugin-dir, in order (argv strings) */
  size_t n_plugin_dirs;
  bool quiet;                       /* -q: errors only, no progress line */
  bool log_level_given;             /* --log-level overrides -q */
  volatile sig_atomic_t *stop_signal; /* main()'s flag, set by the handler */
  /* Install main()'s SIGINT/SIGTERM handlers.  Called just before a
   * pipeline runs: until then the default action (terminate) is what a
   * user expects from a command that has nothing to save. */
  int (*arm_signals)(void);
  /* main()'s slot for the file being loaded (NbhPluginSet.loading): its
   * atexit handler names the connector that called exit() while loading. */
  const char **loading;
} NbhCli;

/* Long-only option codes shared by the commands. */
enum {
  OPT_PLUGIN_DIR = 256,
  OPT_LOG_FORMAT,
  OPT_LOG_LEVEL,
  OPT_HELP,
  OPT_JSON,
  OPT_STATE,
  OPT_METRICS_ADDR,
  OPT_DEAD_LETTER,
  OPT_ON_ERROR,
  OPT_MAX_ERRORS,
  OPT_BATCH_ROWS,
  OPT_PROGRESS,
  OPT_NO_PROGRESS,
  OPT_SOURCE_PATH,
  OPT_DEST_PATH,
  OPT_FORMAT,
  OPT_SOURCE_SETTING,
  OPT_DEST_SETTING,
  OPT_ALLOW_CONFIG_CHANGE
};

/* The global options, accepted before and after the command name. */
#define NBH_GLOBAL_OPTIONS                                   \
  {"plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR},   \
  {"log-format", required_argument, NULL, OPT_LOG_FORMAT},   \
  {"log-level", required_argument, NULL, OPT_LOG_LEVEL},     \
  {"quiet", no_argument, NULL, 'q'},                         \
  {"help", no_argument, NULL, OPT_HELP}

/* Handle a global option (opt as returned by getopt_long).  Returns 1 when
 * handled, 0 when opt is not global, -1 after reporting a bad value. */
int nbh_cli_global_option(NbhCli *cli, int opt, const char *arg);

/* Report what getopt_long returned for a bad option ('?' or ':') and
 * return NBH_EXIT_USAGE. */
int nbh_cli_bad_option(NbhCli *cli, const char *command, int opt, char **argv);

/* Report a usage error and return NBH_EXIT_USAGE. */
int nbh_cli_usage_error(NbhCli *cli, const char *command, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report err (message, detail, hint) at level; NULL-safe. */
void nbh_cli_report(NbhCli *cli, int level, const NbError *err);

/* Load connectors from the search path into set (initialised here): every
 * one when n_names is 0, else only what names need (nbh_plugins_search).
 * Refused files are reported at debug level (`list` and a connector that
 * is not found show them).  Returns 0 or -1 (out of memory / libltdl
 * broken, already reported). */
/* The same on a set already initialised (set->load_storage may be set). */
int nbh_cli_search_plugins(NbhCli *cli, NbhPluginSet *set, const char *const *names,
                           size_t n_names);
int nbh_cli_load_plugins(NbhCli *cli, NbhPluginSet *set, const char *const *names,
                         size_t n_names);

/* Report the refused files of set as warnings. */
void nbh_cli_report_refusals(NbhCli *cli, const NbhPluginSet *set, int level);

/* Print a command's help (NULL: the overview) to stdout.  Returns 0, or -1
 * for an unrecognised command. */
int nbh_cli_print_help(const char *command);

/* The host API `validate` opens connectors with (cli_dryrun.c): logging
 * and cancellation as above, and file slots that refuse to open anything
 * and set files_refused (a connector that asks for a file has passed its
 * own checks of the settings).  host_data points at *ctx. */
typedef struct NbhCliDryHost {
  NbhLogger *logger;
  const char *component;
  volatile sig_atomic_t *stop_signal;
  bool files_refused;
} NbhCliDryHost;
void nbh_cli_dry_host_api(NbhCliDryHost *ctx, NbHostApi *api);

/* Commands: argc/argv start at the command name.  Return an exit code. */
int nbh_cmd_list(NbhCli *cli, int argc, char **argv);
int nbh_cmd_describe(NbhCli *cli, int argc, char **argv);
/* cli_uploads.c: the unfinished object uploads of a state file. */
int nbh_cmd_uploads(NbhCli *cli, int argc, char **argv);
int nbh_cmd_validate(NbhCli *cli, int argc, char **argv);
int nbh_cmd_check(NbhCli *cli, int argc, char **argv);
int nbh_cmd_discover(NbhCli *cli, int argc, char **argv);
int nbh_cmd_run(NbhCli *cli, int argc, char **argv);
int nbh_cmd_pipeline(NbhCli *cli, int argc, char **argv);

#endif /* NBH_CLI_H */
