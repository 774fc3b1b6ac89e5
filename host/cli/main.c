/*
 * main.c - nebula-host's entry point: global options, signal handling and
 * dispatch to the commands (cli_*.c).
 *
 * The host's global mutable state lives here and only here: the flag the
 * SIGINT/SIGTERM handler sets, and the path of the connector file being
 * loaded (see on_exit_while_loading).  The handlers are installed only when a
 * pipeline is about to run (run, pipeline); the first signal then asks it
 * to stop cleanly (drain, commit, write state, exit 130/143) and a second
 * one aborts at once with _exit(128 + signal).  Other commands keep the
 * default action: they have nothing to save.
 */
#include <getopt.h>
#include <signal.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "log.h"
#include "report.h"
#include "textutil.h"
#include "utf8.h"

#ifndef NEBULA_VERSION
#define NEBULA_VERSION "0.0.0"
#endif

static volatile sig_atomic_t stop_signal;

/* Set by the loader (NbhPluginSet.loading) while connector code runs
 * during loading.  A constructor or entry function that calls exit() ends
 * the process from inside the loader; this handler then says which file
 * did it, instead of leaving a command that died without a word.  The
 * exit status becomes NBH_EXIT_FAILED, whatever the connector passed. */
static const char *loading_file;

static void on_exit_while_loading(void) {
  char *shown;
  if (loading_file == NULL) return;
  shown = nbh_printable(loading_file, NBH_SHOW_TEXT);
  fprintf(stderr, "nebula-host: connector \"%s\" called exit() while loading\n"
                  "HINT: Remove the file from the connector search path, or report the bug to "
                  "the connector's authors.\n",
          shown != NULL ? shown : "?");
  free(shown);
  fflush(stderr);
  _exit(NBH_EXIT_FAILED);
}

static void on_stop_signal(int sig) {
  if (stop_signal != 0) _exit(128 + sig);
  stop_signal = sig;
}

static int install_signal_handlers(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  /* Restart interrupted system calls: the engine polls the flag between
   * batches, and a read() failing with EINTR would turn a clean stop into
   * an I/O error. */
  sa.sa_flags = SA_RESTART;
  if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0) return -1;
  return 0;
}

static int print_version(void) {
  printf("nebula-host %s (connector ABI %d.%d)\n", NEBULA_VERSION, NB_ABI_MAJOR, NB_ABI_MINOR);
  return NBH_EXIT_OK;
}

static int cmd_version(NbhCli *cli, int argc, char **argv) {
  static const struct option options[] = {NBH_GLOBAL_OPTIONS, {NULL, 0, NULL, 0}};
  int opt;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":q", options, NULL)) != -1) {
    int handled = nbh_cli_global_option(cli, opt, optarg);
    if (opt == OPT_HELP) return nbh_cli_print_help("version") == 0 ? 0 : 2;
    if (handled < 0) return NBH_EXIT_USAGE;
    if (handled == 0) return nbh_cli_bad_option(cli, "version", opt, argv);
  }
  if (optind < argc)
    return nbh_cli_usage_error(cli, "version", "unexpected argument \"%s\"", argv[optind]);
  return print_version();
}

static int cmd_help(NbhCli *cli, int argc, char **argv) {
  if (argc > 2) return nbh_cli_usage_error(cli, "help", "too many arguments");
  if (argc == 2 && nbh_cli_print_help(argv[1]) != 0)
    return nbh_cli_usage_error(cli, NULL, "unrecognized command \"%s\"", argv[1]);
  if (argc < 2) nbh_cli_print_help(NULL);
  return NBH_EXIT_OK;
}

typedef struct Command {
  const char *name;
  int (*run)(NbhCli *cli, int argc, char **argv);
} Command;

static const Command commands[] = {
    {"list", nbh_cmd_list},         {"describe", nbh_cmd_describe},
    {"validate", nbh_cmd_validate}, {"check", nbh_cmd_check},
    {"discover", nbh_cmd_discover}, {"run", nbh_cmd_run},
    {"pipeline", nbh_cmd_pipeline}, {"version", cmd_version},
    {"help", cmd_help},             {"uploads", nbh_cmd_uploads},
};

static int dispatch(NbhCli *cli, int argc, char **argv) {
  static const struct option options[] = {
      NBH_GLOBAL_OPTIONS, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0}};
  const char *names[sizeof commands / sizeof commands[0]];
  const char *guess;
  size_t i;
  int opt;
  /* '+': stop at the command name; the command parses the rest. */
  while ((opt = getopt_long(argc, argv, "+:qV", options, NULL)) != -1) {
    int handled;
    if (opt == 'V') return print_version();
    if (opt == OPT_HELP) {
      nbh_cli_print_help(NULL);
      return NBH_EXIT_OK;
    }
    handled = nbh_cli_global_option(cli, opt, optarg);
    if (handled < 0) return NBH_EXIT_USAGE;
    if (handled == 0) return nbh_cli_bad_option(cli, NULL, opt, argv);
  }
  if (optind >= argc) {
    nbh_cli_usage_error(cli, NULL, "no command given");
    return NBH_EXIT_USAGE;
  }
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    names[i] = commands[i].name;
    if (strcmp(argv[optind], commands[i].name) == 0)
      return commands[i].run(cli, argc - optind, argv + optind);
  }
  guess = nbh_did_you_mean(argv[optind], names, sizeof names / sizeof names[0]);
  if (guess != NULL)
    return nbh_cli_usage_error(cli, NULL, "unrecognized command \"%s\"; did you mean \"%s\"?",
                               argv[optind], guess);
  return nbh_cli_usage_error(cli, NULL, "unrecognized command \"%s\"", argv[optind]);
}

/* Batches are buffers of MiBs allocated and freed at every batch.  glibc
 * serves allocations over its (adaptive, at most 32 MiB) threshold with
 * mmap and returns them with munmap, so every batch page-faults its
 * buffers in again: measured on 1M taxi rows, csv -> arrow spent 0.65 s of
 * system time (0.12 s with the heap) and csv -> json 0.83 s (0.50 s), with
 * the same peak RSS (bench/RESULTS.md).  Keep buffers up to 64 MiB in the
 * heap, and give memory back to the system only past 128 MiB free. */
static void tune_allocator(void) {
  mallopt(M_MMAP_THRESHOLD, 64 << 20);
  mallopt(M_TRIM_THRESHOLD, 128 << 20);
}

int main(int argc, char **argv) {
  NbhLogger logger;
  NbhCli cli;
  int code;
  tune_allocator();
  if (nbh_logger_init(&logger, NBH_LOG_LOGFMT, NB_LOG_INFO, stderr) != 0) {
    fputs("nebula-host: could not initialize the logger\n", stderr);
    return NBH_EXIT_FAILED;
  }
  memset(&cli, 0, sizeof cli);
  cli.logger = &logger;
  cli.stop_signal = &stop_signal;
  cli.arm_signals = install_signal_handlers;
  cli.loading = &loading_file;
  if (atexit(on_exit_while_loading) != 0) {
    fputs("nebula-host: could not register an exit handler\n", stderr);
    nbh_logger_destroy(&logger);
    return NBH_EXIT_FAILED;
  }
  cli.plugin_dirs = calloc((size_t)argc + 1, sizeof *cli.plugin_dirs);
  if (cli.plugin_dirs == NULL) {
    fputs("nebula-host: out of memory\n", stderr);
    nbh_logger_destroy(&logger);
    return NBH_EXIT_FAILED;
  }
  opterr = 0; /* we report bad options ourselves, in our style */
  code = dispatch(&cli, argc, argv);
  /* A command other than run/pipeline interrupted by a signal still ends
   * with the conventional status. */
  if (stop_signal != 0 && code != NBH_EXIT_SIGINT && code != NBH_EXIT_SIGTERM)
    code = 128 + stop_signal;
  if (fflush(stdout) != 0 && code == NBH_EXIT_OK) {
    nbh_log_report(&logger, NB_LOG_ERROR, "host", "could not write to standard output", NULL,
                   NULL);
    code = NBH_EXIT_FAILED;
  }
  free(cli.plugin_dirs);
  nbh_logger_destroy(&logger);
  return code;
}
