/*
 * cli_pipeline.c - the commands that work on one pipeline: `validate`
 * (offline checks), `check` (open and close both ends), `discover`
 * (streams and schemas), `run` (a configuration file) and `pipeline` (the
 * one-liner built from options).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "connection.h"
#include "engine.h"
#include "engine_options.h"
#include "invariant.h"
#include "nebula/sdk.h"
#include "report.h"
#include "textutil.h"
#include "utf8.h"

/* ------------------------------------------------------------------------
 * Options
 * ------------------------------------------------------------------------ */

/* An engine setting given as an option; applied after the file is read so
 * that options win. */
typedef struct Override {
  const char *name;
  const char *text;
  const char *option;
} Override;

typedef struct Args {
  const char *command;
  bool json;
  int progress;             /* -1 unset, 0 --no-progress, 1 --progress */
  bool allow_config_change; /* --allow-config-change */
  Override overrides[32];
  size_t n_overrides;
  /* pipeline only */
  const char *source_path, *dest_path, *format;
  char **settings;          /* "-s", "--source-setting", "--dest-setting"
                               values in order, with their option codes */
  int *setting_opts;
  size_t n_settings;
  /* positional arguments */
  char **positional;
  int n_positional;
} Args;

static const struct option run_options[] = {
    NBH_GLOBAL_OPTIONS,
    {"json", no_argument, NULL, OPT_JSON},
    {"state", required_argument, NULL, OPT_STATE},
    {"metrics-addr", required_argument, NULL, OPT_METRICS_ADDR},
    {"dead-letter", required_argument, NULL, OPT_DEAD_LETTER},
    {"on-error", required_argument, NULL, OPT_ON_ERROR},
    {"max-errors", required_argument, NULL, OPT_MAX_ERRORS},
    {"batch-rows", required_argument, NULL, OPT_BATCH_ROWS},
    {"progress", no_argument, NULL, OPT_PROGRESS},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"allow-config-change", no_argument, NULL, OPT_ALLOW_CONFIG_CHANGE},
    {"source-path", required_argument, NULL, OPT_SOURCE_PATH},
    {"dest-path", required_argument, NULL, OPT_DEST_PATH},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"setting", required_argument, NULL, 's'},
    {"source-setting", required_argument, NULL, OPT_SOURCE_SETTING},
    {"dest-setting", required_argument, NULL, OPT_DEST_SETTING},
    {NULL, 0, NULL, 0}};

/* Which options each command accepts, beyond the global ones. */
static bool accepts(const char *command, int opt) {
  bool runs = strcmp(command, "run") == 0 || strcmp(command, "pipeline") == 0;
  switch (opt) {
    case OPT_JSON: return strcmp(command, "discover") == 0;
    case OPT_STATE:
    case OPT_METRICS_ADDR:
    case OPT_DEAD_LETTER:
    case OPT_ON_ERROR:
    case OPT_MAX_ERRORS:
    case OPT_BATCH_ROWS:
    case OPT_PROGRESS:
    case OPT_NO_PROGRESS:
    case OPT_ALLOW_CONFIG_CHANGE: return runs;
    case OPT_SOURCE_PATH:
    case OPT_DEST_PATH:
    case OPT_FORMAT:
    case 's':
    case OPT_SOURCE_SETTING:
    case OPT_DEST_SETTING: return strcmp(command, "pipeline") == 0;
    default: return false;
  }
}

static const char *option_text(int opt) {
  const struct option *o;
  if (opt == 's') return "-s";
  for (o = run_options; o->name != NULL; o++)
    if (o->val == opt) return o->name;
  return "?";
}

/* Returns -1 to go on, or an exit code. */
static int parse_args(NbhCli *cli, const char *command, int argc, char **argv, Args *args) {
  int opt;
  memset(args, 0, sizeof *args);
  args->command = command;
  args->progress = -1;
  args->settings = calloc((size_t)argc + 1, sizeof *args->settings);
  args->setting_opts = calloc((size_t)argc + 1, sizeof *args->setting_opts);
  if (args->settings == NULL || args->setting_opts == NULL) {
    nbh_log_report(cli->logger, NB_LOG_ERROR, "host", "out of memory", NULL, NULL);
    return NBH_EXIT_FAILED;
  }
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":qs:", run_options, NULL)) != -1) {
    int handled;
    if (opt == OPT_HELP) return nbh_cli_print_help(command) == 0 ? NBH_EXIT_OK : NBH_EXIT_USAGE;
    handled = nbh_cli_global_option(cli, opt, optarg);
    if (handled < 0) return NBH_EXIT_USAGE;
    if (handled > 0) continue;
    if (opt == '?' || opt == ':' || !accepts(command, opt)) {
      if (opt != '?' && opt != ':')
        return nbh_cli_usage_error(cli, command, "option \"%s\" does not apply to %s",
                                   argv[optind - 1], command);
      return nbh_cli_bad_option(cli, command, opt, argv);
    }
    switch (opt) {
      case OPT_JSON: args->json = true; break;
      case OPT_PROGRESS: args->progress = 1; break;
      case OPT_NO_PROGRESS: args->progress = 0; break;
      case OPT_ALLOW_CONFIG_CHANGE: args->allow_config_change = true; break;
      case OPT_SOURCE_PATH: args->source_path = optarg; break;
      case OPT_DEST_PATH: args->dest_path = optarg; break;
      case OPT_FORMAT: args->format = optarg; break;
      case 's':
      case OPT_SOURCE_SETTING:
      case OPT_DEST_SETTING:
        args->settings[args->n_settings] = optarg;
        args->setting_opts[args->n_settings++] = opt;
        break;
      default: {
        /* Every other option sets the engine option the table names. */
        const NbhEngineSetting *e = nbh_engine_setting_by_option(option_text(opt));
        if (NBH_NEVER(e == NULL)) return nbh_cli_usage_error(cli, command, "unhandled option");
        if (args->n_overrides == sizeof args->overrides / sizeof args->overrides[0])
          return nbh_cli_usage_error(cli, command, "too many options");
        args->overrides[args->n_overrides].name = e->spec.name;
        args->overrides[args->n_overrides].text = optarg;
        args->overrides[args->n_overrides++].option = option_text(opt);
        break;
      }
    }
  }
  args->positional = argv + optind;
  args->n_positional = argc - optind;
  return -1;
}

static void args_free(Args *args) {
  free(args->settings);
  free(args->setting_opts);
}

/* ------------------------------------------------------------------------
 * Preparing a pipeline
 * ------------------------------------------------------------------------ */

typedef struct Pipeline {
  NbhPluginSet plugins;
  NbhConfig cfg;
} Pipeline;

static void pipeline_free(Pipeline *p) {
  nbh_config_free(&p->cfg);
  nbh_plugins_free(&p->plugins);
}

static int report_and_code(NbhCli *cli, NbError *err, int status) {
  nbh_cli_report(cli, NB_LOG_ERROR, err);
  nb_error_release(err);
  if (status == NB_NOMEM) return NBH_EXIT_FAILED;
  if (status == NB_IO) return NBH_EXIT_FAILED;
  return NBH_EXIT_USAGE;
}

/* Whether a setting of side looks like a path with a URL scheme. */
static bool mentions_scheme(const NbhConfigSide *side) {
  size_t i;
  for (i = 0; i < side->n_values; i++)
    if (side->values[i].text != NULL && strstr(side->values[i].text, "://") != NULL) return true;
  return false;
}

/* Load the two connectors the configuration names, and no other; the
 * storage modules too when a setting holds a path with a scheme. */
static int load_for(NbhCli *cli, Pipeline *p) {
  const char *names[2];
  size_t n = 0;
  if (p->cfg.source.connector != NULL) names[n++] = p->cfg.source.connector;
  if (p->cfg.destination.connector != NULL) names[n++] = p->cfg.destination.connector;
  nbh_plugins_init(&p->plugins);
  p->plugins.load_storage = mentions_scheme(&p->cfg.source) || mentions_scheme(&p->cfg.destination);
  return nbh_cli_search_plugins(cli, &p->plugins, names, n);
}

/* Options given for engine settings go over the file's. */
static int apply_overrides(NbhCli *cli, Pipeline *p, const Args *args) {
  NbError err;
  size_t i;
  nb_error_init(&err);
  for (i = 0; i < args->n_overrides; i++) {
    char option[64];
    const Override *o = &args->overrides[i];
    int rc;
    snprintf(option, sizeof option, "--%s", o->option);
    rc = nbh_config_set_engine(&p->cfg, o->name, o->text, option, &err);
    if (rc != NB_OK) return report_and_code(cli, &err, rc);
  }
  p->cfg.engine.allow_config_change = args->allow_config_change;
  if (args->progress >= 0)
    p->cfg.engine.progress = args->progress == 1;
  else if (!p->cfg.engine.progress)
    p->cfg.engine.progress = !cli->quiet && cli->logger->format == NBH_LOG_LOGFMT &&
                             isatty(STDERR_FILENO);
  return -1;
}

/* Load the connectors, then the configuration, then check it.  Returns -1
 * when the pipeline is ready, else an exit code (already reported). */
static int prepare_from_file(NbhCli *cli, Pipeline *p, const Args *args, const char *path) {
  NbError err;
  int rc, code;
  nb_error_init(&err);
  rc = nbh_config_load(&p->cfg, path, &err);
  if (rc != NB_OK) return report_and_code(cli, &err, rc);
  code = apply_overrides(cli, p, args);
  if (code >= 0) return code;
  if (load_for(cli, p) != 0) return NBH_EXIT_FAILED;
  rc = nbh_config_resolve(&p->cfg, &p->plugins, cli->logger, &err);
  /* Why a file was refused is part of the answer, even with -q. */
  if (rc == NB_NOT_FOUND) nbh_cli_report_refusals(cli, &p->plugins, NB_LOG_ERROR);
  if (rc != NB_OK) return report_and_code(cli, &err, rc);
  return -1;
}

/* One CONFIG argument, nothing else. */
static int want_config(NbhCli *cli, const Args *args) {
  if (args->n_positional < 1)
    return nbh_cli_usage_error(cli, args->command, "no configuration file given");
  if (args->n_positional > 1)
    return nbh_cli_usage_error(cli, args->command, "unexpected argument \"%s\"",
                               args->positional[1]);
  return -1;
}

/* ------------------------------------------------------------------------
 * validate
 * ------------------------------------------------------------------------ */

/* Strings and enums are printed quoted, as in a configuration file. */
static bool is_text_setting(const NbConnector *c, const char *name) {
  uint32_t i;
  for (i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = nbh_connector_setting(c, i);
    if (strcmp(s->name, name) == 0)
      return s->type == NB_SETTING_STRING || s->type == NB_SETTING_ENUM;
  }
  return true;
}

/* A value as validate prints it: a secret's value never, and no other
 * value may show it either (a path like "/data/${TOKEN}/in.csv" holds the
 * secret too): every secret registered with the logger is redacted. */
static void print_value(NbhCli *cli, const char *text, bool quoted) {
  char *redacted = nbh_logger_redact(cli->logger, text);
  if (redacted == NULL) {
    fputs("(out of memory)", stdout);
  } else if (quoted) {
    nbh_json_write_string(stdout, redacted);
  } else {
    nbh_fput_printable(redacted, NBH_SHOW_TEXT, stdout);
  }
  free(redacted);
}

static void print_side(NbhCli *cli, const NbhConfig *cfg, const NbhConfigSide *side) {
  uint32_t i;
  char *version = nbh_printable(side->plugin->vtable.version ? side->plugin->vtable.version : "-",
                                NBH_SHOW_NAME);
  char *path = nbh_printable(side->plugin->path, NBH_SHOW_TEXT);
  printf("%s: %s %s (%s)\n", nbh_config_side_name(cfg, side), side->plugin->vtable.name,
         version != NULL ? version : "?", path != NULL ? path : "?");
  free(version);
  free(path);
  for (i = 0; i < side->settings.count; i++) {
    printf("  %s = ", side->names[i]);
    if (side->secret[i])
      fputs("[REDACTED]", stdout);
    else
      print_value(cli, side->texts[i], is_text_setting(&side->plugin->vtable, side->names[i]));
    fputs(side->defaulted[i] ? " (default)\n" : "\n", stdout);
  }
}

/* Every engine option as the table declares it; strings go through the
 * redaction (a path may hold a secret). */
static void print_engine(NbhCli *cli, const NbhEngineOptions *e) {
  size_t n;
  const NbhEngineSetting *table = nbh_engine_settings(&n);
  printf("engine:\n");
  for (size_t i = 0; i < n; i++) {
    char buf[64];
    const char *text = nbh_engine_setting_text(e, &table[i], buf, sizeof buf);
    printf("  %s = ", table[i].spec.name);
    if (text == NULL)
      fputs("(none)", stdout);
    else if (table[i].field == NBH_FIELD_STRING)
      print_value(cli, text, false);
    else
      fputs(text, stdout);
    fputs("\n", stdout);
  }
}

/* Open one side with the dry-run host (cli_dryrun.c) so the connector's own
 * checks of its settings run.  Returns -1 when they pass, else an exit
 * code (the connector's error reported under its name). */
static int dry_open(NbhCli *cli, const NbhConfig *cfg, const NbhConfigSide *side, bool dest) {
  const NbConnector *c = &side->plugin->vtable;
  NbhCliDryHost ctx = {cli->logger, c->name, cli->stop_signal, false};
  NbOpenArgs a;
  NbHostApi api;
  NbError err;
  void *handle = NULL;
  int rc;
  nbh_open_args_init(&a, &side->settings, cfg->engine.batch_rows, cfg->engine.batch_bytes);
  nbh_cli_dry_host_api(&ctx, &api);
  nb_error_init(&err);
  NbhSettingsView view;
  if (dest) {
    /* The settings the host declares for the destination are checked
     * here, as at a real dest_open (connection.c), and not passed on. */
    NbhFileCompression compression;
    rc = nbh_file_compression_read(c, &side->settings, &compression, &err);
    if (rc == NB_OK) rc = nbh_connector_settings_view(c, &side->settings, &view, &err);
    if (rc != NB_OK) {
      nbh_cli_report(cli, NB_LOG_ERROR, &err);
      nb_error_release(&err);
      return rc == NB_NOMEM ? NBH_EXIT_FAILED : NBH_EXIT_USAGE;
    }
    a.settings = &view.settings;
  }
  rc = dest ? c->dest_open(&api, &a, &handle, &err) : c->source_open(&api, &a, &handle, &err);
  if (dest) nbh_connector_settings_view_free(&view);
  if (rc == NB_OK) {
    if (handle != NULL) (dest ? c->dest_close : c->source_close)(handle);
    return -1;
  }
  if (ctx.files_refused) {
    /* It asked for a file: its checks of the settings passed, whatever
     * status it made of the refusal. */
    if (err.release != NULL) err.release(&err);
    return -1;
  }
  if (*cli->stop_signal != 0) {
    if (err.release != NULL) err.release(&err);
    return 128 + *cli->stop_signal;
  }
  nbh_log_report(cli->logger, NB_LOG_ERROR, c->name,
                 err.message != NULL ? err.message : nb_status_name(rc), err.detail, err.hint);
  if (err.release != NULL) err.release(&err);
  return rc == NB_INVALID ? NBH_EXIT_USAGE : NBH_EXIT_FAILED;
}

/* The start of the commands that take one configuration file (validate,
 * check, discover, run): arguments parsed, the file loaded and resolved.
 * Returns -1 to go on, or the exit code; either way the caller ends with
 * pipeline_free(p) and args_free(args). */
static int start_from_file(NbhCli *cli, const char *command, int argc, char **argv, Args *args,
                           Pipeline *p) {
  nbh_config_init(&p->cfg);
  nbh_plugins_init(&p->plugins);
  int code = parse_args(cli, command, argc, argv, args);
  if (code < 0) code = want_config(cli, args);
  if (code < 0) code = prepare_from_file(cli, p, args, args->positional[0]);
  return code;
}

int nbh_cmd_validate(NbhCli *cli, int argc, char **argv) {
  Args args;
  Pipeline p;
  int code = start_from_file(cli, "validate", argc, argv, &args, &p);
  if (code < 0) code = dry_open(cli, &p.cfg, &p.cfg.source, false);
  if (code < 0) code = dry_open(cli, &p.cfg, &p.cfg.destination, true);
  if (code < 0) {
    print_side(cli, &p.cfg, &p.cfg.source);
    print_side(cli, &p.cfg, &p.cfg.destination);
    print_engine(cli, &p.cfg.engine);
    fputs("configuration ", stdout);
    print_value(cli, p.cfg.path, true);
    fputs(" is valid\n", stdout);
    code = NBH_EXIT_OK;
  }
  pipeline_free(&p);
  args_free(&args);
  return code;
}

/* ------------------------------------------------------------------------
 * check and discover: opening the connectors
 * ------------------------------------------------------------------------ */

/* A connection for one side of the pipeline: cancelled by a signal, no
 * metrics, no retries (nothing is being copied: a transient failure is
 * reported as it is).  `check` gives its destination the dry write. */
static int cli_cancelled(void *owner) {
  NbhCli *cli = owner;
  return *cli->stop_signal != 0;
}

static void connect_side(NbhCli *cli, NbhConnection *c, const NbhConfigSide *side,
                         const char *role, bool dry_write) {
  nbh_connection_init(c, &side->plugin->vtable, role, cli->logger);
  c->storages = side->plugin->storages;
  c->is_cancelled = cli_cancelled;
  c->owner = cli;
  c->dry_write = dry_write;
}

/* Open one side; returns -1 or an exit code (already reported). */
static int open_side(NbhCli *cli, const Pipeline *p, NbhConnection *c,
                     const NbhConfigSide *side) {
  NbOpenArgs a;
  NbError err;
  bool source = strcmp(c->role, "source") == 0;
  int rc;
  nbh_open_args_init(&a, &side->settings, p->cfg.engine.batch_rows, p->cfg.engine.batch_bytes);
  rc = source ? nbh_connection_source_open(c, &a, &err) : nbh_connection_dest_open(c, &a, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, source ? "source_open" : "dest_open", rc, &err);
    return *cli->stop_signal ? 128 + *cli->stop_signal : NBH_EXIT_FAILED;
  }
  return -1;
}

static int stream_count(NbhConnection *c, uint32_t *n) {
  NbError err;
  int rc = nbh_connection_stream_count(c, n, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, "source_stream_count", rc, &err);
    return NBH_EXIT_FAILED;
  }
  return -1;
}

int nbh_cmd_check(NbhCli *cli, int argc, char **argv) {
  Args args;
  Pipeline p;
  NbhConnection source, dest;
  uint32_t streams = 0;
  int code = start_from_file(cli, "check", argc, argv, &args, &p);
  if (code < 0) {
    connect_side(cli, &source, &p.cfg.source, "source", false);
    connect_side(cli, &dest, &p.cfg.destination, "destination", true);
    code = open_side(cli, &p, &source, &p.cfg.source);
    if (code < 0) code = stream_count(&source, &streams);
    nbh_connection_close(&source);
    if (code < 0) {
      printf("source: %s: opened, %u stream%s\n", source.name, (unsigned)streams,
             streams == 1 ? "" : "s");
      code = open_side(cli, &p, &dest, &p.cfg.destination);
    }
    nbh_connection_close(&dest); /* also frees what a failed open used */
    if (code < 0) {
      printf("destination: %s: opened\n", dest.name);
      printf("check of \"%s\" passed\n", p.cfg.path);
      code = NBH_EXIT_OK;
    }
  }
  pipeline_free(&p);
  args_free(&args);
  return code;
}

/* ------------------------------------------------------------------------
 * discover
 * ------------------------------------------------------------------------ */

/* The stream's key (NbStreamInfo.key_columns, ABI 1.2) after checking it
 * against the schema: *count 0 when the connector gives none.  A key that
 * names no column of the schema, or a column twice, is the connector's
 * bug: NB_INTERNAL naming the stream. */
static int stream_key(const NbStreamInfo *info, const NbField *fields, size_t n,
                      const char *const **key, uint32_t *count, NbError *err) {
  uint32_t k, j;
  *key = NULL;
  *count = 0;
  if (!NB_STRUCT_HAS(NbStreamInfo, info, key_count) || info->key_count == 0) return NB_OK;
  if (info->key_columns == NULL || info->key_count > n)
    return nb_error_set(err, NB_INTERNAL, "stream \"%s\": a key of %u columns that the schema does not hold",
                        info->name != NULL ? info->name : "", info->key_count);
  for (k = 0; k < info->key_count; k++) {
    const char *name = info->key_columns[k];
    size_t i;
    for (i = 0; name != NULL && i < n; i++)
      if (fields[i].name != NULL && strcmp(fields[i].name, name) == 0) break;
    for (j = 0; name != NULL && i < n && j < k; j++)
      if (strcmp(info->key_columns[j], name) == 0) i = n;
    if (name == NULL || i == n)
      return nb_error_set(err, NB_INTERNAL, "stream \"%s\": key column %u (\"%s\") is not a column of its schema, or repeated",
                          info->name != NULL ? info->name : "", k + 1, name != NULL ? name : "(null)");
  }
  *key = info->key_columns;
  *count = info->key_count;
  return NB_OK;
}

/* The key as a JSON array ("key":[...]) or, in text, after the column
 * count (", key (\"a\", \"b\")"). */
static void print_key(const char *const *key, uint32_t count, bool json) {
  uint32_t k;
  if (!json && count == 0) return;
  fputs(json ? ",\"key\":[" : ", key (", stdout);
  for (k = 0; k < count; k++) {
    if (k > 0) fputs(json ? "," : ", ", stdout);
    nbh_json_write_string(stdout, key[k]);
  }
  fputs(json ? "]" : ")", stdout);
}

/* Print one stream; returns -1 or an exit code. */
static int discover_stream(NbhConnection *c, uint32_t index, bool json) {
  NbStreamInfo info;
  struct ArrowSchema schema;
  NbField *fields = NULL;
  size_t n = 0, i;
  const char *const *key;
  uint32_t key_count;
  NbError err;
  int rc;
  memset(&schema, 0, sizeof schema);
  rc = nbh_connection_stream_info(c, index, &info, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, "source_stream_info", rc, &err);
    return NBH_EXIT_FAILED;
  }
  rc = nbh_connection_schema(c, index, &schema, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, "source_schema", rc, &err);
    if (schema.release != NULL) schema.release(&schema);
    return NBH_EXIT_FAILED;
  }
  rc = nb_schema_fields(&schema, &fields, &n, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, "source_schema", rc, &err);
    if (schema.release != NULL) schema.release(&schema);
    return NBH_EXIT_FAILED;
  }
  nb_error_init(&err);
  rc = stream_key(&info, fields, n, &key, &key_count, &err);
  if (rc != NB_OK) {
    nbh_connection_report(c, "source_stream_info", rc, &err);
    free(fields);
    if (schema.release != NULL) schema.release(&schema);
    return NBH_EXIT_FAILED;
  }
  if (json) {
    fputs(index ? ",{\"name\":" : "{\"name\":", stdout);
    nbh_json_write_string(stdout, info.name != NULL ? info.name : "");
    printf(",\"size_bytes\":%lld", (long long)info.size_bytes);
    print_key(key, key_count, true);
    fputs(",\"columns\":[", stdout);
  } else {
    printf("stream ");
    nbh_json_write_string(stdout, info.name != NULL ? info.name : "");
    if (info.size_bytes >= 0) printf(" (%lld bytes)", (long long)info.size_bytes);
    printf(": %zu column%s", n, n == 1 ? "" : "s");
    print_key(key, key_count, false);
    fputc('\n', stdout);
  }
  for (i = 0; i < n; i++) {
    char type[96];
    nb_type_name(&fields[i], type, sizeof type);
    if (json) {
      fputs(i ? ",{\"name\":" : "{\"name\":", stdout);
      nbh_json_write_string(stdout, fields[i].name != NULL ? fields[i].name : "");
      fputs(",\"type\":", stdout);
      nbh_json_write_string(stdout, type);
      printf(",\"nullable\":%s}", fields[i].nullable ? "true" : "false");
    } else {
      printf("  ");
      nbh_json_write_string(stdout, fields[i].name != NULL ? fields[i].name : "");
      printf("  %s%s\n", type, fields[i].nullable ? "" : " not null");
    }
  }
  if (json) fputs("]}", stdout);
  free(fields);
  if (schema.release != NULL) schema.release(&schema);
  return -1;
}

int nbh_cmd_discover(NbhCli *cli, int argc, char **argv) {
  Args args;
  Pipeline p;
  NbhConnection source;
  uint32_t streams = 0, i;
  int code = start_from_file(cli, "discover", argc, argv, &args, &p);
  if (code < 0) {
    connect_side(cli, &source, &p.cfg.source, "source", false);
    code = open_side(cli, &p, &source, &p.cfg.source);
    if (code < 0) code = stream_count(&source, &streams);
    if (code < 0 && args.json) fputs("{\"streams\":[", stdout);
    for (i = 0; code < 0 && i < streams; i++) {
      if (*cli->stop_signal) code = 128 + *cli->stop_signal;
      if (code < 0) code = discover_stream(&source, i, args.json);
    }
    if (code < 0 && args.json) fputs("]}\n", stdout);
    nbh_connection_close(&source);
    if (code < 0) code = NBH_EXIT_OK;
  }
  pipeline_free(&p);
  args_free(&args);
  return code;
}

/* ------------------------------------------------------------------------
 * run and pipeline
 * ------------------------------------------------------------------------ */

static int run_engine(NbhCli *cli, Pipeline *p) {
  NbhEndpoint source, dest;
  NbhRunSummary summary;
  source.plugin = p->cfg.source.plugin;
  source.settings = &p->cfg.source.settings;
  dest.plugin = p->cfg.destination.plugin;
  dest.settings = &p->cfg.destination.settings;
  memset(&summary, 0, sizeof summary);
  /* A closed pipe downstream is a write error of the destination, which
   * the engine reports, rather than a silent death by SIGPIPE. */
  signal(SIGPIPE, SIG_IGN);
  if (cli->arm_signals() != 0) {
    nbh_log_report(cli->logger, NB_LOG_ERROR, "host", "could not install signal handlers", NULL,
                   NULL);
    return NBH_EXIT_FAILED;
  }
  return nbh_engine_run(&source, &dest, &p->cfg.engine, cli->logger, cli->stop_signal, &summary);
}

int nbh_cmd_run(NbhCli *cli, int argc, char **argv) {
  Args args;
  Pipeline p;
  int code = start_from_file(cli, "run", argc, argv, &args, &p);
  if (code < 0) code = run_engine(cli, &p);
  pipeline_free(&p);
  args_free(&args);
  return code;
}

/* "key=value" into the configuration. */
static int add_cli_setting(NbhCli *cli, NbhConfig *cfg, int opt, const char *text) {
  const char *eq = strchr(text, '=');
  char *name;
  int rc;
  const char *option = opt == 's' ? "-s" : opt == OPT_SOURCE_SETTING ? "--source-setting"
                                                                     : "--dest-setting";
  if (eq == NULL || eq == text)
    return nbh_cli_usage_error(cli, "pipeline", "invalid value \"%s\" for option %s: use NAME=VALUE",
                               text, option);
  name = strndup(text, (size_t)(eq - text));
  if (name == NULL) return NBH_EXIT_FAILED;
  if (opt == 's')
    rc = nbh_config_add_either(cfg, name, eq + 1, option);
  else
    rc = nbh_config_add_setting(cfg, opt == OPT_SOURCE_SETTING ? &cfg->source : &cfg->destination,
                                name, eq + 1, option);
  free(name);
  return rc == NB_OK ? -1 : NBH_EXIT_FAILED;
}

static int prepare_from_options(NbhCli *cli, Pipeline *p, const Args *args) {
  NbhConfig *cfg = &p->cfg;
  NbError err;
  size_t i;
  int rc, code;
  nbh_config_init(cfg);
  nbh_plugins_init(&p->plugins);
  nb_error_init(&err);
  if (nbh_config_set_connector(cfg, &cfg->source, args->positional[0]) != NB_OK ||
      nbh_config_set_connector(cfg, &cfg->destination, args->positional[1]) != NB_OK)
    return NBH_EXIT_FAILED;
  if (args->source_path != NULL &&
      nbh_config_add_setting(cfg, &cfg->source, "path", args->source_path, "--source-path") !=
          NB_OK)
    return NBH_EXIT_FAILED;
  if (args->dest_path != NULL &&
      nbh_config_add_setting(cfg, &cfg->destination, "path", args->dest_path, "--dest-path") !=
          NB_OK)
    return NBH_EXIT_FAILED;
  for (i = 0; i < args->n_settings; i++) {
    code = add_cli_setting(cli, cfg, args->setting_opts[i], args->settings[i]);
    if (code >= 0) return code;
  }
  /* After the generic settings: the dedicated option wins. */
  if (args->format != NULL &&
      nbh_config_add_setting(cfg, &cfg->destination, "format", args->format, "--format") != NB_OK)
    return NBH_EXIT_FAILED;
  code = apply_overrides(cli, p, args);
  if (code >= 0) return code;
  if (load_for(cli, p) != 0) return NBH_EXIT_FAILED;
  rc = nbh_config_resolve(cfg, &p->plugins, cli->logger, &err);
  /* Why a file was refused is part of the answer, even with -q. */
  if (rc == NB_NOT_FOUND) nbh_cli_report_refusals(cli, &p->plugins, NB_LOG_ERROR);
  if (rc != NB_OK) return report_and_code(cli, &err, rc);
  return -1;
}

int nbh_cmd_pipeline(NbhCli *cli, int argc, char **argv) {
  Args args;
  Pipeline p;
  int code = parse_args(cli, "pipeline", argc, argv, &args);
  if (code < 0 && args.n_positional < 2)
    code = nbh_cli_usage_error(cli, "pipeline", "a source and a destination connector are needed");
  if (code < 0 && args.n_positional > 2)
    code = nbh_cli_usage_error(cli, "pipeline", "unexpected argument \"%s\"", args.positional[2]);
  if (code >= 0) {
    args_free(&args);
    return code;
  }
  code = prepare_from_options(cli, &p, &args);
  if (code < 0) code = run_engine(cli, &p);
  pipeline_free(&p);
  args_free(&args);
  return code;
}
