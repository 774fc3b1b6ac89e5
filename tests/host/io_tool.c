/*
 * io_tool.c - drives the host's file layer from shell scripts (interop
 * tests, benchmarks):
 *   io_tool write [options] OUT < IN     copy stdin into OUT through the layer
 *   io_tool read  [options] IN > OUT     decode IN (or "-") to stdout
 *   io_tool codec IN                     print the detected codec
 * Options: -c COMPRESSION  -l LEVEL  -t ZSTD_THREADS  -r RESUME_LENGTH
 *          -b CHUNK (bytes per read/write call)  -m COMMIT_EVERY (bytes)
 *          -T auto|never|always (writer thread)  -s SKIP (bytes, read)
 *          -n (write: close without the final commit, so no fsync)
 *          -P PASSES (write: hash each chunk PASSES times before writing it,
 *             to stand in for a producer's own work, e.g. formatting)
 * After a write it prints the committed length on stderr as
 * "committed N".  Errors go to stderr with exit status 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "nebula/sdk.h"

typedef struct Options {
  const char *compression;
  int level;
  int threads;
  int64_t resume;
  size_t chunk;
  uint64_t commit_every;
  int threading;
  uint64_t skip;
  bool no_commit;
  int produce_passes;
} Options;

static int report(int rc, NbError *err) {
  fprintf(stderr, "io_tool: %s: %s\n", nb_status_name(rc),
          err->message ? err->message : "(no message)");
  if (err->detail) fprintf(stderr, "DETAIL: %s\n", err->detail);
  if (err->hint) fprintf(stderr, "HINT: %s\n", err->hint);
  nb_error_release(err);
  return 1;
}

static int write_stdout(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(STDOUT_FILENO, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int do_read(const char *path, const Options *o) {
  NbError err;
  nb_error_init(&err);
  NbFile *f = NULL;
  int rc = nbh_file_open_read(NULL, path, &f, &err);
  if (rc != NB_OK) return report(rc, &err);
  if (o->skip > 0) {
    rc = nbh_file_skip(f, o->skip, &err);
    if (rc != NB_OK) {
      nbh_file_close(f, NULL);
      return report(rc, &err);
    }
  }
  uint8_t *buf = malloc(o->chunk);
  if (buf == NULL) return 1;
  int status = 0;
  for (;;) {
    size_t n = 0;
    rc = nbh_file_read(f, buf, o->chunk, &n, &err);
    if (rc != NB_OK) {
      status = report(rc, &err);
      break;
    }
    if (n == 0) break;
    if (write_stdout(buf, n) != 0) {
      perror("io_tool: write");
      status = 1;
      break;
    }
  }
  free(buf);
  nbh_file_close(f, NULL);
  return status;
}

/* Work proportional to n bytes that the compiler cannot drop. */
static uint64_t produce(const uint8_t *p, size_t n, int passes) {
  uint64_t h = 1469598103934665603u;
  for (int k = 0; k < passes; k++)
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211u;
  return h;
}

static int do_write(const char *path, const Options *o) {
  NbError err;
  nb_error_init(&err);
  NbWriteOptions wo = {.struct_size = sizeof wo,
                       .compression = o->compression,
                       .level = o->level,
                       .threads = o->threads,
                       .resume_length = o->resume};
  NbFile *f = NULL;
  int rc = nbh_file_open_write_ex(path, &wo, o->threading, &f, &err);
  if (rc != NB_OK) return report(rc, &err);
  uint8_t *buf = malloc(o->chunk);
  if (buf == NULL) return 1;
  uint64_t since_commit = 0, length = 0;
  for (;;) {
    ssize_t n = read(STDIN_FILENO, buf, o->chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      perror("io_tool: read");
      free(buf);
      nbh_file_close(f, NULL);
      return 1;
    }
    if (n == 0) break;
    if (o->produce_passes > 0 && produce(buf, (size_t)n, o->produce_passes) == 42)
      fputc('.', stderr);
    rc = nbh_file_write(f, buf, (size_t)n, &err);
    if (rc == NB_OK && o->commit_every > 0 && (since_commit += (uint64_t)n) >= o->commit_every) {
      since_commit = 0;
      rc = nbh_file_commit(f, &length, &err);
    }
    if (rc != NB_OK) {
      free(buf);
      nbh_file_close(f, NULL);
      return report(rc, &err);
    }
  }
  free(buf);
  rc = o->no_commit ? NB_OK : nbh_file_commit(f, &length, &err);
  if (rc != NB_OK) {
    nbh_file_close(f, NULL);
    return report(rc, &err);
  }
  rc = nbh_file_close(f, &err);
  if (rc != NB_OK) return report(rc, &err);
  fprintf(stderr, "committed %" PRIu64 "\n", length);
  return 0;
}

static int usage(void) {
  fprintf(stderr, "usage: io_tool read|write|codec [-c comp] [-l level] [-t threads] "
                  "[-r resume] [-b chunk] [-m commit_every] [-T auto|never|always] "
                  "[-s skip] [-n] [-P passes] PATH\n");
  return 2;
}

int main(int argc, char **argv) {
  if (argc < 3) return usage();
  const char *cmd = argv[1];
  Options o = {.compression = NULL, .resume = -1, .chunk = 1 << 20};
  int opt;
  optind = 2;
  while ((opt = getopt(argc, argv, "c:l:t:r:b:m:T:s:nP:")) != -1) {
    switch (opt) {
      case 'c': o.compression = optarg; break;
      case 'l': o.level = atoi(optarg); break;
      case 't': o.threads = atoi(optarg); break;
      case 'r': o.resume = strtoll(optarg, NULL, 10); break;
      case 'b': o.chunk = strtoull(optarg, NULL, 10); break;
      case 'm': o.commit_every = strtoull(optarg, NULL, 10); break;
      case 's': o.skip = strtoull(optarg, NULL, 10); break;
      case 'n': o.no_commit = true; break;
      case 'P': o.produce_passes = atoi(optarg); break;
      case 'T':
        o.threading = strcmp(optarg, "never") == 0    ? NBH_THREAD_NEVER
                      : strcmp(optarg, "always") == 0 ? NBH_THREAD_ALWAYS
                                                      : NBH_THREAD_AUTO;
        break;
      default: return usage();
    }
  }
  if (optind != argc - 1 || o.chunk == 0) return usage();
  const char *path = argv[optind];
  if (strcmp(cmd, "read") == 0) return do_read(path, &o);
  if (strcmp(cmd, "write") == 0) return do_write(path, &o);
  if (strcmp(cmd, "codec") == 0) {
    NbError err;
    nb_error_init(&err);
    NbFile *f = NULL;
    int rc = nbh_file_open_read(NULL, path, &f, &err);
    if (rc != NB_OK) return report(rc, &err);
    printf("%s\n", nbh_file_codec(f));
    nbh_file_close(f, NULL);
    return 0;
  }
  return usage();
}
