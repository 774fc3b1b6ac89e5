/*
 * cli_info.c - the commands that tell about connectors: `list` (every
 * connector found, then the files refused and why) and `describe NAME`
 * (capabilities and the table of settings).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "report.h"
#include "textutil.h"
#include "utf8.h"

/* Parse a command's options: the global ones, --help and --json.  Returns
 * -1 to go on, or an exit code. */
static int parse_simple(NbhCli *cli, const char *command, int argc, char **argv, bool *json) {
  static const struct option options[] = {
      NBH_GLOBAL_OPTIONS, {"json", no_argument, NULL, OPT_JSON}, {NULL, 0, NULL, 0}};
  int opt;
  optind = 0;
  while ((opt = getopt_long(argc, argv, ":q", options, NULL)) != -1) {
    int handled;
    if (opt == OPT_HELP) return nbh_cli_print_help(command) == 0 ? NBH_EXIT_OK : NBH_EXIT_USAGE;
    if (opt == OPT_JSON) {
      *json = true;
      continue;
    }
    handled = nbh_cli_global_option(cli, opt, optarg);
    if (handled < 0) return NBH_EXIT_USAGE;
    if (handled == 0) return nbh_cli_bad_option(cli, command, opt, argv);
  }
  return -1;
}

static const char *roles(uint64_t caps) {
  if ((caps & NB_CAP_SOURCE) && (caps & NB_CAP_DESTINATION)) return "source, destination";
  if (caps & NB_CAP_SOURCE) return "source";
  return "destination";
}

static const char *text_or(const char *text, const char *fallback) {
  return text != NULL && text[0] != '\0' ? text : fallback;
}

/* What a connector says about itself is printed through nbh_printable
 * (utf8.h): capped, control characters escaped. */
static char *shown_or(const char *text, const char *fallback, size_t cap) {
  return nbh_printable(text_or(text, fallback), cap);
}

/* Storage modules (abi.h, NbStorage) after the connectors: role
 * "storage s3://". */
static void list_storage_human(const NbhPluginSet *set, int w_name, int w_version) {
  size_t i;
  char abi[16];
  for (i = 0; set->storages != NULL && i < set->storages->n; i++) {
    const NbStorage *s = &set->storages->modules[i];
    char *version = nbh_printable(s->version != NULL ? s->version : "-", NBH_SHOW_NAME);
    char *schemes = nbh_printable(s->schemes, NBH_SHOW_NAME);
    char *path = nbh_printable(set->storages->paths[i], NBH_SHOW_TEXT);
    char role[64];
    snprintf(role, sizeof role, "storage %s://", schemes != NULL ? schemes : "?");
    printf("%-*s  %-*s  %-5s  %-19s  %s\n", w_name, s->name, w_version,
           version != NULL ? version : "?", nbh_abi_version_text(s->abi_version, abi, sizeof abi),
           role, path != NULL ? path : "?");
    free(version);
    free(schemes);
    free(path);
  }
}

static void list_human(const NbhPluginSet *set) {
  size_t i, w_name = 4, w_version = 7;
  char abi[16];
  char **versions = calloc(set->n_plugins + 1, sizeof *versions);
  char **paths = calloc(set->n_plugins + 1, sizeof *paths);
  for (i = 0; versions != NULL && paths != NULL && i < set->n_plugins; i++) {
    const NbConnector *c = &set->plugins[i].vtable;
    versions[i] = shown_or(c->version, "-", NBH_SHOW_NAME);
    paths[i] = nbh_printable(set->plugins[i].path, NBH_SHOW_TEXT);
    /* The name was checked by the loader: a short identifier. */
    if (strlen(c->name) > w_name) w_name = strlen(c->name);
    if (versions[i] != NULL && strlen(versions[i]) > w_version) w_version = strlen(versions[i]);
  }
  printf("%-*s  %-*s  %-5s  %-19s  %s\n", (int)w_name, "NAME", (int)w_version, "VERSION", "ABI",
         "ROLE", "PATH");
  for (i = 0; i < set->n_plugins; i++) {
    const NbhPlugin *p = &set->plugins[i];
    printf("%-*s  %-*s  %-5s  %-19s  %s\n", (int)w_name, p->vtable.name, (int)w_version,
           versions != NULL && versions[i] != NULL ? versions[i] : "?",
           nbh_abi_version_text(p->abi_version, abi, sizeof abi),
           roles(p->vtable.capabilities), paths != NULL && paths[i] != NULL ? paths[i] : "?");
  }
  list_storage_human(set, (int)w_name, (int)w_version);
  for (i = 0; i < set->n_plugins; i++) {
    if (versions != NULL) free(versions[i]);
    if (paths != NULL) free(paths[i]);
  }
  free(versions);
  free(paths);
}

static void json_member(const char *key, const char *value, bool comma) {
  printf("%s\"%s\":", comma ? "," : "", key);
  if (value == NULL)
    fputs("null", stdout);
  else
    nbh_json_write_string(stdout, value);
}

static void list_json(const NbhPluginSet *set) {
  size_t i;
  char abi[16];
  fputs("{\"connectors\":[", stdout);
  for (i = 0; i < set->n_plugins; i++) {
    const NbhPlugin *p = &set->plugins[i];
    uint64_t caps = p->vtable.capabilities;
    fputs(i ? ",{" : "{", stdout);
    json_member("name", p->vtable.name, false);
    json_member("version", p->vtable.version, true);
    json_member("description", p->vtable.description, true);
    json_member("abi", nbh_abi_version_text(p->abi_version, abi, sizeof abi), true);
    printf(",\"source\":%s,\"destination\":%s,\"resumable\":%s",
           caps & NB_CAP_SOURCE ? "true" : "false", caps & NB_CAP_DESTINATION ? "true" : "false",
           caps & NB_CAP_RESUMABLE ? "true" : "false");
    json_member("path", p->path, true);
    fputs("}", stdout);
  }
  fputs("],\"storage\":[", stdout);
  for (i = 0; set->storages != NULL && i < set->storages->n; i++) {
    const NbStorage *s = &set->storages->modules[i];
    fputs(i ? ",{" : "{", stdout);
    json_member("name", s->name, false);
    json_member("version", s->version, true);
    json_member("description", s->description, true);
    json_member("abi", nbh_abi_version_text(s->abi_version, abi, sizeof abi), true);
    json_member("schemes", s->schemes, true);
    json_member("path", set->storages->paths[i], true);
    fputs("}", stdout);
  }
  fputs("],\"refused\":[", stdout);
  for (i = 0; i < set->n_errors; i++) {
    const NbhLoadError *e = &set->errors[i];
    fputs(i ? ",{" : "{", stdout);
    json_member("path", e->path, false);
    json_member("message", e->message, true);
    json_member("detail", e->detail, true);
    json_member("hint", e->hint, true);
    fputs("}", stdout);
  }
  fputs("]}\n", stdout);
}

int nbh_cmd_list(NbhCli *cli, int argc, char **argv) {
  NbhPluginSet set;
  bool json = false;
  int code = parse_simple(cli, "list", argc, argv, &json);
  if (code >= 0) return code;
  if (optind < argc)
    return nbh_cli_usage_error(cli, "list", "unexpected argument \"%s\"", argv[optind]);
  if (nbh_cli_load_plugins(cli, &set, NULL, 0) != 0) {
    nbh_plugins_free(&set);
    return NBH_EXIT_FAILED;
  }
  if (json)
    list_json(&set);
  else
    list_human(&set);
  /* Refusals after the table: the connectors that work are the answer,
   * the refused files are warnings about the installation. */
  fflush(stdout);
  nbh_cli_report_refusals(cli, &set, NB_LOG_WARN);
  nbh_plugins_free(&set);
  return NBH_EXIT_OK;
}

/* ------------------------------------------------------------------------
 * describe
 * ------------------------------------------------------------------------ */

static const char *setting_side(const NbSettingSpec *s) {
  if (s->flags & NB_SETTING_SOURCE) return "source";
  if (s->flags & NB_SETTING_DEST) return "destination";
  return "both";
}

static const char *setting_type(const NbSettingSpec *s) {
  switch (s->type) {
    case NB_SETTING_STRING: return "string";
    case NB_SETTING_INT: return "int";
    case NB_SETTING_DOUBLE: return "double";
    case NB_SETTING_BOOL: return "bool";
    case NB_SETTING_ENUM: return "enum";
    default: return "?";
  }
}

/* One row of the settings table; every string the connector wrote is
 * printed through nbh_printable. */
static void describe_setting(const NbSettingSpec *s, size_t w_name) {
  char *def = NULL, *doc = shown_or(s->doc, "", NBH_SHOW_TEXT);
  const char *def_text;
  if (s->default_value == NULL)
    def_text = "-";
  else if (s->flags & NB_SETTING_SECRET)
    def_text = "[REDACTED]";
  else if (s->default_value[0] == '\0')
    def_text = "\"\"";
  else
    def_text = def = nbh_printable(s->default_value, NBH_SHOW_NAME);
  printf("%-*s  %-11s  %-6s  %-10s  %-8s  %-6s  %s\n", (int)w_name, s->name, setting_side(s),
         setting_type(s), def_text != NULL ? def_text : "?",
         s->flags & NB_SETTING_REQUIRED ? "yes" : "no",
         s->flags & NB_SETTING_SECRET ? "yes" : "no", doc != NULL ? doc : "?");
  free(def);
  free(doc);
  if (s->type == NB_SETTING_ENUM && s->choices != NULL) {
    char *choices = nbh_printable(s->choices, NBH_SHOW_TEXT);
    const char *p2;
    printf("%-*s  choices: ", (int)w_name, "");
    for (p2 = choices != NULL ? choices : "?"; *p2; p2++) {
      if (*p2 == '|')
        fputs(", ", stdout);
      else
        putchar(*p2);
    }
    fputs("\n", stdout);
    free(choices);
  }
  if (s->flags & NB_SETTING_TUNING)
    printf("%-*s  tuning: a change never blocks a resume from a state file\n", (int)w_name, "");
}

static void describe_human(const NbhPlugin *p) {
  const NbConnector *c = &p->vtable;
  size_t w_name = 7, i;
  char abi[16];
  char *version = shown_or(c->version, "-", NBH_SHOW_NAME);
  char *path = nbh_printable(p->path, NBH_SHOW_TEXT);
  printf("%s %s (connector ABI %s)\n", c->name, version != NULL ? version : "?",
         nbh_abi_version_text(p->abi_version, abi, sizeof abi));
  free(version);
  if (c->description != NULL && c->description[0] != '\0') {
    fputs("  ", stdout);
    nbh_fput_printable(c->description, NBH_SHOW_TEXT, stdout);
    fputs("\n", stdout);
  }
  printf("\nPath:          %s\n", path != NULL ? path : "?");
  free(path);
  printf("Capabilities:  %s%s\n", roles(c->capabilities),
         c->capabilities & NB_CAP_RESUMABLE ? ", resumable" : "");
  if (c->n_settings == 0) {
    printf("\nNo settings.\n");
    return;
  }
  /* Setting names were checked by the loader: short identifiers. */
  for (i = 0; i < c->n_settings; i++)
    if (strlen(nbh_connector_setting(c, (uint32_t)i)->name) > w_name)
      w_name = strlen(nbh_connector_setting(c, (uint32_t)i)->name);
  printf("\n%-*s  %-11s  %-6s  %-10s  %-8s  %-6s  %s\n", (int)w_name, "SETTING", "SIDE", "TYPE",
         "DEFAULT", "REQUIRED", "SECRET", "DESCRIPTION");
  for (i = 0; i < c->n_settings; i++) describe_setting(nbh_connector_setting(c, (uint32_t)i), w_name);
}

static void describe_json(const NbhPlugin *p) {
  const NbConnector *c = &p->vtable;
  char abi[16];
  uint32_t i;
  fputs("{", stdout);
  json_member("name", c->name, false);
  json_member("version", c->version, true);
  json_member("description", c->description, true);
  json_member("abi", nbh_abi_version_text(p->abi_version, abi, sizeof abi), true);
  json_member("path", p->path, true);
  printf(",\"source\":%s,\"destination\":%s,\"resumable\":%s,\"settings\":[",
         c->capabilities & NB_CAP_SOURCE ? "true" : "false",
         c->capabilities & NB_CAP_DESTINATION ? "true" : "false",
         c->capabilities & NB_CAP_RESUMABLE ? "true" : "false");
  for (i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = nbh_connector_setting(c, (uint32_t)i);
    fputs(i ? ",{" : "{", stdout);
    json_member("name", s->name, false);
    json_member("side", setting_side(s), true);
    json_member("type", setting_type(s), true);
    json_member("default",
                s->default_value != NULL && (s->flags & NB_SETTING_SECRET) ? "[REDACTED]"
                                                                           : s->default_value,
                true);
    printf(",\"required\":%s,\"secret\":%s,\"tuning\":%s",
           s->flags & NB_SETTING_REQUIRED ? "true" : "false",
           s->flags & NB_SETTING_SECRET ? "true" : "false",
           s->flags & NB_SETTING_TUNING ? "true" : "false");
    json_member("choices", s->type == NB_SETTING_ENUM ? s->choices : NULL, true);
    json_member("doc", s->doc, true);
    fputs("}", stdout);
  }
  fputs("]}\n", stdout);
}

int nbh_cmd_describe(NbhCli *cli, int argc, char **argv) {
  NbhPluginSet set;
  const NbhPlugin *p;
  bool json = false;
  int code = parse_simple(cli, "describe", argc, argv, &json);
  if (code >= 0) return code;
  if (optind >= argc) return nbh_cli_usage_error(cli, "describe", "no connector name given");
  if (optind + 1 < argc)
    return nbh_cli_usage_error(cli, "describe", "unexpected argument \"%s\"", argv[optind + 1]);
  if (nbh_cli_load_plugins(cli, &set, (const char *const *)argv + optind, 1) != 0) {
    nbh_plugins_free(&set);
    return NBH_EXIT_FAILED;
  }
  p = nbh_plugins_find(&set, argv[optind]);
  if (p == NULL) {
    const char **names = calloc(set.n_plugins + 1, sizeof *names);
    const char *guess = NULL;
    size_t i;
    NbhBuf hint = NBH_BUF_INIT;
    if (names != NULL) {
      for (i = 0; i < set.n_plugins; i++) names[i] = set.plugins[i].vtable.name;
      guess = nbh_did_you_mean(argv[optind], names, set.n_plugins);
    }
    if (guess != NULL)
      nbh_buf_printf(&hint, "Did you mean \"%s\"?", guess);
    else
      nbh_buf_puts(&hint, "\"nebula-host list\" shows the connectors found.");
    /* Why a file was refused is part of the answer, even with -q. */
    nbh_cli_report_refusals(cli, &set, NB_LOG_ERROR);
    {
      char *message = NULL;
      NbhBuf m = NBH_BUF_INIT;
      nbh_buf_printf(&m, "connector \"%s\" not found", argv[optind]);
      message = nbh_buf_take(&m);
      nbh_log_report(cli->logger, NB_LOG_ERROR, "host", message ? message : "connector not found",
                     NULL, nbh_buf_text(&hint));
      free(message);
    }
    nbh_buf_free(&hint);
    free(names);
    nbh_plugins_free(&set);
    return NBH_EXIT_USAGE;
  }
  if (json)
    describe_json(p);
  else
    describe_human(p);
  nbh_plugins_free(&set);
  return NBH_EXIT_OK;
}
