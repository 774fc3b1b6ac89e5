/*
 * kit_main.c - nebula-connector-test: command line, TAP output, and running
 * each group of checks in its own process, so a connector that crashes is
 * reported as a failed check instead of killing the kit.
 *
 *   nebula-connector-test PATH.so [-s key=value]... [--source|--dest]
 *
 * Exit status: 0 when every check passed, 1 when one failed, 2 for a usage
 * error.
 */
#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kit.h"

/* ------------------------------------------------------------------------
 * TAP
 * ------------------------------------------------------------------------ */

void tap_result(Tap *tap, bool ok, const char *fmt, ...) {
  va_list ap;
  tap->number++;
  if (!ok) tap->failures++;
  printf("%s %d - ", ok ? "ok" : "not ok", tap->number);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

void tap_skip(Tap *tap, const char *reason, const char *fmt, ...) {
  va_list ap;
  tap->number++;
  printf("ok %d - ", tap->number);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  printf(" # SKIP %s\n", reason);
  fflush(stdout);
}

void tap_diag(const char *fmt, ...) {
  va_list ap;
  fputs("#   ", stdout);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  fflush(stdout);
}

void tap_error(NbError *err) {
  if (err->message != NULL)
    tap_diag("%s: %s", nb_status_name(err->code), err->message);
  if (err->detail != NULL) tap_diag("DETAIL: %s", err->detail);
  if (err->hint != NULL) tap_diag("HINT: %s", err->hint);
  if (err->release != NULL) err->release(err);
}

/* ------------------------------------------------------------------------
 * Loading
 * ------------------------------------------------------------------------ */

const NbSettingSpec *kit_spec(const NbConnector *c, uint32_t i) {
  return nb_setting_spec_at(c->settings, i);
}

bool kit_load(Kit *kit, bool report) {
  NbError err;
  int rc;
  dlerror();
  kit->handle = dlopen(kit->opt->path, RTLD_NOW | RTLD_LOCAL);
  if (report || kit->handle == NULL)
    tap_result(kit->tap, kit->handle != NULL,
               "dlopen(RTLD_NOW | RTLD_LOCAL) loads \"%s\"", kit->opt->path);
  if (kit->handle == NULL) {
    const char *why = dlerror();
    tap_diag("%s", why != NULL ? why : "unknown dlopen error");
    tap_diag("HINT: A missing symbol means the connector was not linked "
             "with every library it uses (link with -Wl,-z,defs).");
    return false;
  }
  dlerror();
  *(void **)&kit->entry = dlsym(kit->handle, NB_CONNECTOR_ENTRY_SYMBOL);
  if (report || kit->entry == NULL)
    tap_result(kit->tap, kit->entry != NULL, "exports %s",
               NB_CONNECTOR_ENTRY_SYMBOL);
  if (kit->entry == NULL) {
    tap_diag("The file is not a Nebula connector: it has no symbol \"%s\".",
             NB_CONNECTOR_ENTRY_SYMBOL);
    return false;
  }
  memset(&kit->conn, 0, sizeof kit->conn);
  kit->conn.struct_size = sizeof kit->conn;
  nb_error_init(&err);
  rc = kit->entry(NB_ABI_CURRENT, &kit->conn, &err);
  if (report || rc != NB_OK)
    tap_result(kit->tap, rc == NB_OK, "entry accepts ABI %d.%d",
               NB_ABI_MAJOR, NB_ABI_MINOR);
  if (rc != NB_OK) {
    tap_diag("entry returned %s", nb_status_name(rc));
    tap_error(&err);
    return false;
  }
  /* A later minor's struct is longer: read only what we know. */
  if (kit->conn.struct_size > sizeof kit->conn)
    kit->conn.struct_size = sizeof kit->conn;
  return true;
}

/* ------------------------------------------------------------------------
 * Settings for open calls
 * ------------------------------------------------------------------------ */

static bool applies(const NbSettingSpec *s, uint32_t side) {
  uint32_t sides = s->flags & (NB_SETTING_SOURCE | NB_SETTING_DEST);
  return sides == 0 || (sides & side) != 0;
}

void kit_settings_build(const Kit *kit, uint32_t side, KitSettings *out,
                        const char *drop, const char *set_name,
                        const char *set_value) {
  const NbConnector *c = &kit->conn;
  uint32_t n = 0;
  bool set_done = false;
  memset(out, 0, sizeof *out);
  for (uint32_t i = 0; i < kit->opt->n_settings; i++) {
    const char *name = kit->opt->names[i], *value = kit->opt->values[i];
    if (drop != NULL && strcmp(name, drop) == 0) continue;
    if (set_name != NULL && strcmp(name, set_name) == 0) {
      value = set_value;
      set_done = true;
    }
    out->names[n] = name;
    out->values[n++] = value;
  }
  /* Declared defaults, as the host fills them in. */
  for (uint32_t i = 0; i < c->n_settings; i++) {
    const NbSettingSpec *s = kit_spec(c, i);
    bool given = false;
    if (s->name == NULL || s->default_value == NULL || !applies(s, side))
      continue;
    if (drop != NULL && strcmp(s->name, drop) == 0) continue;
    for (uint32_t j = 0; j < n; j++)
      if (strcmp(out->names[j], s->name) == 0) given = true;
    if (given) continue;
    out->names[n] = s->name;
    if (set_name != NULL && strcmp(s->name, set_name) == 0) {
      out->values[n++] = set_value;
      set_done = true;
    } else {
      out->values[n++] = s->default_value;
    }
  }
  if (set_name != NULL && !set_done) {
    out->names[n] = set_name;
    out->values[n++] = set_value;
  }
  out->s.struct_size = sizeof out->s;
  out->s.count = n;
  out->s.names = out->names;
  out->s.values = out->values;
}

/* ------------------------------------------------------------------------
 * Running groups in child processes
 * ------------------------------------------------------------------------ */

typedef void (*GroupFn)(Kit *kit, uint32_t arg);

static void group_entry(Kit *kit, uint32_t arg) {
  (void)arg;
  kit_check_entry(kit);
}
static void group_declaration(Kit *kit, uint32_t arg) {
  (void)arg;
  if (kit_load(kit, false)) kit_check_declaration(kit);
}
static void group_open_errors(Kit *kit, uint32_t side) {
  if (kit_load(kit, false)) kit_check_open_errors(kit, side);
}
static void group_source(Kit *kit, uint32_t arg) {
  (void)arg;
  if (kit_load(kit, false)) kit_check_source(kit);
}
static void group_dest(Kit *kit, uint32_t arg) {
  (void)arg;
  if (kit_load(kit, false)) kit_check_dest(kit);
}

/* Run fn in a child.  tap lives in shared memory, so the numbers the child
 * printed count even when it crashes half-way.  Returns false when the
 * child died. */
static bool run_group(const char *what, GroupFn fn, uint32_t arg,
                      const KitOptions *opt, Tap *tap) {
  int status;
  pid_t pid;
  fflush(stdout);
  fflush(stderr);
  pid = fork();
  if (pid < 0) {
    tap_result(tap, false, "%s: could not fork: %s", what, strerror(errno));
    return false;
  }
  if (pid == 0) {
    Kit kit;
    memset(&kit, 0, sizeof kit);
    kit.opt = opt;
    kit.tap = tap;
    fn(&kit, arg);
    fflush(stdout);
    _exit(0);
  }
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return true;
  if (WIFSIGNALED(status))
    tap_result(tap, false, "%s: the connector crashed (signal %d, %s)", what,
               WTERMSIG(status), strsignal(WTERMSIG(status)));
  else
    tap_result(tap, false, "%s: the connector ended the process (exit status %d)",
               what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return false;
}

/* ------------------------------------------------------------------------
 * Command line
 * ------------------------------------------------------------------------ */

static void usage(FILE *out) {
  fprintf(out,
          "usage: nebula-connector-test PATH.so [-s key=value]... "
          "[--source|--dest]\n"
          "\n"
          "Checks that a Nebula connector follows the connector ABI %d.%d.\n"
          "Prints one TAP line per check; exits 1 if any check fails.\n"
          "\n"
          "  -s, --setting key=value  a setting passed to open (repeatable)\n"
          "      --source             read every stream of the source\n"
          "      --dest               write, commit and finish a batch, then\n"
          "                           again after reopening with the saved\n"
          "                           state (resume)\n"
          "      --batch-rows N       rows per batch asked of a source "
          "(default 1000)\n"
          "  -h, --help               this text\n"
          "\n"
          "Without --source or --dest, the data checks run for the "
          "connector's\nonly side; a connector with both sides needs one "
          "of them.\n"
          "\n"
          "The destination is offered one stream, \"nebula_kit_stream\", of 5\n"
          "rows (the last all null) with the nullable columns text utf8,\n"
          "count int64, ratio float64, flag bool, amount number; if\n"
          "dest_prepare refuses that with NB_INVALID, the columns text utf8\n"
          "and count utf8.\n",
          NB_ABI_MAJOR, NB_ABI_MINOR);
}

static int parse_args(int argc, char **argv, KitOptions *opt,
                      char *abs_path, size_t abs_cap) {
  static const struct option longopts[] = {
      {"setting", required_argument, NULL, 's'},
      {"source", no_argument, NULL, 'S'},
      {"dest", no_argument, NULL, 'D'},
      {"batch-rows", required_argument, NULL, 'r'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0}};
  int ch;
  memset(opt, 0, sizeof *opt);
  opt->batch_rows = 1000;
  opt->batch_bytes = 8u << 20;
  while ((ch = getopt_long(argc, argv, "s:h", longopts, NULL)) != -1) {
    char *eq, *end;
    switch (ch) {
      case 's':
        eq = strchr(optarg, '=');
        if (eq == NULL || eq == optarg) {
          fprintf(stderr,
                  "nebula-connector-test: invalid setting \"%s\": expected "
                  "key=value\n",
                  optarg);
          return 2;
        }
        if (opt->n_settings == KIT_MAX_SETTINGS) {
          fprintf(stderr, "nebula-connector-test: too many settings (at most %d)\n",
                  KIT_MAX_SETTINGS);
          return 2;
        }
        *eq = '\0';
        opt->names[opt->n_settings] = optarg;
        opt->values[opt->n_settings++] = eq + 1;
        break;
      case 'S': opt->source = true; break;
      case 'D': opt->dest = true; break;
      case 'r':
        opt->batch_rows = strtoull(optarg, &end, 10);
        if (*end != '\0' || opt->batch_rows == 0) {
          fprintf(stderr, "nebula-connector-test: invalid --batch-rows \"%s\"\n",
                  optarg);
          return 2;
        }
        break;
      case 'h': usage(stdout); exit(0);
      default: usage(stderr); return 2;
    }
  }
  if (optind != argc - 1) {
    usage(stderr);
    return 2;
  }
  if (realpath(argv[optind], abs_path) == NULL) {
    fprintf(stderr, "nebula-connector-test: could not access file \"%s\": %s\n",
            argv[optind], strerror(errno));
    return 2;
  }
  (void)abs_cap;
  opt->path = abs_path;
  return 0;
}

/* Capabilities, read in a child so that a crashing entry cannot take the
 * kit down.  False when the connector does not load. */
static bool probe_capabilities(const KitOptions *opt, uint64_t *caps) {
  int fds[2], status = 0;
  uint64_t answer[2] = {0, 0}; /* loaded, capabilities */
  pid_t pid;
  fflush(stdout);
  if (pipe(fds) != 0) return false;
  pid = fork();
  if (pid == 0) {
    Kit kit;
    Tap quiet = {0, 0};
    close(fds[0]);
    memset(&kit, 0, sizeof kit);
    kit.opt = opt;
    kit.tap = &quiet;
    /* A failed load was already reported by the entry group. */
    if (freopen("/dev/null", "w", stdout) == NULL) _exit(1);
    if (kit_load(&kit, false)) {
      answer[0] = 1;
      answer[1] = kit.conn.capabilities;
    }
    if (write(fds[1], answer, sizeof answer) != (ssize_t)sizeof answer) _exit(1);
    _exit(0);
  }
  close(fds[1]);
  if (pid < 0 || read(fds[0], answer, sizeof answer) != (ssize_t)sizeof answer)
    answer[0] = 0;
  close(fds[0]);
  if (pid > 0) waitpid(pid, &status, 0);
  *caps = answer[1];
  return answer[0] == 1;
}

int main(int argc, char **argv) {
  KitOptions opt;
  Tap *tap;
  char abs_path[PATH_MAX];
  uint64_t caps;
  bool want_source, want_dest;
  int rc = parse_args(argc, argv, &opt, abs_path, sizeof abs_path);
  if (rc != 0) return rc;
  /* Shared with the check processes (see run_group). */
  tap = mmap(NULL, sizeof *tap, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (tap == MAP_FAILED) {
    perror("nebula-connector-test: mmap");
    return 2;
  }
  tap->number = tap->failures = 0;
  printf("# nebula-connector-test (ABI %d.%d) %s\n", NB_ABI_MAJOR,
         NB_ABI_MINOR, opt.path);
  /* Later groups need a connector that loads; other entry failures are
   * reported and the checks go on. */
  if (!run_group("loading and entry", group_entry, 0, &opt, tap) ||
      !probe_capabilities(&opt, &caps)) {
    printf("1..%d\n", tap->number);
    return 1;
  }
  run_group("declaration", group_declaration, 0, &opt, tap);
  want_source = opt.source;
  want_dest = opt.dest;
  if (!opt.source && !opt.dest) {
    if ((caps & (NB_CAP_SOURCE | NB_CAP_DESTINATION)) == NB_CAP_SOURCE)
      want_source = true;
    else if ((caps & (NB_CAP_SOURCE | NB_CAP_DESTINATION)) == NB_CAP_DESTINATION)
      want_dest = true;
    else
      printf("# the connector has both sides: pass --source or --dest to "
             "run the data checks\n");
  }
  /* The -s settings are meant for the side(s) under test; open errors of
   * the other side would be checked against the wrong settings. */
  if ((caps & NB_CAP_SOURCE) && (want_source || !want_dest))
    run_group("source open errors", group_open_errors, NB_SETTING_SOURCE, &opt,
              tap);
  if ((caps & NB_CAP_DESTINATION) && (want_dest || !want_source))
    run_group("destination open errors", group_open_errors, NB_SETTING_DEST,
              &opt, tap);
  if (want_source) {
    if (caps & NB_CAP_SOURCE)
      run_group("source", group_source, 0, &opt, tap);
    else
      tap_result(tap, false, "--source given but the connector is not a source");
  }
  if (want_dest) {
    if (caps & NB_CAP_DESTINATION)
      run_group("destination", group_dest, 0, &opt, tap);
    else
      tap_result(tap, false,
                 "--dest given but the connector is not a destination");
  }
  printf("1..%d\n", tap->number);
  if (tap->failures > 0)
    printf("# %d of %d checks failed\n", tap->failures, tap->number);
  return tap->failures > 0 ? 1 : 0;
}
