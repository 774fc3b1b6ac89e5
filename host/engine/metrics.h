/*
 * metrics.h - the run's metrics registry (counters, gauges, one latency
 * histogram) and the optional Prometheus endpoint that serves it over HTTP
 * with libmicrohttpd.
 *
 * The registry always exists (the summary and the connectors' counters use
 * it); the HTTP server runs only when an address is given.  Every function
 * is thread-safe.
 */
#ifndef NBH_METRICS_H
#define NBH_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "nebula/abi.h"

typedef struct NbhMetrics NbhMetrics;

typedef enum NbhMetricType {
  NBH_METRIC_COUNTER = 1,
  NBH_METRIC_GAUGE,
  NBH_METRIC_HISTOGRAM
} NbhMetricType;

/* NB_OK or NB_NOMEM. */
int nbh_metrics_new(NbhMetrics **out, NbError *err);
/* Stops the server if running, then frees.  NULL is a no-op. */
void nbh_metrics_free(NbhMetrics *metrics);

/* Declare a family: name (Prometheus syntax), help line, type.  Declaring
 * it again is a no-op.  Families are rendered in declaration order. */
int nbh_metrics_declare(NbhMetrics *metrics, const char *name,
                        const char *help, NbhMetricType type);

/* labels is the rendered label set without braces, e.g.
 * `stream="a.csv",direction="read"` (build it with nbh_metrics_labels), or
 * "" for none.  The family must have been declared, else nothing happens.
 * Returns 0, or -1 when out of memory (the sample is lost). */
int nbh_metrics_add(NbhMetrics *metrics, const char *name, const char *labels,
                    double delta);
int nbh_metrics_set(NbhMetrics *metrics, const char *name, const char *labels,
                    double value);
int nbh_metrics_observe(NbhMetrics *metrics, const char *name,
                        const char *labels, double value);

/* A counter reported by a connector through NbHostApi.counter_add: family
 * nebula_connector_<name>_total (name reduced to [a-zA-Z0-9_]) with labels
 * connector and side ("source" or "destination"). */
int nbh_metrics_connector_add(NbhMetrics *metrics, const char *connector,
                              const char *side, const char *name,
                              int64_t delta);

/* Render `k1="v1",k2="v2"` with values escaped for the text format into
 * buf (capacity cap, always terminated).  pairs holds n keys and values
 * alternately. */
void nbh_metrics_labels(char *buf, size_t cap, const char *const *pairs,
                        size_t n);

/* The whole registry in Prometheus text exposition format 0.0.4; malloc'ed,
 * NULL when out of memory. */
char *nbh_metrics_render(NbhMetrics *metrics, size_t *len);

/* Serve GET /metrics on addr ("HOST:PORT", "[v6]:PORT", or ":PORT" for
 * 127.0.0.1; PORT 0 picks a free port) from libmicrohttpd's own thread.
 * *bound_port receives the port.  A non-loopback address is served with
 * a warning in logger (which may be NULL; borrowed for this call only).
 * Bounds: at most 16 connections (fewer when the descriptor limit is
 * below 128: an eighth of it), 4 per client address, 5 s per idle
 * connection, 16 KiB of request per connection; the soft descriptor
 * limit is raised to the hard one.  Other paths get 404, other methods
 * 405.  Returns NB_OK, NB_INVALID (address not understood), NB_IO (cannot
 * listen). */
int nbh_metrics_serve(NbhMetrics *metrics, const char *addr, NbhLogger *logger,
                      uint16_t *bound_port, NbError *err);

#endif /* NBH_METRICS_H */
