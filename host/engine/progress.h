/*
 * progress.h - the live progress line on stderr: records, bytes, rate and,
 * when the sources know their sizes, an ETA.  Drawn only on a terminal and
 * at most four times a second, so it costs nothing when nobody watches.
 */
#ifndef NBH_PROGRESS_H
#define NBH_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NBH_PROGRESS_INTERVAL_NS 250000000ull

typedef struct NbhProgressSample {
  uint64_t records;        /* records written so far */
  uint64_t rejected;       /* bad records so far */
  uint64_t bytes;          /* batch bytes moved so far */
  uint64_t input_done;     /* input bytes consumed, in the sources' units */
  int64_t input_total;     /* total input bytes, -1 when unknown */
} NbhProgressSample;

typedef struct NbhProgress {
  FILE *out;
  bool enabled;
  bool drawn;              /* a line is on screen */
  uint64_t start_ns;
  uint64_t last_draw_ns;
} NbhProgress;

/* enabled when want is true and out is a terminal. */
void nbh_progress_init(NbhProgress *progress, FILE *out, bool want,
                       uint64_t now_ns);
/* Redraw if enabled and at least NBH_PROGRESS_INTERVAL_NS passed. */
void nbh_progress_update(NbhProgress *progress, const NbhProgressSample *sample,
                         uint64_t now_ns);
/* Erase the line so the summary starts on a clean line. */
void nbh_progress_finish(NbhProgress *progress);

/* The text of the line (without \r), for tests. */
size_t nbh_progress_format(char *buf, size_t cap, const NbhProgressSample *sample,
                           double elapsed_seconds);

#endif /* NBH_PROGRESS_H */
