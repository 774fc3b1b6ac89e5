/*
 * fuzz.h - what every harness in tests/fuzz/ shares.  Each fuzz_<name>.c
 * defines LLVMFuzzerTestOneInput; it is linked either with libFuzzer
 * (tests/fuzz/run.sh, clang) or with driver.c (make check replays the seed
 * corpus and the regression inputs through the same entry point, gcc).
 *
 * A harness reports a finding by crashing: a sanitizer report, or
 * fuzz_fail() for a broken invariant (no progress, a result that does not
 * read back).  Inputs are never written anywhere but memory files.
 */
#ifndef NEBULA_FUZZ_H
#define NEBULA_FUZZ_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A broken invariant: say which and abort, so both libFuzzer and the
 * replay driver report the input. */
#define fuzz_fail(...)                                              \
  do {                                                              \
    fprintf(stderr, "fuzz invariant broken (%s:%d): ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__);                                   \
    fputc('\n', stderr);                                            \
    abort();                                                        \
  } while (0)

/* Take the first byte of the input as a choice (0 when empty). */
static inline uint8_t fuzz_take(const uint8_t **data, size_t *size) {
  if (*size == 0) return 0;
  uint8_t b = **data;
  (*data)++;
  (*size)--;
  return b;
}

/* Put data in an anonymous memory file and give a path that opens it
 * ("/proc/self/fd/N").  Returns the descriptor (the caller closes it), or
 * -1 when the file cannot be made (the harness then skips the input). */
static inline int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t cap) {
  int fd = memfd_create("nebula-fuzz", MFD_CLOEXEC);
  if (fd < 0) return -1;
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      close(fd);
      return -1;
    }
    done += (size_t)n;
  }
  snprintf(path, cap, "/proc/self/fd/%d", fd);
  return fd;
}

#endif /* NEBULA_FUZZ_H */
