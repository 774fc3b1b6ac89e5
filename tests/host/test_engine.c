/*
 * test_engine.c - the pipeline engine end to end inside one process: the
 * flaky test connector (tests/connectors/flaky.c, linked in and described
 * through its entry function) as source and destination, the real file
 * layer and logger.  Covers copying, resume after a failure, bad-record
 * policies, retries, the watchdog, a stop signal and state-file checks.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "log.h"
#include "nebula/sdk.h"
#include "state.h"

/* Defined by plugins/flaky.c, compiled into this program. */
int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);

#define MAX_SETTINGS 16

typedef struct Fx {
  char dir[256];
  char out[300];
  char state[300];
  char dead[300];
  char log_path[300];
  NbhPlugin plugin;
  NbhLogger logger;
  FILE *log;
  NbhEngineOptions opt;
  const char *src_names[MAX_SETTINGS];
  const char *src_values[MAX_SETTINGS];
  uint32_t n_src;
  const char *dst_names[MAX_SETTINGS];
  const char *dst_values[MAX_SETTINGS];
  uint32_t n_dst;
  NbhRunSummary summary;
} Fx;

static int setup(void **state) {
  Fx *f = calloc(1, sizeof *f);
  NbError err;
  const char *tmp = getenv("TMPDIR");
  assert_non_null(f);
  snprintf(f->dir, sizeof f->dir, "%s/nebula-engine-XXXXXX", tmp ? tmp : "/tmp");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->out, sizeof f->out, "%s/out.txt", f->dir);
  snprintf(f->state, sizeof f->state, "%s/state.json", f->dir);
  snprintf(f->dead, sizeof f->dead, "%s/rejected.jsonl", f->dir);
  snprintf(f->log_path, sizeof f->log_path, "%s/log.txt", f->dir);
  f->log = fopen(f->log_path, "w+");
  assert_non_null(f->log);
  assert_int_equal(nbh_logger_init(&f->logger, NBH_LOG_LOGFMT, NB_LOG_DEBUG, f->log), 0);
  f->plugin.path = "flaky (linked in)";
  f->plugin.vtable.struct_size = (uint32_t)sizeof f->plugin.vtable;
  nb_error_init(&err);
  assert_int_equal(nebula_connector_entry(NB_ABI_CURRENT, &f->plugin.vtable, &err), NB_OK);
  f->plugin.abi_version = f->plugin.vtable.abi_version;
  nbh_engine_options_init(&f->opt);
  f->opt.batch_rows = 64;
  f->opt.commit_seconds = 0;
  f->opt.state_file = f->state;
  f->dst_names[0] = "path";
  f->dst_values[0] = f->out;
  f->n_dst = 1;
  *state = f;
  return 0;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int teardown(void **state) {
  Fx *f = *state;
  nbh_logger_destroy(&f->logger);
  fclose(f->log);
  /* KEEP_TEST_DIR=1 keeps the files (logs, state) for a look after a failure. */
  if (getenv("KEEP_TEST_DIR") == NULL) nftw(f->dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
  free(f);
  return 0;
}

static void set_in(const char **names, const char **values, uint32_t *n,
                   const char *name, const char *value) {
  uint32_t i;
  for (i = 0; i < *n; i++) {
    if (strcmp(names[i], name) == 0) {
      values[i] = value;
      return;
    }
  }
  assert_true(*n < MAX_SETTINGS);
  names[*n] = name;
  values[*n] = value;
  (*n)++;
}

static void src(Fx *f, const char *name, const char *value) {
  set_in(f->src_names, f->src_values, &f->n_src, name, value);
}

static void dst(Fx *f, const char *name, const char *value) {
  set_in(f->dst_names, f->dst_values, &f->n_dst, name, value);
}

static int run_with(Fx *f, const NbhPlugin *dest_plugin, volatile sig_atomic_t *stop) {
  NbSettings ss = {sizeof(NbSettings), f->n_src, f->src_names, f->src_values};
  NbSettings ds = {sizeof(NbSettings), f->n_dst, f->dst_names, f->dst_values};
  NbhEndpoint s = {&f->plugin, &ss};
  NbhEndpoint d = {dest_plugin, &ds};
  return nbh_engine_run(&s, &d, &f->opt, &f->logger, stop, &f->summary);
}

static int run(Fx *f) {
  volatile sig_atomic_t stop = 0;
  return run_with(f, &f->plugin, &stop);
}

static char *slurp(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  char *data;
  long size;
  if (fp == NULL) return NULL;
  fseek(fp, 0, SEEK_END);
  size = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  data = malloc((size_t)size + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)size, fp), (size_t)size);
  data[size] = '\0';
  fclose(fp);
  if (len != NULL) *len = (size_t)size;
  return data;
}

static char *log_text(Fx *f) {
  fflush(f->log);
  return slurp(f->log_path, NULL);
}

static bool listed(const int *rows, size_t n, int row) {
  size_t i;
  for (i = 0; i < n; i++)
    if (rows[i] == row) return true;
  return false;
}

/* What the flaky destination writes for streams x rows, minus bad rows. */
static char *expected(int streams, int rows, const int *bad, size_t n_bad) {
  size_t cap = (size_t)streams * (size_t)rows * 40 + 1, len = 0;
  char *text = malloc(cap);
  int s, r;
  assert_non_null(text);
  text[0] = '\0';
  for (s = 0; s < streams; s++)
    for (r = 0; r < rows; r++)
      if (!listed(bad, n_bad, r))
        len += (size_t)snprintf(text + len, cap - len, "flaky-%d,%d,s%d-r%d\n", s, r, s, r);
  return text;
}

static void assert_output(Fx *f, int streams, int rows, const int *bad, size_t n_bad) {
  char *want = expected(streams, rows, bad, n_bad);
  char *got = slurp(f->out, NULL);
  assert_non_null(got);
  assert_string_equal(got, want);
  free(want);
  free(got);
}

static void read_state(Fx *f, NbhState *st) {
  NbError err;
  nb_error_init(&err);
  assert_int_equal(nbh_state_read(f->state, st, &err), NB_OK);
}

static uint64_t position_row(const NbhStreamState *s) {
  uint64_t row = 0;
  NbError err;
  if (s->position == NULL) return 0;
  nb_error_init(&err);
  assert_int_equal(nb_position_decode(s->position, s->position_len, &row, 1, &err), NB_OK);
  return row;
}

static size_t count_lines(const char *text) {
  size_t n = 0;
  for (; *text; text++) n += *text == '\n';
  return n;
}

/* ------------------------------------------------------------------------ */

static void test_copies_every_stream(void **state) {
  Fx *f = *state;
  NbhState st;
  uint32_t i;
  src(f, "streams", "3");
  src(f, "rows", "1000");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 3, 1000, NULL, 0);
  assert_int_equal(f->summary.records_read, 3000);
  assert_int_equal(f->summary.records_written, 3000);
  assert_int_equal(f->summary.records_rejected, 0);
  assert_true(f->summary.batches >= 3000 / 64);
  assert_true(f->summary.bytes_read > 3000 * 8);
  assert_true(f->summary.peak_rss_kib > 0);
  read_state(f, &st);
  assert_int_equal(st.n_streams, 3);
  assert_string_equal(st.source_connector, "flaky");
  assert_string_equal(st.dest_connector, "flaky");
  for (i = 0; i < 3; i++) {
    assert_true(st.streams[i].finished);
    assert_int_equal(st.streams[i].records, 1000);
    assert_int_equal(position_row(&st.streams[i]), 1000);
  }
  assert_non_null(st.dest_state);
  nbh_state_free(&st);
  {
    char *log = log_text(f);
    assert_non_null(strstr(log, "summary: status=ok records_read=3000 records_written=3000"));
    assert_non_null(strstr(log, "peak_rss_kib="));
    free(log);
  }
}

static void test_rerun_after_complete_copies_nothing(void **state) {
  Fx *f = *state;
  src(f, "streams", "2");
  src(f, "rows", "300");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 0);
  assert_int_equal(f->summary.records_written, 0);
  assert_output(f, 2, 300, NULL, 0);
}

/* A stream flagged NB_STREAM_REOPENS (an incremental table) is read again
 * by a later run, from the position saved at its end: only the rows added
 * since arrive.  Without the flag (above) a finished stream stays done. */
static void test_reopening_stream_reads_only_new_rows(void **state) {
  Fx *f = *state;
  NbhState st;
  char *log;
  src(f, "rows", "300");
  src(f, "reopens", "true");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 300);
  /* Nothing added: the stream reopens and ends at once. */
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 0);
  log = log_text(f);
  assert_non_null(strstr(log, "finished in an earlier run and reopens"));
  free(log);
  src(f, "rows_added", "50");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 50);
  assert_int_equal(f->summary.records_written, 50);
  assert_output(f, 1, 350, NULL, 0);
  read_state(f, &st);
  assert_true(st.streams[0].finished);
  assert_int_equal(st.streams[0].records, 350);
  assert_int_equal(position_row(&st.streams[0]), 350);
  nbh_state_free(&st);
}

/* NB_IO is final (abi.h): not retried whatever max_retries says; the run
 * fails and the next one resumes from the last commit. */
static void test_io_error_is_not_retried(void **state) {
  Fx *f = *state;
  NbhState st;
  src(f, "rows", "500");
  src(f, "io_error_at_row", "200");
  f->opt.max_retries = 5;
  f->opt.commit_rows = 50;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  assert_int_equal(f->summary.retries, 0);
  read_state(f, &st);
  assert_false(st.streams[0].finished);
  assert_int_equal(position_row(&st.streams[0]), 200);
  nbh_state_free(&st);
  src(f, "io_error_at_row", "-1");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 300);
  assert_output(f, 1, 500, NULL, 0);
}

static void test_without_state_file(void **state) {
  Fx *f = *state;
  f->opt.state_file = NULL;
  src(f, "rows", "500");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 500, NULL, 0);
  assert_null(slurp(f->state, NULL));
}

static void test_resume_after_failure_matches_full_run(void **state) {
  Fx *f = *state;
  NbhState st;
  char *log;
  src(f, "streams", "2");
  src(f, "rows", "1000");
  src(f, "bad_rows", "730");
  f->opt.commit_rows = 200;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "bad record in \"flaky-0\", line 731, column 2"));
  free(log);
  /* A source failure stops reading only: what was read before the bad
   * record is written and committed, and the bad record is read again. */
  read_state(f, &st);
  assert_false(st.streams[0].finished);
  assert_int_equal(position_row(&st.streams[0]), 730);
  assert_int_equal(st.streams[0].records, 730);
  assert_null(st.streams[1].position);
  nbh_state_free(&st);

  src(f, "bad_rows", "");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 2, 1000, NULL, 0);
}

static void test_resume_skips_finished_streams(void **state) {
  Fx *f = *state;
  NbhState st;
  src(f, "streams", "3");
  src(f, "rows", "400");
  src(f, "only_stream", "1");
  src(f, "unavailable_at_row", "200");
  src(f, "unavailable_times", "1000");
  f->opt.max_retries = 0;
  f->opt.commit_rows = 50;
  /* Stream 1 is unavailable at row 200: the run stops there... */
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  read_state(f, &st);
  assert_true(st.streams[0].finished);
  assert_int_equal(st.streams[0].records, 400);
  assert_false(st.streams[1].finished);
  assert_int_equal(position_row(&st.streams[1]), 200);
  assert_null(st.streams[2].position);
  nbh_state_free(&st);
  /* ...and the next run reads only what is left. */
  src(f, "unavailable_times", "0");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.records_read, 600);
  assert_int_equal(f->summary.records_written, 600);
  assert_output(f, 3, 400, NULL, 0);
}

static void test_skip_counts_rejected(void **state) {
  Fx *f = *state;
  static const int bad[] = {5, 17};
  NbhState st;
  src(f, "streams", "2");
  src(f, "rows", "100");
  src(f, "bad_rows", "5,17");
  f->opt.on_error = NBH_ON_ERROR_SKIP;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 2, 100, bad, 2);
  assert_int_equal(f->summary.records_written, 196);
  assert_int_equal(f->summary.records_rejected, 4);
  read_state(f, &st);
  assert_int_equal(st.streams[0].rejected, 2);
  assert_int_equal(st.streams[1].rejected, 2);
  assert_int_equal(st.streams[1].records, 98);
  nbh_state_free(&st);
}

static void test_dead_letter_records(void **state) {
  Fx *f = *state;
  static const int bad[] = {5, 17};
  char *dead;
  src(f, "rows", "100");
  src(f, "bad_rows", "5,17");
  f->opt.on_error = NBH_ON_ERROR_DEAD_LETTER;
  f->opt.dead_letter_path = f->dead;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 100, bad, 2);
  dead = slurp(f->dead, NULL);
  assert_non_null(dead);
  assert_string_equal(
      dead,
      "{\"stream\":\"flaky-0\",\"location\":\"flaky-0\",\"line\":6,\"column\":2,"
      "\"reason\":\"invalid value \\\"bad\\\" in column \\\"name\\\"\","
      "\"record\":\"5,\\\"bad\\u0001value\\\"\"}\n"
      "{\"stream\":\"flaky-0\",\"location\":\"flaky-0\",\"line\":18,\"column\":2,"
      "\"reason\":\"invalid value \\\"bad\\\" in column \\\"name\\\"\","
      "\"record\":\"17,\\\"bad\\u0001value\\\"\"}\n");
  free(dead);
  assert_int_equal(f->summary.records_rejected, 2);
}

static void test_dead_letter_is_not_repeated_after_resume(void **state) {
  Fx *f = *state;
  static const int bad[] = {5, 17, 750};
  char *dead;
  NbhState st;
  src(f, "rows", "1000");
  src(f, "bad_rows", "5,17,750");
  /* The destination fails for good at row 900: the dead letter of row 750
   * is in the file but not covered by a commit. */
  dst(f, "write_unavailable_at_row", "900");
  dst(f, "write_unavailable_times", "1000");
  f->opt.max_retries = 0;
  f->opt.commit_rows = 500;
  f->opt.on_error = NBH_ON_ERROR_DEAD_LETTER;
  f->opt.dead_letter_path = f->dead;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  read_state(f, &st);
  assert_true(position_row(&st.streams[0]) < 750);
  nbh_state_free(&st);
  dead = slurp(f->dead, NULL);
  assert_int_equal(count_lines(dead), 3);
  free(dead);
  dst(f, "write_unavailable_times", "0");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 1000, bad, 3);
  dead = slurp(f->dead, NULL);
  assert_int_equal(count_lines(dead), 3);
  assert_non_null(strstr(dead, "\"line\":751"));
  free(dead);
}

static void test_max_errors_exceeded_fails(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "100");
  src(f, "bad_rows", "5,17,30");
  f->opt.on_error = NBH_ON_ERROR_SKIP;
  f->opt.max_errors = 2;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "too many bad records: more than max_errors = 2"));
  free(log);
}

static void test_bad_record_fails_by_default(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "100");
  src(f, "bad_rows", "42");
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "bad record in \"flaky-0\", line 43, column 2: invalid value"));
  free(log);
}

static void test_transient_failures_are_retried(void **state) {
  Fx *f = *state;
  src(f, "rows", "500");
  src(f, "unavailable_at_row", "100");
  src(f, "unavailable_times", "3");
  dst(f, "write_unavailable_times", "2");
  dst(f, "commit_unavailable_times", "1");
  f->opt.max_retries = 5;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_int_equal(f->summary.retries, 6);
  assert_output(f, 1, 500, NULL, 0);
}

static void test_retries_used_up_keep_last_commit(void **state) {
  Fx *f = *state;
  NbhState st;
  char *log;
  src(f, "rows", "1000");
  src(f, "unavailable_at_row", "500");
  src(f, "unavailable_times", "10");
  f->opt.max_retries = 2;
  f->opt.commit_rows = 100;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  assert_int_equal(f->summary.retries, 2);
  log = log_text(f);
  assert_non_null(strstr(log, "giving up on source_next after 2 retries"));
  assert_non_null(strstr(log, "flaky server is busy at row 500"));
  free(log);
  read_state(f, &st);
  assert_false(st.streams[0].finished);
  assert_int_equal(position_row(&st.streams[0]), 500);
  assert_int_equal(st.streams[0].records, 500);
  nbh_state_free(&st);
  src(f, "unavailable_times", "0");
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 1000, NULL, 0);
}

static void test_retry_deadline(void **state) {
  Fx *f = *state;
  src(f, "rows", "100");
  src(f, "unavailable_at_row", "0");
  src(f, "unavailable_times", "1000000");
  f->opt.max_retries = 1000000;
  f->opt.retry_deadline_seconds = 0.3;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  assert_true(f->summary.retries >= 1);
}

static void test_watchdog_cancels_stalled_source(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "1000");
  src(f, "stall_at_row", "300");
  src(f, "stall_seconds", "60");
  src(f, "stall_polls_cancel", "true");
  f->opt.stall_timeout_seconds = 0.5;
  f->opt.commit_rows = 100;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  assert_true(f->summary.seconds < 30);
  log = log_text(f);
  assert_non_null(strstr(log, "source connector \"flaky\" made no progress for"));
  assert_non_null(strstr(log, "in source_next"));
  free(log);
}

typedef struct Signaller {
  volatile sig_atomic_t *flag;
  int signo;
  int delay_ms;
} Signaller;

static void *send_stop(void *arg) {
  Signaller *s = arg;
  struct timespec ts = {s->delay_ms / 1000, (long)(s->delay_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  *s->flag = s->signo;
  return NULL;
}

static void test_stop_signal_drains_and_commits(void **state) {
  Fx *f = *state;
  volatile sig_atomic_t stop = 0;
  Signaller sig = {&stop, SIGTERM, 300};
  pthread_t thread;
  NbhState st;
  char *out;
  int code;

  src(f, "rows", "100000");
  src(f, "delay_ms", "20");
  f->opt.batch_rows = 10;
  assert_int_equal(pthread_create(&thread, NULL, send_stop, &sig), 0);
  code = run_with(f, &f->plugin, &stop);
  pthread_join(thread, NULL);
  assert_int_equal(code, NBH_EXIT_SIGTERM);
  read_state(f, &st);
  assert_false(st.streams[0].finished);
  assert_true(st.streams[0].records > 0);
  assert_int_equal(st.streams[0].records, f->summary.records_written);
  assert_int_equal(position_row(&st.streams[0]), st.streams[0].records);
  /* Everything read was written and committed: the file holds exactly the
   * committed records. */
  out = slurp(f->out, NULL);
  assert_int_equal(count_lines(out), st.streams[0].records);
  free(out);
  nbh_state_free(&st);

  src(f, "rows", "2000");
  src(f, "delay_ms", "0");
  /* A different row count is a configuration change (refused unless
   * allowed); allowed, the resumed run finishes. */
  assert_int_equal(run(f), NBH_EXIT_USAGE);
  f->opt.allow_config_change = true;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 2000, NULL, 0);
}

static void test_sigint_exit_code(void **state) {
  Fx *f = *state;
  volatile sig_atomic_t stop = 0;
  Signaller sig = {&stop, SIGINT, 100};
  pthread_t thread;
  int code;
  src(f, "rows", "100000");
  src(f, "delay_ms", "20");
  f->opt.batch_rows = 10;
  assert_int_equal(pthread_create(&thread, NULL, send_stop, &sig), 0);
  code = run_with(f, &f->plugin, &stop);
  pthread_join(thread, NULL);
  assert_int_equal(code, NBH_EXIT_SIGINT);
}

static void test_foreign_state_is_refused(void **state) {
  Fx *f = *state;
  NbhPlugin other = f->plugin;
  char *before, *after, *log;
  src(f, "rows", "100");
  assert_int_equal(run(f), NBH_EXIT_OK);
  before = slurp(f->out, NULL);

  src(f, "streams", "2");
  /* Allowing a configuration change does not make another pipeline's
   * state usable: the streams still have to match. */
  f->opt.allow_config_change = true;
  assert_int_equal(run(f), NBH_EXIT_USAGE);
  log = log_text(f);
  assert_non_null(strstr(log, "belongs to another pipeline"));
  free(log);

  src(f, "streams", "1");
  other.vtable.name = "other";
  {
    volatile sig_atomic_t stop = 0;
    assert_int_equal(run_with(f, &other, &stop), NBH_EXIT_USAGE);
  }
  after = slurp(f->out, NULL);
  assert_string_equal(before, after);
  free(before);
  free(after);
}

static void test_corrupt_state_is_refused(void **state) {
  Fx *f = *state;
  char *text, *p, *log;
  size_t len;
  FILE *fp;
  src(f, "rows", "100");
  assert_int_equal(run(f), NBH_EXIT_OK);
  text = slurp(f->state, &len);
  p = strstr(text, "\"records\": 100");
  assert_non_null(p);
  p[12] = '9'; /* 100 -> 190 */
  fp = fopen(f->state, "wb");
  fwrite(text, 1, len, fp);
  fclose(fp);
  free(text);
  assert_int_equal(run(f), NBH_EXIT_USAGE);
  log = log_text(f);
  assert_non_null(strstr(log, "is damaged: checksum mismatch"));
  free(log);

  fp = fopen(f->state, "wb");
  fputs("not json at all", fp);
  fclose(fp);
  assert_int_equal(run(f), NBH_EXIT_USAGE);
}

static void test_schema_change(void **state) {
  Fx *f = *state;
  char *out;
  src(f, "rows", "100");
  src(f, "schema_change_at_row", "50");
  assert_int_equal(run(f), NBH_EXIT_OK);
  out = slurp(f->out, NULL);
  assert_non_null(strstr(out, "flaky-0,49,s0-r49\nflaky-0,50,s0-r50,x50\n"));
  assert_non_null(strstr(out, "flaky-0,99,s0-r99,x99\n"));
  free(out);
}

static void test_invalid_options(void **state) {
  Fx *f = *state;
  f->opt.on_error = NBH_ON_ERROR_DEAD_LETTER;
  assert_int_equal(run(f), NBH_EXIT_USAGE);
  f->opt.on_error = NBH_ON_ERROR_FAIL;
  f->opt.batch_rows = 0;
  assert_int_equal(run(f), NBH_EXIT_USAGE);
}

static void test_zero_streams(void **state) {
  Fx *f = *state;
  NbhState st;
  src(f, "streams", "0");
  assert_int_equal(run(f), NBH_EXIT_OK);
  read_state(f, &st);
  assert_int_equal(st.n_streams, 0);
  nbh_state_free(&st);
}

/* A source returning empty batches that do not move it, forever: the run
 * fails naming the connector and the stream (it used to hang), after
 * writing what was read before. */
static void test_empty_batches_without_progress_fail(void **state) {
  Fx *f = *state;
  char *log;
  NbhState st;
  src(f, "rows", "1000");
  src(f, "spin_at_row", "100");
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "source connector \"flaky\" made no progress in stream "
                              "\"flaky-0\": 10000 empty batches in a row"));
  free(log);
  assert_output(f, 1, 100, NULL, 0);
  read_state(f, &st);
  assert_int_equal(st.streams[0].records, 100);
  assert_false(st.streams[0].finished);
  nbh_state_free(&st);
}

static void test_empty_batch_limit_is_a_setting(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "1000");
  src(f, "spin_at_row", "10");
  f->opt.max_empty_batches = 7;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "7 empty batches in a row without moving (max_empty_batches = 7)"));
  free(log);
}

/* A source that reports a bad record without moving is stuck at a corrupt
 * stream: even with on_error = skip or dead_letter the stream ends with
 * the error (it used to be retried forever), after what came before. */
static void stuck_source_ends_stream(Fx *f, NbhOnError policy) {
  char *log;
  src(f, "rows", "1000");
  src(f, "stuck_bad_at_row", "50");
  f->opt.on_error = policy;
  f->opt.dead_letter_path = f->dead;
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  /* With fail, the first report already ends the run, as a bad record. */
  assert_non_null(strstr(log, policy == NBH_ON_ERROR_FAIL
                                  ? "bad record in stream \"flaky-0\": corrupt input at row 50"
                                  : "cannot go on reading stream \"flaky-0\": corrupt input at "
                                    "row 50"));
  free(log);
  assert_output(f, 1, 50, NULL, 0);
  assert_true(f->summary.records_rejected <= 1);
}

static void test_stuck_source_fail(void **state) {
  stuck_source_ends_stream(*state, NBH_ON_ERROR_FAIL);
}

static void test_stuck_source_skip(void **state) {
  stuck_source_ends_stream(*state, NBH_ON_ERROR_SKIP);
}

static void test_stuck_source_dead_letter(void **state) {
  Fx *f = *state;
  char *dead;
  stuck_source_ends_stream(f, NBH_ON_ERROR_DEAD_LETTER);
  dead = slurp(f->dead, NULL);
  if (dead != NULL) assert_true(count_lines(dead) <= 1);
  free(dead);
}

/* Bad records one after the other, each moving the source: all skipped. */
static void test_consecutive_bad_records_are_skipped(void **state) {
  Fx *f = *state;
  static const int bad[] = {5, 6, 7, 8};
  src(f, "rows", "100");
  src(f, "bad_rows", "5,6,7,8");
  f->opt.on_error = NBH_ON_ERROR_SKIP;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 100, bad, 4);
  assert_int_equal(f->summary.records_rejected, 4);
}

/* dest_finish (ABI 1.1): called after the last commit of a complete run. */
static void test_dest_finish_after_complete_run(void **state) {
  Fx *f = *state;
  char *want, *got;
  src(f, "rows", "100");
  dst(f, "finish_line", "END");
  assert_int_equal(run(f), NBH_EXIT_OK);
  want = expected(1, 100, NULL, 0);
  got = slurp(f->out, NULL);
  assert_non_null(got);
  assert_int_equal(strlen(got), strlen(want) + 4);
  assert_memory_equal(got, want, strlen(want));
  assert_string_equal(got + strlen(want), "END\n");
  free(want);
  free(got);
}

/* A failing dest_finish fails the run with its error. */
static void test_dest_finish_failure_fails_run(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "100");
  dst(f, "finish_fails", "true");
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  log = log_text(f);
  assert_non_null(strstr(log, "flaky destination cannot finish"));
  free(log);
}

/* Not after a failure: the output stays open for the resumed run. */
static void test_dest_finish_not_after_failure(void **state) {
  Fx *f = *state;
  src(f, "rows", "100");
  src(f, "bad_rows", "50");
  dst(f, "finish_line", "END");
  assert_int_equal(run(f), NBH_EXIT_FAILED);
  assert_output(f, 1, 50, NULL, 0);
}

/* A 1.0 connector (struct_size short of the slot) has nothing to finish. */
static void test_dest_finish_absent_in_1_0(void **state) {
  Fx *f = *state;
  NbhPlugin old = f->plugin;
  volatile sig_atomic_t stop = 0;
  old.vtable.struct_size = (uint32_t)NB_CONNECTOR_SIZE_1_0;
  src(f, "rows", "100");
  dst(f, "finish_fails", "true");
  assert_int_equal(run_with(f, &old, &stop), NBH_EXIT_OK);
  old.vtable.struct_size = (uint32_t)sizeof old.vtable;
  old.vtable.dest_finish = NULL;
  unlink(f->state);
  assert_int_equal(run_with(f, &old, &stop), NBH_EXIT_OK);
}

/* ABI 1.2 committed_position: a source waiting inside source_next (at row
 * 100, 10 s at most) learns of a commit of what it produced before. */
static void test_source_sees_commits_during_run(void **state) {
  Fx *f = *state;
  char *log;
  src(f, "rows", "300");
  src(f, "await_commit_at_row", "100");
  f->opt.commit_rows = 50;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 1, 300, NULL, 0);
  log = log_text(f);
  assert_non_null(strstr(log, "committed stream 0 row "));
  assert_null(strstr(log, "no committed position"));
  free(log);
}

static void test_small_queue_bounds_do_not_deadlock(void **state) {
  Fx *f = *state;
  src(f, "streams", "2");
  src(f, "rows", "3000");
  f->opt.buffer_batches = 1;
  f->opt.buffer_bytes = 1; /* every batch is larger: one at a time */
  f->opt.batch_rows = 7;
  assert_int_equal(run(f), NBH_EXIT_OK);
  assert_output(f, 2, 3000, NULL, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_copies_every_stream, setup, teardown),
      cmocka_unit_test_setup_teardown(test_rerun_after_complete_copies_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopening_stream_reads_only_new_rows, setup, teardown),
      cmocka_unit_test_setup_teardown(test_io_error_is_not_retried, setup, teardown),
      cmocka_unit_test_setup_teardown(test_without_state_file, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resume_after_failure_matches_full_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_resume_skips_finished_streams, setup, teardown),
      cmocka_unit_test_setup_teardown(test_skip_counts_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_records, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dead_letter_is_not_repeated_after_resume, setup, teardown),
      cmocka_unit_test_setup_teardown(test_max_errors_exceeded_fails, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_record_fails_by_default, setup, teardown),
      cmocka_unit_test_setup_teardown(test_transient_failures_are_retried, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retries_used_up_keep_last_commit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retry_deadline, setup, teardown),
      cmocka_unit_test_setup_teardown(test_watchdog_cancels_stalled_source, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stop_signal_drains_and_commits, setup, teardown),
      cmocka_unit_test_setup_teardown(test_sigint_exit_code, setup, teardown),
      cmocka_unit_test_setup_teardown(test_foreign_state_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_corrupt_state_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_schema_change, setup, teardown),
      cmocka_unit_test_setup_teardown(test_invalid_options, setup, teardown),
      cmocka_unit_test_setup_teardown(test_zero_streams, setup, teardown),
      cmocka_unit_test_setup_teardown(test_small_queue_bounds_do_not_deadlock, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_batches_without_progress_fail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_empty_batch_limit_is_a_setting, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stuck_source_fail, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stuck_source_skip, setup, teardown),
      cmocka_unit_test_setup_teardown(test_stuck_source_dead_letter, setup, teardown),
      cmocka_unit_test_setup_teardown(test_consecutive_bad_records_are_skipped, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dest_finish_after_complete_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dest_finish_failure_fails_run, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dest_finish_not_after_failure, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dest_finish_absent_in_1_0, setup, teardown),
      cmocka_unit_test_setup_teardown(test_source_sees_commits_during_run, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
