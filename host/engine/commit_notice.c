/*
 * commit_notice.c - telling the source which positions are durable
 * (NbConnector.source_committed, ABI 1.2).
 *
 * The destination thread commits; the source thread alone may call the
 * source.  So a commit posts, per stream it moved, a copy of the committed
 * position on a board (StreamRun.notice, under e->lock), and the source
 * thread takes what is posted between two source_next calls.  A newer
 * post replaces one not yet taken: the source only needs the latest.
 */
#include "engine_internal.h"

/* Whether the two positions are the same bytes. */
static bool same_position(const uint8_t *a, size_t a_len, const uint8_t *b, size_t b_len) {
  return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static uint8_t *copy_position(const uint8_t *p, size_t len) {
  uint8_t *copy = malloc(len > 0 ? len : 1);
  if (copy != NULL && len > 0) memcpy(copy, p, len);
  return copy;
}

/* Post the stream's committed position if it moved since the last post.
 * Returns 1 when posted, 0 when it did not move, -1 when out of memory. */
static int post_one(Engine *e, StreamRun *st) {
  const NbhStreamState *p = &st->pending;
  uint8_t *board, *kept;
  if (p->position == NULL) return 0;
  if (st->posted != NULL &&
      same_position(st->posted, st->posted_len, p->position, p->position_len))
    return 0;
  board = copy_position(p->position, p->position_len);
  kept = copy_position(p->position, p->position_len);
  if (board == NULL || kept == NULL) {
    free(board);
    free(kept);
    return -1;
  }
  free(st->posted);
  st->posted = kept;
  st->posted_len = p->position_len;
  pthread_mutex_lock(&e->lock);
  free(st->notice);  /* not taken yet: the newer one replaces it */
  st->notice = board;
  st->notice_len = p->position_len;
  pthread_mutex_unlock(&e->lock);
  return 1;
}

void eng_post_commit(Engine *e) {
  bool posted = false;
  if (!e->source_takes_commits) return;
  for (uint32_t i = 0; i < e->n_streams; i++) {
    int rc = post_one(e, &e->streams[i]);
    if (rc < 0) {
      /* Not worth failing the run: the next commit or run confirms it. */
      nbh_log(e->logger, NB_LOG_WARN, "engine",
              "out of memory telling the source of commit %" PRIu64, e->commits_this_run);
      break;
    }
    if (rc > 0) posted = true;
  }
  if (posted) atomic_store(&e->commit_posted, 1);
}

void eng_take_commits(Engine *e) {
  if (!e->source_takes_commits || !atomic_exchange(&e->commit_posted, 0)) return;
  for (uint32_t i = 0; i < e->n_streams; i++) {
    StreamRun *st = &e->streams[i];
    uint8_t *position;
    size_t len;
    NbError err;
    pthread_mutex_lock(&e->lock);
    position = st->notice;
    len = st->notice_len;
    st->notice = NULL;
    pthread_mutex_unlock(&e->lock);
    if (position == NULL) continue;
    int rc = nbh_connection_committed(&e->source.conn, i, position, len, &err);
    if (rc != NB_OK) {
      nbh_connection_explain(&e->source.conn, "source_committed", rc, &err);
      nbh_log(e->logger, NB_LOG_WARN, e->source.conn.name,
              "could not confirm the committed position of stream \"%s\" to the source "
              "(a later commit or the next run confirms it): %s",
              st->name, err.message != NULL ? err.message : "no message");
    }
    nb_error_release(&err);
    free(position);
  }
}
