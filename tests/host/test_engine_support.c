/*
 * test_engine_support.c - the engine's helpers: backoff with full jitter
 * and its budget, the metrics registry and its HTTP endpoint, the progress
 * line.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics.h"
#include "nebula/sdk.h"
#include "progress.h"
#include "retry.h"
#include "watchdog.h"
#include "invariant.h"

#include <signal.h>
#include <sys/wait.h>

static NbhRetryPolicy policy(uint32_t max_retries, double deadline) {
  NbhRetryPolicy p = {max_retries, deadline, NBH_RETRY_BASE_SECONDS, NBH_RETRY_CAP_SECONDS};
  return p;
}

static void test_backoff_bounds(void **state) {
  NbhRetryPolicy p = policy(100, 0);
  (void)state;
  assert_true(nbh_backoff_bound(&p, 0) == 0.1);
  assert_true(nbh_backoff_bound(&p, 1) == 0.2);
  assert_true(nbh_backoff_bound(&p, 5) == 3.2);
  assert_true(nbh_backoff_bound(&p, 9) == 30.0);
  assert_true(nbh_backoff_bound(&p, 1000) == 30.0);
}

static void test_full_jitter_stays_within_bound(void **state) {
  NbhRetryPolicy p = policy(12, 0);
  NbhRng rng;
  NbhRetry retry;
  double sum = 0;
  uint32_t i, trial;
  (void)state;
  nbh_rng_seed(&rng, 7);
  for (trial = 0; trial < 200; trial++) {
    nbh_retry_start(&retry, &p, &rng);
    for (i = 0; i < 12; i++) {
      double d = nbh_retry_next_delay(&retry, 1000000000ull);
      assert_true(d >= 0);
      assert_true(d <= nbh_backoff_bound(&p, i));
      if (i == 0) sum += d;
    }
    assert_true(nbh_retry_next_delay(&retry, 1000000000ull) < 0);
  }
  /* Full jitter: the first delays spread over [0, 0.1], they are not all
   * at the bound (the mean of 200 uniform draws is far from 0.1). */
  assert_true(sum / 200 < 0.09);
  assert_true(sum / 200 > 0.01);
}

static void test_two_generators_differ(void **state) {
  NbhRng a, b;
  (void)state;
  nbh_rng_seed(&a, 1);
  nbh_rng_seed(&b, 2);
  assert_true(nbh_rng_next(&a) != nbh_rng_next(&b));
}

static void test_deadline_limits_retries(void **state) {
  NbhRetryPolicy p = policy(1000, 1.0);
  NbhRng rng;
  NbhRetry retry;
  uint64_t t0 = 5000000000ull;
  double d;
  (void)state;
  nbh_rng_seed(&rng, 3);
  nbh_retry_start(&retry, &p, &rng);
  d = nbh_retry_next_delay(&retry, t0);
  assert_true(d >= 0 && d <= 0.1);
  /* 0.9 s later only 0.1 s remain: no delay goes past the deadline. */
  d = nbh_retry_next_delay(&retry, t0 + 900000000ull);
  assert_true(d >= 0 && d <= 0.1 + 1e-9);
  assert_true(nbh_retry_next_delay(&retry, t0 + 1000000000ull) < 0);
}

static void test_zero_retries(void **state) {
  NbhRetryPolicy p = policy(0, 100);
  NbhRng rng;
  NbhRetry retry;
  (void)state;
  nbh_rng_seed(&rng, 3);
  nbh_retry_start(&retry, &p, &rng);
  assert_true(nbh_retry_next_delay(&retry, 1) < 0);
}

/* ------------------------------------------------------------------------ */

static NbhMetrics *sample_metrics(void) {
  NbhMetrics *m;
  NbError err;
  char labels[128];
  const char *pairs[] = {"stream", "a\"b\\c\nd", "direction", "read"};
  nb_error_init(&err);
  assert_int_equal(nbh_metrics_new(&m, &err), NB_OK);
  nbh_metrics_declare(m, "nebula_records_total", "Records.", NBH_METRIC_COUNTER);
  nbh_metrics_declare(m, "nebula_queue_depth", "Depth.", NBH_METRIC_GAUGE);
  nbh_metrics_declare(m, "nebula_batch_latency_seconds", "Latency.", NBH_METRIC_HISTOGRAM);
  nbh_metrics_labels(labels, sizeof labels, pairs, 2);
  assert_string_equal(labels, "stream=\"a\\\"b\\\\c\\nd\",direction=\"read\"");
  nbh_metrics_add(m, "nebula_records_total", labels, 10);
  nbh_metrics_add(m, "nebula_records_total", labels, 5);
  nbh_metrics_set(m, "nebula_queue_depth", "", 3);
  nbh_metrics_observe(m, "nebula_batch_latency_seconds", "", 0.003);
  nbh_metrics_observe(m, "nebula_batch_latency_seconds", "", 20);
  nbh_metrics_add(m, "undeclared", "", 1);
  nbh_metrics_connector_add(m, "csv", "source", "rows.parsed", 7);
  nbh_metrics_connector_add(m, "csv", "source", "bytes_total", 9);
  return m;
}

static void test_render_text_format(void **state) {
  NbhMetrics *m = sample_metrics();
  size_t len;
  char *text = nbh_metrics_render(m, &len);
  (void)state;
  assert_int_equal(len, strlen(text));
  assert_non_null(strstr(text, "# HELP nebula_records_total Records.\n# TYPE nebula_records_total counter\n"
                               "nebula_records_total{stream=\"a\\\"b\\\\c\\nd\",direction=\"read\"} 15\n"));
  assert_non_null(strstr(text, "# TYPE nebula_queue_depth gauge\nnebula_queue_depth 3\n"));
  assert_non_null(strstr(text, "# TYPE nebula_batch_latency_seconds histogram\n"));
  assert_non_null(strstr(text, "nebula_batch_latency_seconds_bucket{le=\"0.001\"} 0\n"));
  assert_non_null(strstr(text, "nebula_batch_latency_seconds_bucket{le=\"0.005\"} 1\n"));
  assert_non_null(strstr(text, "nebula_batch_latency_seconds_bucket{le=\"10\"} 1\n"));
  assert_non_null(strstr(text, "nebula_batch_latency_seconds_bucket{le=\"+Inf\"} 2\n"));
  assert_non_null(strstr(text, "nebula_batch_latency_seconds_count 2\n"));
  assert_non_null(strstr(text, "nebula_connector_rows_parsed_total{connector=\"csv\",side=\"source\"} 7\n"));
  assert_non_null(strstr(text, "nebula_connector_bytes_total{connector=\"csv\",side=\"source\"} 9\n"));
  assert_null(strstr(text, "undeclared"));
  free(text);
  nbh_metrics_free(m);
}

static char *http_get(uint16_t port, const char *request) {
  struct sockaddr_in addr;
  char *buf = calloc(1, 65536);
  size_t got = 0;
  ssize_t n;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof addr), 0);
  assert_int_equal(write(fd, request, strlen(request)), (ssize_t)strlen(request));
  while ((n = read(fd, buf + got, 65535 - got)) > 0) got += (size_t)n;
  close(fd);
  return buf;
}

static void test_http_endpoint(void **state) {
  NbhMetrics *m = sample_metrics();
  NbError err;
  uint16_t port = 0;
  char *reply;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nbh_metrics_serve(m, "127.0.0.1:0", NULL, &port, &err), NB_OK);
  assert_true(port > 0);
  reply = http_get(port, "GET /metrics HTTP/1.0\r\n\r\n");
  assert_non_null(strstr(reply, " 200 OK\r\n"));
  assert_non_null(strstr(reply, "text/plain; version=0.0.4"));
  assert_non_null(strstr(reply, "nebula_queue_depth 3\n"));
  free(reply);
  reply = http_get(port, "GET /other HTTP/1.0\r\n\r\n");
  assert_non_null(strstr(reply, " 404 "));
  free(reply);
  nbh_metrics_free(m);
}

static void test_bad_addresses(void **state) {
  NbhMetrics *m;
  NbError err;
  uint16_t port;
  (void)state;
  nb_error_init(&err);
  assert_int_equal(nbh_metrics_new(&m, &err), NB_OK);
  assert_int_equal(nbh_metrics_serve(m, "9108", NULL, &port, &err), NB_INVALID);
  assert_non_null(strstr(err.message, "invalid metrics address \"9108\""));
  assert_int_equal(nbh_metrics_serve(m, "127.0.0.1:notaport", NULL, &port, &err), NB_INVALID);
  assert_int_equal(nbh_metrics_serve(m, "[::1:80", NULL, &port, &err), NB_INVALID);
  nb_error_release(&err);
  nbh_metrics_free(m);
}

/* ------------------------------------------------------------------------ */

static void test_progress_line(void **state) {
  NbhProgressSample s = {1000000, 0, 50 * 1024 * 1024, 300, 1200};
  char line[256];
  (void)state;
  nbh_progress_format(line, sizeof line, &s, 10.0);
  assert_string_equal(line, "1000000 records  50.0 MiB  100000 rec/s  5.0 MiB/s  25.0%  ETA 0:00:30");
  s.input_total = -1;
  s.rejected = 4;
  nbh_progress_format(line, sizeof line, &s, 10.0);
  assert_string_equal(line, "1000000 records  50.0 MiB  100000 rec/s  5.0 MiB/s  (rejected: 4)");
}

static void test_progress_off_without_terminal(void **state) {
  NbhProgress p;
  NbhProgressSample s = {1, 0, 1, 0, -1};
  FILE *fp = tmpfile();
  (void)state;
  nbh_progress_init(&p, fp, true, 0);
  assert_false(p.enabled);
  nbh_progress_update(&p, &s, 1000000000ull);
  nbh_progress_finish(&p);
  assert_int_equal(ftell(fp), 0);
  fclose(fp);
}

/* The watchdog's rule, with the clock values a race between the supervisor
 * and a stage produces: a call that starts after the supervisor read its
 * clock is not stalled (it used to be reported as stalled for 18446744074
 * seconds). */
static void test_watchdog_rule(void **state) {
  const uint64_t s = 1000000000ull, limit = 2 * s;
  uint64_t elapsed = 99;
  (void)state;
  assert_false(nbh_call_stalled(0, 5 * s, limit, &elapsed));
  assert_int_equal(elapsed, 0);
  assert_false(nbh_call_stalled(10 * s, 11 * s, limit, &elapsed));
  assert_int_equal(elapsed, s);
  assert_true(nbh_call_stalled(10 * s, 12 * s, limit, &elapsed));
  assert_int_equal(elapsed, 2 * s);
  assert_true(nbh_call_stalled(10 * s, 100 * s, limit, &elapsed));
  /* Started after now: just begun. */
  assert_false(nbh_call_stalled(10 * s + 1, 10 * s, limit, &elapsed));
  assert_int_equal(elapsed, 0);
  assert_false(nbh_call_stalled(UINT64_MAX, 1, limit, &elapsed));
  /* No limit: never stalled. */
  assert_false(nbh_call_stalled(1, UINT64_MAX, 0, &elapsed));
}

/* NBH_ALWAYS / NBH_NEVER: the plain condition when it holds; a broken one
 * aborts in a checked build (this test program is built without NDEBUG). */
static void test_invariants(void **state) {
  pid_t pid;
  int status = 0;
  (void)state;
  assert_int_equal(NBH_ALWAYS(3 > 2), 1);
  assert_int_equal(NBH_NEVER(3 < 2), 0);
  pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    int broken = 1;
    (void)!freopen("/dev/null", "w", stderr);
    if (NBH_NEVER(broken)) _exit(3);
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_backoff_bounds),
      cmocka_unit_test(test_watchdog_rule),
      cmocka_unit_test(test_invariants),
      cmocka_unit_test(test_full_jitter_stays_within_bound),
      cmocka_unit_test(test_two_generators_differ),
      cmocka_unit_test(test_deadline_limits_retries),
      cmocka_unit_test(test_zero_retries),
      cmocka_unit_test(test_render_text_format),
      cmocka_unit_test(test_http_endpoint),
      cmocka_unit_test(test_bad_addresses),
      cmocka_unit_test(test_progress_line),
      cmocka_unit_test(test_progress_off_without_terminal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
