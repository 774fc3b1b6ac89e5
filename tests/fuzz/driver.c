/*
 * driver.c - replays inputs through a harness's LLVMFuzzerTestOneInput
 * without libFuzzer, so `make check` runs the seed corpora and every
 * regression input with the normal compiler (and under the sanitizer build
 * when there is one).
 *
 *   fuzz_<name> FILE|DIR...     each file, and each regular file of each
 *                               directory, is one input
 *
 * Prints one line per input to stderr before running it (the last line
 * names the input that crashed) and exits 0 when every input ran.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <stdbool.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Inputs larger than this are not fuzz inputs (libFuzzer's default
 * -max_len is 4096; the regression files are small). */
#define REPLAY_MAX_INPUT ((size_t)64 << 20)

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t cap = 4096, len = 0;
  uint8_t *buf = malloc(cap);
  for (;;) {
    if (buf == NULL) break;
    if (len == cap) {
      if (cap >= REPLAY_MAX_INPUT) break;
      uint8_t *bigger = realloc(buf, cap * 2);
      if (bigger == NULL) break;
      buf = bigger;
      cap *= 2;
    }
    size_t n = fread(buf + len, 1, cap - len, f);
    if (n == 0) break;
    len += n;
  }
  bool failed = buf == NULL || ferror(f) || len == cap;
  fclose(f);
  if (failed) {
    fprintf(stderr, "cannot read %s (or larger than %zu bytes)\n", path, REPLAY_MAX_INPUT);
    free(buf);
    return -1;
  }
  fprintf(stderr, "running %s (%zu bytes)\n", path, len);
  /* A copy of exactly len bytes, so reads past the input are caught. */
  uint8_t *exact = malloc(len ? len : 1);
  if (exact == NULL) {
    free(buf);
    return -1;
  }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int compare_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file of dir, in name order (a stable replay). */
static int run_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL) {
    fprintf(stderr, "cannot open directory %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char **names = NULL;
  size_t n = 0, cap = 0;
  int rc = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 16;
      char **more = realloc(names, cap * sizeof *names);
      if (more == NULL) {
        rc = -1;
        break;
      }
      names = more;
    }
    if (asprintf(&names[n], "%s/%s", dir, e->d_name) < 0) {
      rc = -1;
      break;
    }
    n++;
  }
  closedir(d);
  qsort(names, n, sizeof *names, compare_names);
  for (size_t i = 0; i < n; i++) {
    struct stat st;
    if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) rc = run_file(names[i]);
    free(names[i]);
  }
  free(names);
  return rc;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
    return 2;
  }
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "cannot stat %s: %s\n", argv[i], strerror(errno));
      return 1;
    }
    int rc = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_file(argv[i]);
    if (rc != 0) return 1;
  }
  return 0;
}
