/*
 * request_guard.c - the per-request deadline of the metrics server (see
 * request_guard.h): a table of open connections with the time their
 * current request began, and a thread that shuts down the sockets of those
 * past the deadline.
 */
#define _GNU_SOURCE
#include "request_guard.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "nebula/sdk.h"

/* How often the thread looks at the deadlines: a request is cut at most
 * this much after its deadline. */
#define CHECK_EVERY_MS 200

typedef struct Watched {
  struct MHD_Connection *connection; /* NULL: the slot is free */
  int fd;
  uint64_t since_ns;                 /* the current request's start */
  bool cut;                          /* shut down already */
} Watched;

struct NbhRequestGuard {
  pthread_mutex_t mu;
  pthread_cond_t cv;                 /* (CLOCK_MONOTONIC) wakes the thread to stop */
  bool stop;
  pthread_t thread;
  uint64_t deadline_ns;
  unsigned capacity;
  Watched *slots;
};

static Watched *find(NbhRequestGuard *g, const struct MHD_Connection *connection) {
  for (unsigned i = 0; i < g->capacity; i++)
    if (g->slots[i].connection == connection) return &g->slots[i];
  return NULL;
}

void nbh_request_guard_on_connection(void *cls, struct MHD_Connection *connection,
                                     void **socket_context,
                                     enum MHD_ConnectionNotificationCode code) {
  NbhRequestGuard *g = cls;
  (void)socket_context;
  pthread_mutex_lock(&g->mu);
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    Watched *w = find(g, NULL);
    /* No free slot cannot happen (the daemon keeps to capacity); such a
     * connection is then left to the idle timeout alone. */
    if (w != NULL && info != NULL) {
      w->connection = connection;
      w->fd = info->connect_fd;
      w->since_ns = nbh_monotonic_ns();
      w->cut = false;
    }
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    Watched *w = find(g, connection);
    if (w != NULL) w->connection = NULL;
  }
  pthread_mutex_unlock(&g->mu);
}

void nbh_request_guard_on_completed(void *cls, struct MHD_Connection *connection,
                                    void **request_context,
                                    enum MHD_RequestTerminationCode code) {
  NbhRequestGuard *g = cls;
  (void)request_context;
  (void)code;
  pthread_mutex_lock(&g->mu);
  Watched *w = find(g, connection);
  if (w != NULL) w->since_ns = nbh_monotonic_ns();
  pthread_mutex_unlock(&g->mu);
}

/* Under g->mu: shut down every connection past its deadline. */
static void cut_late(NbhRequestGuard *g) {
  uint64_t now = nbh_monotonic_ns();
  for (unsigned i = 0; i < g->capacity; i++) {
    Watched *w = &g->slots[i];
    if (w->connection == NULL || w->cut || now - w->since_ns <= g->deadline_ns) continue;
    /* The daemon sees end of file and closes the connection itself. */
    shutdown(w->fd, SHUT_RDWR);
    w->cut = true;
  }
}

static void *guard_main(void *arg) {
  NbhRequestGuard *g = arg;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    struct timespec until;
    cut_late(g);
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += CHECK_EVERY_MS * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
      until.tv_sec++;
      until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&g->cv, &g->mu, &until); /* a timeout or the stop */
  }
  pthread_mutex_unlock(&g->mu);
  return NULL;
}

static void guard_release(NbhRequestGuard *g) {
  pthread_cond_destroy(&g->cv);
  pthread_mutex_destroy(&g->mu);
  free(g->slots);
  free(g);
}

int nbh_request_guard_new(unsigned capacity, uint64_t deadline_ms, NbhRequestGuard **out,
                          NbError *err) {
  NbhRequestGuard *g = calloc(1, sizeof *g);
  pthread_condattr_t attr;
  *out = NULL;
  if (g == NULL || (g->slots = calloc(capacity ? capacity : 1, sizeof *g->slots)) == NULL) {
    free(g);
    return nb_error_set(err, NB_NOMEM, "out of memory for the metrics server's request guard");
  }
  g->capacity = capacity;
  g->deadline_ns = deadline_ms * 1000000ull;
  if (pthread_mutex_init(&g->mu, NULL) != 0) {
    free(g->slots);
    free(g);
    return nb_error_set(err, NB_NOMEM, "could not create a mutex for the metrics server");
  }
  if (pthread_condattr_init(&attr) != 0 ||
      pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
      pthread_cond_init(&g->cv, &attr) != 0) {
    pthread_mutex_destroy(&g->mu);
    free(g->slots);
    free(g);
    return nb_error_set(err, NB_NOMEM, "could not create a condition for the metrics server");
  }
  pthread_condattr_destroy(&attr);
  if (pthread_create(&g->thread, NULL, guard_main, g) != 0) {
    guard_release(g);
    return nb_error_set(err, NB_IO, "could not start the metrics server's request guard thread");
  }
  *out = g;
  return NB_OK;
}

void nbh_request_guard_free(NbhRequestGuard *g) {
  if (g == NULL) return;
  pthread_mutex_lock(&g->mu);
  g->stop = true;
  pthread_cond_signal(&g->cv);
  pthread_mutex_unlock(&g->mu);
  pthread_join(g->thread, NULL);
  guard_release(g);
}
