/*
 * loader.h - finding and loading connectors with libltdl.
 *
 * Search order: every --plugin-dir (in order), then each directory of
 * NEBULA_PLUGIN_PATH (':'-separated), then the compiled-in connector
 * directory.  Every "*.so" (and libtool "*.la") file in those directories is
 * tried; a bad file never stops the others, its error is kept in the set.
 * Modules are made resident and never unloaded.  Load from one thread only:
 * libltdl's error state is global.
 */
#ifndef NBH_LOADER_H
#define NBH_LOADER_H

#include <stddef.h>

#include "nebula/abi.h"

typedef struct NbhPlugin {
  char *path;              /* absolute path of the module, owned */
  NbConnector vtable;      /* copy of what the entry filled; fields beyond
                              the connector's struct_size are zero */
  uint32_t abi_version;    /* the connector's NB_ABI_VERSION */
} NbhPlugin;

typedef struct NbhLoadError {
  char *path;              /* file the error is about, owned */
  char *message;           /* primary message, owned */
  char *detail;            /* owned, may be NULL */
  char *hint;              /* owned, may be NULL */
} NbhLoadError;

typedef struct NbhPluginSet {
  NbhPlugin *plugins;      /* owned array */
  size_t n_plugins;
  NbhLoadError *errors;    /* owned array: files that were refused */
  size_t n_errors;
} NbhPluginSet;

/* Load every connector found in dirs (n_dirs explicit directories, then
 * NEBULA_PLUGIN_PATH, then NEBULA_CONNECTOR_DIR).  Returns 0, or -1 when
 * libltdl itself could not be initialised or memory ran out.  Refused files
 * are listed in set->errors; that is not a failure of this call. */
int nbh_plugins_load(const char *const *dirs, size_t n_dirs, NbhPluginSet *set);

/* Load one module by absolute path into set (used for the search above and
 * by tests).  Returns 0 when loaded, -1 when refused (error appended). */
int nbh_plugin_load_file(const char *path, NbhPluginSet *set);

const NbhPlugin *nbh_plugins_find(const NbhPluginSet *set, const char *name);
void nbh_plugins_free(NbhPluginSet *set);

#endif /* NBH_LOADER_H */
