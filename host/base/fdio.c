/*
 * fdio.c - descriptor I/O shared by the host's parts (see fdio.h).
 */
#include "fdio.h"

#include <errno.h>
#include <unistd.h>

int nbh_write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (n == 0) {
      errno = EIO;
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
