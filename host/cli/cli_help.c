/*
 * cli_help.c - the text of `nebula-host --help` and of each command's
 * --help: synopsis, description, options, exit status, examples.  Kept in
 * step with nebula-host.1.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define GLOBAL_OPTIONS_TEXT                                                         \
  "Global options (before or after the command):\n"                                 \
  "  --plugin-dir DIR      search DIR for connectors first (repeatable); DIR,\n"    \
  "                        DIR/.libs, DIR/*/ and DIR/*/.libs are searched\n"        \
  "  --log-format FORMAT   logfmt (default) or json, for the log on stderr\n"      \
  "  --log-level LEVEL     error, warn, info (default) or debug\n"                  \
  "  -q, --quiet           errors only, no progress line\n"                         \
  "  --help                show the help of the command\n"

#define EXIT_STATUS_TEXT                                                         \
  "Exit status:\n"                                                               \
  "  0    success\n"                                                             \
  "  1    the pipeline or a connector failed\n"                                  \
  "  2    usage or configuration error\n"                                        \
  "  130  interrupted by SIGINT, 143 terminated by SIGTERM\n"

static const char overview[] =
    "Usage: nebula-host [GLOBAL OPTIONS] COMMAND [ARGUMENTS]\n"
    "\n"
    "Move records from a source connector to a destination connector.  Connectors\n"
    "are shared objects loaded at run time; a pipeline is described by a\n"
    "configuration file or by the options of the pipeline command.\n"
    "\n"
    "Commands:\n"
    "  list                  list the connectors found, and the files refused\n"
    "  describe NAME         show a connector's capabilities and settings\n"
    "  validate CONFIG       check a configuration file without opening any file\n"
    "  check CONFIG          validate, then open and close source and destination\n"
    "  discover CONFIG       show the source's streams and their columns\n"
    "  run CONFIG            run the pipeline of a configuration file\n"
    "  pipeline SRC DST      run a pipeline given by options\n"
    "  version               show the version and the connector ABI version\n"
    "  help [COMMAND]        show this help, or a command's\n"
    "  uploads STATE         list (or --abort) unfinished object uploads of a state\n"
    "\n" GLOBAL_OPTIONS_TEXT
    "  --version             same as the version command\n"
    "\n"
    "Connectors are searched in each --plugin-dir, then in the directories of\n"
    "NEBULA_PLUGIN_PATH (colon-separated), then in the built-in connector\n"
    "directory (unless NEBULA_NO_DEFAULT_PLUGIN_DIR=1).\n"
    "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host list\n"
    "  nebula-host pipeline csv json --source-path in.csv --dest-path out.jsonl\n"
    "  nebula-host run pipeline.conf --state pipeline.state\n"
    "\n"
    "See nebula-host(1) for the configuration file format.\n";

static const char help_list[] =
    "Usage: nebula-host list [--json]\n"
    "\n"
    "List the connectors found on the search path: name, version, the ABI version\n"
    "each was built for, whether it is a source, a destination or both, and the\n"
    "file it was loaded from.  Files that were refused (wrong ABI version, not a\n"
    "connector, missing dependencies, duplicate names, ...) are reported as\n"
    "warnings on stderr with the reason; they do not change the exit status.\n"
    "\n"
    "Options:\n"
    "  --json                one JSON object on stdout: {\"connectors\": [...],\n"
    "                        \"refused\": [{\"path\", \"message\", \"detail\", \"hint\"}]}\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host list\n"
    "  nebula-host --plugin-dir ./build/plugins list --json\n";

static const char help_uploads[] =
    "Usage: nebula-host uploads [--abort] STATE_FILE\n"
    "\n"
    "List the objects (s3://...) that the state file describes as written but\n"
    "not completed: a run that was killed or failed and has not been resumed.\n"
    "Their multipart uploads stay on the server (and are billed) until they are\n"
    "completed by resuming the run, or aborted.  One line per object: \"pending\",\n"
    "the path, the bytes committed, and the module's upload state.\n"
    "\n"
    "Options:\n"
    "  --abort               abort each upload through its storage module (the\n"
    "                        server's parts and the local spool files); delete\n"
    "                        the state file afterwards to start over\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host uploads pipeline.state\n"
    "  nebula-host uploads --abort pipeline.state && rm pipeline.state\n";

static const char help_describe[] =
    "Usage: nebula-host describe [--json] NAME\n"
    "\n"
    "Show connector NAME: version, ABI version, file, capabilities (source,\n"
    "destination, resumable), then its settings: name, side (source,\n"
    "destination or both), type (string, int, double, bool, enum), default,\n"
    "whether it is required or secret, and a description.  Enum settings list\n"
    "their choices.\n"
    "\n"
    "Options:\n"
    "  --json                print the description as one JSON object\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "  (2 also when no connector NAME was found)\n"
    "\n"
    "Examples:\n"
    "  nebula-host describe csv\n";

static const char help_validate[] =
    "Usage: nebula-host validate CONFIG\n"
    "\n"
    "Check the configuration file CONFIG offline: its syntax, ${ENV} references,\n"
    "the engine settings, that both connectors exist and can play their part,\n"
    "every connector setting against the connector's declaration (names,\n"
    "types, required settings, enum choices), and the connectors' own checks:\n"
    "each is opened with a host that refuses to open any file, so no file is\n"
    "opened, created or written.  Prints the settings as they will be used,\n"
    "defaults included; secret values, wherever they appear, are shown as\n"
    "[REDACTED].  CONFIG \"-\" reads standard input.\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host validate pipeline.conf\n";

static const char help_check[] =
    "Usage: nebula-host check CONFIG\n"
    "\n"
    "Validate CONFIG, then open the source (and count its streams) and the\n"
    "destination, and close both.  Finds missing input files, unreachable\n"
    "servers and bad credentials before a run.  The destination writes nothing:\n"
    "output files are tested for write access, never created or truncated.\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host check pipeline.conf\n";

static const char help_discover[] =
    "Usage: nebula-host discover [--json] CONFIG\n"
    "\n"
    "Validate CONFIG, open its source and show each stream (a file, a table)\n"
    "with its size when known and its columns: name and type (utf8, int64,\n"
    "float64, bool, decimal128(p,s), number, date32, timestamp, json).\n"
    "\n"
    "Options:\n"
    "  --json                one JSON object: {\"streams\": [{\"name\", \"size_bytes\",\n"
    "                        \"columns\": [{\"name\", \"type\", \"nullable\"}]}]}\n"
    "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host discover pipeline.conf --json\n";

#define RUN_OPTIONS_TEXT                                                             \
  "  --state FILE          checkpoint to FILE and resume from it (engine.state_file)\n" \
  "  --dead-letter FILE    write rejected records to FILE, JSON Lines\n"              \
  "                        (engine.dead_letter)\n"                                     \
  "  --on-error POLICY     fail (default), skip or dead_letter (engine.on_error)\n"   \
  "  --max-errors N        fail after N rejected records, 0 = no limit\n"              \
  "  --batch-rows N        rows per batch (engine.batch_rows)\n"                       \
  "  --metrics-addr ADDR   serve Prometheus metrics on ADDR, e.g. 127.0.0.1:9108\n"   \
  "  --progress, --no-progress\n"                                                      \
  "                        show or hide the progress line (default: shown when\n"     \
  "                        stderr is a terminal and the log format is logfmt)\n"     \
  "  --allow-config-change resume although settings changed since the state file\n"   \
  "                        was written (tuning settings never block a resume)\n"

static const char help_run[] =
    "Usage: nebula-host run [OPTIONS] CONFIG\n"
    "\n"
    "Validate CONFIG and run its pipeline to the end.  With a state file, the run\n"
    "commits regularly and a later run resumes after the last commit; SIGINT or\n"
    "SIGTERM stops reading, commits what was read and exits with 130 or 143; a\n"
    "second signal aborts at once.  Options override the file's engine group.\n"
    "\n"
    "Options:\n" RUN_OPTIONS_TEXT "\n" GLOBAL_OPTIONS_TEXT "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host run pipeline.conf\n"
    "  nebula-host run pipeline.conf --state p.state --on-error dead_letter \\\n"
    "      --dead-letter rejected.jsonl\n";

static const char help_pipeline[] =
    "Usage: nebula-host pipeline [OPTIONS] SOURCE DESTINATION\n"
    "\n"
    "Run a pipeline from connector SOURCE to connector DESTINATION without a\n"
    "configuration file.  Settings are checked exactly as in a file.  A path of\n"
    "\"-\" is standard input or output.\n"
    "\n"
    "Options:\n"
    "  --source-path PATH    the source's \"path\" setting\n"
    "  --dest-path PATH      the destination's \"path\" setting\n"
    "  --format FORMAT       the destination's \"format\" setting, e.g. lines or array\n"
    "  -s, --setting NAME=VALUE\n"
    "                        a setting of whichever connector declares NAME (an\n"
    "                        error when both or neither do)\n"
    "  --source-setting NAME=VALUE\n"
    "  --dest-setting NAME=VALUE\n"
    "                        a setting of one side\n" RUN_OPTIONS_TEXT "\n" GLOBAL_OPTIONS_TEXT
    "\n" EXIT_STATUS_TEXT
    "\n"
    "Examples:\n"
    "  nebula-host pipeline csv json --source-path in.csv --dest-path out.jsonl \\\n"
    "      --format lines\n"
    "  zcat in.csv.gz | nebula-host pipeline csv json --source-path - --dest-path -\n"
    "  nebula-host pipeline generate csv -s rows=1000 --dest-path sample.csv\n";

static const char help_version[] =
    "Usage: nebula-host version\n"
    "\n"
    "Print the version of nebula-host and the connector ABI version it provides,\n"
    "e.g. \"nebula-host 0.1.0 (connector ABI 1.0)\".  Connectors built for the\n"
    "same ABI major version and a minor version up to this one are loaded.\n"
    "\n" EXIT_STATUS_TEXT;

static const char help_help[] =
    "Usage: nebula-host help [COMMAND]\n"
    "\n"
    "Show the overview, or the help of COMMAND (the same as COMMAND --help).\n";

typedef struct HelpEntry {
  const char *command;
  const char *text;
} HelpEntry;

static const HelpEntry help_entries[] = {
    {"list", help_list},         {"describe", help_describe}, {"validate", help_validate},
    {"check", help_check},       {"discover", help_discover}, {"run", help_run},
    {"pipeline", help_pipeline}, {"version", help_version},   {"help", help_help},
    {"uploads", help_uploads},
};

int nbh_cli_print_help(const char *command) {
  size_t i;
  if (command == NULL) {
    fputs(overview, stdout);
    return 0;
  }
  for (i = 0; i < sizeof help_entries / sizeof help_entries[0]; i++) {
    if (strcmp(help_entries[i].command, command) == 0) {
      fputs(help_entries[i].text, stdout);
      return 0;
    }
  }
  return -1;
}
