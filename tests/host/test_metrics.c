/*
 * test_metrics.c - the metrics registry and its HTTP endpoint (host/engine/metrics.c):
 * the Prometheus text format with escaped labels, a scrape over loopback,
 * addresses refused.
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_render_text_format),
      cmocka_unit_test(test_http_endpoint),
      cmocka_unit_test(test_bad_addresses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
