/*
 * metrics.c - the metrics registry and its Prometheus endpoint (see
 * metrics.h).  A run has a few dozen series at most, so families and series
 * are plain arrays searched linearly under one mutex.
 */
#define _GNU_SOURCE
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "log.h"
#include "metrics.h"
#include "nebula/sdk.h"
#include "request_guard.h"
#include "textutil.h"

#if MHD_VERSION >= 0x00097002
typedef enum MHD_Result MhdResult;
#else
typedef int MhdResult;
#endif

/* Bounds of the HTTP server (issue 9, item 11: ~1100 idle connections used
 * up the process's descriptors and the pipeline failed at its next
 * commit).  A scraper needs one connection; these leave room for a few
 * and keep the rest of the descriptors for the pipeline. */
#define MAX_CONNECTIONS 16         /* at most; fewer under a low fd limit */
#define MAX_CONNECTIONS_PER_IP 4
#define CONNECTION_TIMEOUT_S 5     /* an idle connection is closed */
#define REQUEST_DEADLINE_MS 10000  /* a request still unanswered is cut
                                      (request_guard.h: a slow sender) */
#define CONNECTION_MEMORY 16384    /* request line + headers, per connection */

/* Upper bounds of the latency histogram's buckets, in seconds. */
static const double LATENCY_BUCKETS[] = {0.001, 0.005, 0.01, 0.05, 0.1,
                                         0.25,  0.5,   1.0,  2.5,  5.0, 10.0};
#define N_BUCKETS (sizeof LATENCY_BUCKETS / sizeof LATENCY_BUCKETS[0])

typedef struct Series {
  char *labels;
  double value;                 /* counter or gauge */
  uint64_t buckets[N_BUCKETS];  /* histogram: observations <= bound */
  uint64_t count;
  double sum;
} Series;

typedef struct Family {
  char *name;
  char *help;
  NbhMetricType type;
  Series *series;
  size_t n_series;
  size_t cap_series;
} Family;

struct NbhMetrics {
  pthread_mutex_t lock;
  Family *families;
  size_t n_families;
  size_t cap_families;
  struct MHD_Daemon *daemon;
  NbhRequestGuard *guard;     /* with the daemon; freed after it stops */
};

int nbh_metrics_new(NbhMetrics **out, NbError *err) {
  NbhMetrics *m = calloc(1, sizeof *m);
  if (m == NULL || pthread_mutex_init(&m->lock, NULL) != 0) {
    free(m);
    return nb_error_set(err, NB_NOMEM, "out of memory creating the metrics registry");
  }
  *out = m;
  return NB_OK;
}

void nbh_metrics_free(NbhMetrics *m) {
  size_t i, k;
  if (m == NULL) return;
  /* Stop the server first: its thread reads the registry. */
  if (m->daemon != NULL) MHD_stop_daemon(m->daemon);
  nbh_request_guard_free(m->guard);
  for (i = 0; i < m->n_families; i++) {
    for (k = 0; k < m->families[i].n_series; k++)
      free(m->families[i].series[k].labels);
    free(m->families[i].series);
    free(m->families[i].name);
    free(m->families[i].help);
  }
  free(m->families);
  pthread_mutex_destroy(&m->lock);
  free(m);
}

static Family *find_family(NbhMetrics *m, const char *name) {
  size_t i;
  for (i = 0; i < m->n_families; i++)
    if (strcmp(m->families[i].name, name) == 0) return &m->families[i];
  return NULL;
}

static int declare_locked(NbhMetrics *m, const char *name, const char *help,
                          NbhMetricType type) {
  Family *f;
  if (find_family(m, name) != NULL) return 0;
  if (m->n_families == m->cap_families) {
    size_t cap = m->cap_families ? m->cap_families * 2 : 16;
    Family *grown = realloc(m->families, cap * sizeof *grown);
    if (grown == NULL) return -1;
    m->families = grown;
    m->cap_families = cap;
  }
  f = &m->families[m->n_families];
  memset(f, 0, sizeof *f);
  f->name = strdup(name);
  f->help = strdup(help);
  f->type = type;
  if (f->name == NULL || f->help == NULL) {
    free(f->name);
    free(f->help);
    return -1;
  }
  m->n_families++;
  return 0;
}

int nbh_metrics_declare(NbhMetrics *m, const char *name, const char *help,
                        NbhMetricType type) {
  int rc;
  pthread_mutex_lock(&m->lock);
  rc = declare_locked(m, name, help, type);
  pthread_mutex_unlock(&m->lock);
  return rc;
}

static Series *find_series(Family *f, const char *labels) {
  size_t i;
  Series *s;
  for (i = 0; i < f->n_series; i++)
    if (strcmp(f->series[i].labels, labels) == 0) return &f->series[i];
  if (f->n_series == f->cap_series) {
    size_t cap = f->cap_series ? f->cap_series * 2 : 4;
    Series *grown = realloc(f->series, cap * sizeof *grown);
    if (grown == NULL) return NULL;
    f->series = grown;
    f->cap_series = cap;
  }
  s = &f->series[f->n_series];
  memset(s, 0, sizeof *s);
  s->labels = strdup(labels);
  if (s->labels == NULL) return NULL;
  f->n_series++;
  return s;
}

typedef enum Op { OP_ADD, OP_SET, OP_OBSERVE } Op;

static int update(NbhMetrics *m, const char *name, const char *labels,
                  double v, Op op) {
  Family *f;
  Series *s;
  size_t i;
  int rc = 0;

  pthread_mutex_lock(&m->lock);
  f = find_family(m, name);
  if (f == NULL) goto out;
  s = find_series(f, labels != NULL ? labels : "");
  if (s == NULL) {
    rc = -1;
    goto out;
  }
  switch (op) {
    case OP_ADD: s->value += v; break;
    case OP_SET: s->value = v; break;
    case OP_OBSERVE:
      for (i = 0; i < N_BUCKETS; i++)
        if (v <= LATENCY_BUCKETS[i]) s->buckets[i]++;
      s->count++;
      s->sum += v;
      break;
  }
out:
  pthread_mutex_unlock(&m->lock);
  return rc;
}

int nbh_metrics_add(NbhMetrics *m, const char *name, const char *labels,
                    double delta) {
  return update(m, name, labels, delta, OP_ADD);
}

int nbh_metrics_set(NbhMetrics *m, const char *name, const char *labels,
                    double value) {
  return update(m, name, labels, value, OP_SET);
}

int nbh_metrics_observe(NbhMetrics *m, const char *name, const char *labels,
                        double value) {
  return update(m, name, labels, value, OP_OBSERVE);
}

int nbh_metrics_connector_add(NbhMetrics *m, const char *connector,
                              const char *side, const char *name,
                              int64_t delta) {
  char family[160], labels[256];
  const char *pairs[4] = {"connector", connector, "side", side};
  size_t i, n = 0, name_len;
  int rc;

  n = (size_t)snprintf(family, sizeof family, "nebula_connector_");
  for (i = 0; name[i] != '\0' && n + 7 < sizeof family; i++) {
    char c = name[i];
    int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
             (c >= '0' && c <= '9') || c == '_';
    family[n++] = ok ? c : '_';
  }
  family[n] = '\0';
  name_len = strlen(family);
  if (name_len < 6 || strcmp(family + name_len - 6, "_total") != 0)
    strcat(family, "_total");
  nbh_metrics_labels(labels, sizeof labels, pairs, 2);

  pthread_mutex_lock(&m->lock);
  rc = declare_locked(m, family, "A counter reported by a connector.",
                      NBH_METRIC_COUNTER);
  pthread_mutex_unlock(&m->lock);
  if (rc != 0) return rc;
  return update(m, family, labels, (double)delta, OP_ADD);
}

void nbh_metrics_labels(char *buf, size_t cap, const char *const *pairs,
                        size_t n) {
  size_t used = 0, i;
  const char *v;

  if (cap == 0) return;
  buf[0] = '\0';
#define PUT(ch)                             \
  do {                                      \
    if (used + 1 < cap) buf[used++] = (ch); \
  } while (0)
  for (i = 0; i < n; i++) {
    const char *k = pairs[2 * i];
    if (i > 0) PUT(',');
    while (*k) PUT(*k++);
    PUT('=');
    PUT('"');
    for (v = pairs[2 * i + 1]; *v; v++) {
      if (*v == '\\' || *v == '"') {
        PUT('\\');
        PUT(*v);
      } else if (*v == '\n') {
        PUT('\\');
        PUT('n');
      } else {
        PUT(*v);
      }
    }
    PUT('"');
  }
#undef PUT
  buf[used] = '\0';
}

static void render_series(NbhBuf *out, const Family *f, const Series *s) {
  const char *sep = s->labels[0] ? "," : "";
  size_t i;
  if (f->type != NBH_METRIC_HISTOGRAM) {
    nbh_buf_printf(out, "%s%s%s%s %.17g\n", f->name, s->labels[0] ? "{" : "",
                   s->labels, s->labels[0] ? "}" : "", s->value);
    return;
  }
  for (i = 0; i < N_BUCKETS; i++)
    nbh_buf_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", f->name, s->labels,
                   sep, LATENCY_BUCKETS[i], (unsigned long long)s->buckets[i]);
  nbh_buf_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", f->name, s->labels,
                 sep, (unsigned long long)s->count);
  nbh_buf_printf(out, "%s_sum%s%s%s %.17g\n", f->name, s->labels[0] ? "{" : "",
                 s->labels, s->labels[0] ? "}" : "", s->sum);
  nbh_buf_printf(out, "%s_count%s%s%s %llu\n", f->name,
                 s->labels[0] ? "{" : "", s->labels, s->labels[0] ? "}" : "",
                 (unsigned long long)s->count);
}

char *nbh_metrics_render(NbhMetrics *m, size_t *len) {
  static const char *const TYPE_NAMES[] = {"", "counter", "gauge", "histogram"};
  NbhBuf out = NBH_BUF_INIT;
  size_t i, k;

  pthread_mutex_lock(&m->lock);
  for (i = 0; i < m->n_families; i++) {
    const Family *f = &m->families[i];
    nbh_buf_printf(&out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
                   f->name, TYPE_NAMES[f->type]);
    for (k = 0; k < f->n_series; k++) render_series(&out, f, &f->series[k]);
  }
  pthread_mutex_unlock(&m->lock);
  if (out.failed) {
    nbh_buf_free(&out);
    return NULL;
  }
  *len = out.len;
  if (out.data == NULL) return strdup("");
  return nbh_buf_take(&out);
}

/* ------------------------------------------------------------------------
 * HTTP
 * ------------------------------------------------------------------------ */

static MhdResult send_text(struct MHD_Connection *connection, unsigned status,
                           char *body, size_t len) {
  struct MHD_Response *response;
  MhdResult rc;
  response = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
  if (response == NULL) {
    free(body);
    return MHD_NO;
  }
  MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE,
                          "text/plain; version=0.0.4; charset=utf-8");
  rc = MHD_queue_response(connection, status, response);
  MHD_destroy_response(response);
  return rc;
}

static MhdResult handle_request(void *cls, struct MHD_Connection *connection,
                                const char *url, const char *method,
                                const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls) {
  NbhMetrics *m = cls;
  char *body;
  size_t len = 0;
  (void)version;
  (void)upload_data;
  (void)con_cls;

  if (*upload_data_size != 0) return MHD_NO;
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    body = strdup("only GET is served\n");
    return body ? send_text(connection, MHD_HTTP_METHOD_NOT_ALLOWED, body,
                            strlen(body))
                : MHD_NO;
  }
  if (strcmp(url, "/metrics") != 0) {
    body = strdup("not found: metrics are served at /metrics\n");
    return body ? send_text(connection, MHD_HTTP_NOT_FOUND, body, strlen(body))
                : MHD_NO;
  }
  body = nbh_metrics_render(m, &len);
  if (body == NULL) return MHD_NO;
  return send_text(connection, MHD_HTTP_OK, body, len);
}

/* Split "host:port", "[v6]:port" or ":port" (host left empty). */
static int split_addr(const char *addr, char *host, size_t host_cap,
                      const char **port) {
  const char *colon;
  size_t n;
  if (addr[0] == '[') {
    const char *close = strchr(addr, ']');
    if (close == NULL || close[1] != ':') return -1;
    n = (size_t)(close - addr - 1);
    if (n == 0 || n >= host_cap) return -1;
    memcpy(host, addr + 1, n);
    host[n] = '\0';
    *port = close + 2;
  } else {
    colon = strrchr(addr, ':');
    if (colon == NULL) return -1;
    n = (size_t)(colon - addr);
    if (n >= host_cap) return -1;
    memcpy(host, addr, n);
    host[n] = '\0';
    *port = colon + 1;
  }
  return **port != '\0' ? 0 : -1;
}

static bool is_loopback(const struct sockaddr *sa) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
    return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) ||
           (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127);
  }
  return false;
}

/* How many connections the server may hold: MAX_CONNECTIONS, but never
 * more than an eighth of the descriptor limit, so the pipeline's files,
 * state and connectors keep the rest.  The soft limit is raised to the
 * hard one first (as a server would at start): more room for everyone. */
static unsigned connection_limit(NbhLogger *logger) {
  struct rlimit rl;
  rlim_t soft;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 4;
  if (rl.rlim_cur < rl.rlim_max) {
    struct rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) {
      if (logger != NULL)
        nbh_log(logger, NB_LOG_DEBUG, "metrics",
                "raised the open file limit from %llu to %llu",
                (unsigned long long)rl.rlim_cur, (unsigned long long)rl.rlim_max);
      rl.rlim_cur = rl.rlim_max;
    }
  }
  soft = rl.rlim_cur;
  if (soft == RLIM_INFINITY || soft / 8 >= MAX_CONNECTIONS) return MAX_CONNECTIONS;
  return soft / 8 > 1 ? (unsigned)(soft / 8) : 1;
}

static int bad_address(NbError *err, const char *addr, const char *why) {
  if (why != NULL)
    nb_error_set(err, NB_INVALID, "invalid metrics address \"%s\": %s", addr, why);
  else
    nb_error_set(err, NB_INVALID, "invalid metrics address \"%s\"", addr);
  nb_error_hint(err, "Give HOST:PORT, for example 127.0.0.1:9108 or [::1]:9108 "
                     "(:PORT alone listens on 127.0.0.1).");
  return NB_INVALID;
}

int nbh_metrics_serve(NbhMetrics *m, const char *addr, NbhLogger *logger,
                      uint16_t *bound_port, NbError *err) {
  char host[256];
  const char *port;
  struct addrinfo hints, *res = NULL;
  /* poll(), not select(): select cannot watch descriptors >= FD_SETSIZE,
   * which a raised limit makes possible. */
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL;
  unsigned limit;
  const union MHD_DaemonInfo *info;
  int gai;

  if (split_addr(addr, host, sizeof host, &port) != 0) return bad_address(err, addr, NULL);
  if (host[0] == '\0') snprintf(host, sizeof host, "127.0.0.1");
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
  gai = getaddrinfo(host, port, &hints, &res);
  if (gai != 0 || res == NULL) return bad_address(err, addr, gai_strerror(gai));
  if (res->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (!is_loopback(res->ai_addr) && logger != NULL)
    nbh_log(logger, NB_LOG_WARN, "metrics",
            "serving metrics on \"%s\", which is not a loopback address: anyone who can "
            "reach this machine can read them (use 127.0.0.1:PORT to keep them local)",
            addr);
  limit = connection_limit(logger);
  int rc = nbh_request_guard_new(limit, REQUEST_DEADLINE_MS, &m->guard, err);
  if (rc != NB_OK) {
    freeaddrinfo(res);
    return rc;
  }
  m->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, handle_request, m, MHD_OPTION_SOCK_ADDR, res->ai_addr,
      MHD_OPTION_CONNECTION_LIMIT, limit, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      limit < MAX_CONNECTIONS_PER_IP ? limit : (unsigned)MAX_CONNECTIONS_PER_IP,
      MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)CONNECTION_TIMEOUT_S,
      MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONNECTION_MEMORY,
      MHD_OPTION_NOTIFY_CONNECTION, nbh_request_guard_on_connection, m->guard,
      MHD_OPTION_NOTIFY_COMPLETED, nbh_request_guard_on_completed, m->guard, MHD_OPTION_END);
  freeaddrinfo(res);
  if (m->daemon == NULL) {
    nbh_request_guard_free(m->guard);
    m->guard = NULL;
    nb_error_set(err, NB_IO, "could not serve metrics on \"%s\"", addr);
    nb_error_detail(err, "libmicrohttpd could not listen on that address.");
    nb_error_hint(err, "Check that the port is free and the address is one of this machine's.");
    return NB_IO;
  }
  info = MHD_get_daemon_info(m->daemon, MHD_DAEMON_INFO_BIND_PORT);
  *bound_port = info != NULL ? info->port : 0;
  return NB_OK;
}
