/*
 * cli_uploads.c - the uploads command: the objects of storage modules that
 * a state file describes as written but not completed (a run killed or
 * failed, and not resumed), and, with --abort, giving them up through
 * their module (the server-side upload and the local spool files).
 *
 * Object storage keeps the parts of an unfinished upload (and bills them)
 * until it is completed or aborted; s3rver and some servers have no
 * ListMultipartUploads, so the state file is where they are found.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "io.h"
#include "loader.h"
#include "nebula/sdk.h"
#include "report.h"
#include "state.h"
#include "storage.h"
#include "utf8.h"

static int parse_options(NbhCli *cli, int argc, char **argv, bool *abort_them) {
  enum { OPT_ABORT = 1000 };
  static const struct option options[] = {
      NBH_GLOBAL_OPTIONS, {"abort", no_argument, NULL, OPT_ABORT}, {NULL, 0, NULL, 0}};
  int opt;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":q", options, NULL)) != -1) {
    int handled;
    if (opt == OPT_HELP) return nbh_cli_print_help("uploads") == 0 ? NBH_EXIT_OK : NBH_EXIT_USAGE;
    if (opt == OPT_ABORT) {
      *abort_them = true;
      continue;
    }
    handled = nbh_cli_global_option(cli, opt, optarg);
    if (handled < 0) return NBH_EXIT_USAGE;
    if (handled == 0) return nbh_cli_bad_option(cli, "uploads", opt, argv);
  }
  return -1;
}

/* Abort the upload of mark through the module serving its scheme. */
static int abort_one(NbhCli *cli, const NbhStorageList *storages, const NbhFileMark *m) {
  NbHostApi api;
  NbhRoute route;
  NbError err;
  void *writer = NULL;
  nb_error_init(&err);
  memset(&api, 0, sizeof api);
  api.struct_size = (uint32_t)sizeof api;
  api.abi_version = NB_ABI_CURRENT;
  nbh_io_install(&api);
  int rc = nbh_storage_route(storages, m->path, &route, &err);
  if (rc == NB_OK && (route.module == NULL || !NB_STRUCT_HAS(NbStorage, route.module, writer_close) ||
                      route.module->writer_open == NULL))
    rc = nb_error_set(&err, NB_INVALID, "no loaded storage module writes \"%s\"", m->path);
  if (rc == NB_OK) rc = route.module->writer_open(&api, m->path, m->storage, m->length, &writer, &err);
  if (rc == NB_OK) rc = route.module->writer_abort(writer, &err);
  if (writer != NULL) route.module->writer_close(writer);
  if (rc != NB_OK) {
    nbh_log_report(cli->logger, NB_LOG_ERROR, "host",
                   err.message != NULL ? err.message : "could not abort the upload", err.detail,
                   err.hint);
    nb_error_release(&err);
    return NBH_EXIT_FAILED;
  }
  printf("aborted\t%s\n", m->path);
  return NBH_EXIT_OK;
}

int nbh_cmd_uploads(NbhCli *cli, int argc, char **argv) {
  bool abort_them = false;
  NbhState state;
  NbError err;
  int code = parse_options(cli, argc, argv, &abort_them);
  if (code >= 0) return code;
  if (optind >= argc) return nbh_cli_usage_error(cli, "uploads", "no state file given");
  if (optind + 1 < argc)
    return nbh_cli_usage_error(cli, "uploads", "unexpected argument \"%s\"", argv[optind + 1]);
  memset(&state, 0, sizeof state);
  nb_error_init(&err);
  int rc = nbh_state_read(argv[optind], &state, &err);
  if (rc == NB_NOT_FOUND && err.message == NULL)
    nb_error_set(&err, NB_NOT_FOUND, "no state file \"%s\"", argv[optind]);
  if (rc != NB_OK) {
    nbh_log_report(cli->logger, NB_LOG_ERROR, "host",
                   err.message != NULL ? err.message : "could not read the state file", err.detail,
                   err.hint);
    nb_error_release(&err);
    return rc == NB_NOT_FOUND || rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
  }
  NbhPluginSet set;
  bool loaded = false;
  code = NBH_EXIT_OK;
  for (size_t i = 0; i < state.n_files; i++) {
    const NbhFileMark *m = &state.files[i];
    if (m->storage == NULL) continue;
    char *shown = nbh_printable(m->path, NBH_SHOW_TEXT);
    printf("pending\t%s\t%" PRIu64 " bytes committed\t%s\n", shown != NULL ? shown : "?",
           m->length, m->storage);
    free(shown);
    if (!abort_them) continue;
    if (!loaded) {
      if (nbh_cli_load_plugins(cli, &set, NULL, 0) != 0) {
        nbh_plugins_free(&set);
        nbh_state_free(&state);
        return NBH_EXIT_FAILED;
      }
      loaded = true;
    }
    if (abort_one(cli, set.storages, m) != NBH_EXIT_OK) code = NBH_EXIT_FAILED;
  }
  if (loaded) nbh_plugins_free(&set);
  nbh_state_free(&state);
  return code;
}
