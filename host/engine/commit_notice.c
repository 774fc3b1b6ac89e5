/*
 * commit_notice.c - which positions are durable, for the source that asks
 * (NbHostApi.committed_position, ABI 1.2).
 *
 * The destination thread commits; a source asks from its own thread, also
 * while it waits for new data inside source_next (a replication stream
 * that is idle still holds the server's WAL).  So each commit posts, per
 * stream it moved, a copy of the committed position on a board
 * (StreamRun.committed, under e->lock), and the host slot copies the
 * latest out.  Nothing is pushed into the source: it asks when it likes.
 */
#include "engine_internal.h"

/* Post the stream's committed position unless the board already holds
 * it.  Returns false when out of memory. */
static bool post_one(Engine *e, StreamRun *st) {
  const NbhStreamState *p = &st->pending;
  uint8_t *copy, *old;
  if (p->position == NULL) return true;
  copy = malloc(p->position_len > 0 ? p->position_len : 1);
  if (copy == NULL) return false;
  if (p->position_len > 0) memcpy(copy, p->position, p->position_len);
  pthread_mutex_lock(&e->lock);
  if (st->committed != NULL && st->committed_len == p->position_len &&
      memcmp(st->committed, copy, p->position_len) == 0) {
    old = copy; /* unchanged: keep the board as it is */
  } else {
    old = st->committed;
    st->committed = copy;
    st->committed_len = p->position_len;
  }
  pthread_mutex_unlock(&e->lock);
  free(old);
  return true;
}

void eng_post_commit(Engine *e) {
  for (uint32_t i = 0; i < e->n_streams; i++) {
    if (!post_one(e, &e->streams[i])) {
      /* Not worth failing the run: the next commit or run posts it. */
      nbh_log(e->logger, NB_LOG_WARN, "engine",
              "out of memory posting the position of commit %" PRIu64, e->commits_this_run);
      return;
    }
  }
}

int eng_committed_position(void *owner, uint32_t index, void *buf, size_t cap, size_t *len) {
  Side *side = owner;
  Engine *e = side->engine;
  int rc = NB_END;
  if (!atomic_load(&e->streams_listed) || index >= e->n_streams) return NB_INVALID;
  pthread_mutex_lock(&e->lock);
  StreamRun *st = &e->streams[index];
  if (st->committed != NULL) {
    *len = st->committed_len;
    rc = NB_INVALID;
    if (cap >= st->committed_len && (buf != NULL || st->committed_len == 0)) {
      if (st->committed_len > 0) memcpy(buf, st->committed, st->committed_len);
      rc = NB_OK;
    }
  }
  pthread_mutex_unlock(&e->lock);
  return rc;
}
