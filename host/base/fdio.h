/*
 * fdio.h - descriptor I/O shared by the file layer (io_write.c) and the
 * state file (state.c).
 */
#ifndef NBH_FDIO_H
#define NBH_FDIO_H

#include <stddef.h>

/* write(2) all of buf[0..len), retrying on EINTR.  Returns 0, or -1 with
 * errno (EIO when write(2) makes no progress). */
int nbh_write_all(int fd, const void *buf, size_t len);

#endif /* NBH_FDIO_H */
