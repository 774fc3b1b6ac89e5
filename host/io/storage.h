/*
 * storage.h - routing paths to storage modules (abi.h, "Storage modules").
 *
 * A path with a URL scheme ("s3://bucket/key") is served by the loaded
 * storage module that declares the scheme; a path without one, or with
 * "file://", is the local file layer (io.h).  The list of modules is owned
 * by the plugin set (loader.h) and only read here.
 */
#ifndef NBH_STORAGE_H
#define NBH_STORAGE_H

#include <stddef.h>

#include "nebula/abi.h"

typedef struct NbhStorageList {
  NbStorage *modules;   /* copies of what the entries filled; owned */
  char **paths;         /* the module files, owned */
  size_t n;
} NbhStorageList;

/* Where a path goes. */
typedef struct NbhRoute {
  const NbStorage *module; /* NULL: the local file layer */
  const char *local_path;  /* local: the path without "file://" */
} NbhRoute;

/* Route path.  Returns NB_OK, or NB_INVALID naming the scheme and the
 * package that provides it when no module serves it (list may be NULL:
 * no modules).  A scheme is [a-z][a-z0-9+.-]* before "://". */
int nbh_storage_route(const NbhStorageList *list, const char *path, NbhRoute *out,
                      NbError *err);

/* The module serving scheme (the bytes scheme[0..len)), or NULL. */
const NbStorage *nbh_storage_find(const NbhStorageList *list, const char *scheme, size_t len);

/* Append a module (its vtable copied) loaded from path.  Returns 0 or -1
 * when memory ran out. */
int nbh_storage_list_add(NbhStorageList *list, const NbStorage *module, const char *path);

void nbh_storage_list_free(NbhStorageList *list);

/* NbHostApi.file_list for a connection: local patterns with glob(3),
 * scheme patterns with the module's object_list (host is passed on). */
int nbh_storage_file_list(const NbhStorageList *list, const NbHostApi *host,
                          const char *pattern,
                          int (*each)(void *cookie, const char *path, int64_t size_bytes),
                          void *cookie, NbError *err);

#endif /* NBH_STORAGE_H */
