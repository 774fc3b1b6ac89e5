/*
 * loader.h - finding and loading connectors with libltdl.
 *
 * Search order: every --plugin-dir (in order), then each directory of
 * NEBULA_PLUGIN_PATH (':'-separated), then the compiled-in connector
 * directory unless NEBULA_NO_DEFAULT_PLUGIN_DIR is set to a value other
 * than "" or "0" (make check sets it: tests must not load what happens to
 * be installed).  In each directory DIR, every regular "*.so" file in DIR,
 * DIR/.libs, DIR/<sub>/ and DIR/<sub>/.libs is tried (one level down, so an
 * uninstalled build tree works: plugins/csv/.libs/csv.so), sorted by path;
 * a file reached twice (same realpath) is tried once.  A bad file never
 * stops the others: its error is kept in the set.  Modules are made
 * resident and never unloaded.  Load from one thread only: libltdl's error
 * state is global.
 */
#ifndef NBH_LOADER_H
#define NBH_LOADER_H

#include <stdbool.h>
#include <stddef.h>

#include "nebula/abi.h"
#include "storage.h"

typedef struct NbhPlugin {
  char *path;              /* absolute path of the module, owned */
  NbConnector vtable;      /* copy of what the entry filled; fields beyond
                              the connector's struct_size are zero.  Its
                              strings and settings point into the module,
                              which stays loaded for the whole process. */
  uint32_t abi_version;    /* the connector's NB_ABI_VERSION */
  void *module;            /* the libltdl handle (lt_dlhandle), resident */
  const NbhStorageList *storages; /* the set's storage modules (borrowed;
                              filled as the search goes on), for routing
                              the paths of this connector's connections */
  NbSettingSpec *merged_settings; /* owned, or NULL: with
                              NB_CAP_HOST_FILE_COMPRESSION, the connector's
                              declarations followed by the host's file
                              compression settings; vtable.settings points
                              here then */
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
  char **searched;         /* owned: the directories searched, in order,
                              each followed by where it came from, e.g.
                              "/opt/nb (NEBULA_PLUGIN_PATH)" */
  size_t n_searched;
  int ltdl_ready;          /* lt_dlinit was called for this set (its
                              reference is never dropped, see
                              nbh_plugins_free) */
  NbhStorageList *storages; /* owned, allocated by nbh_plugins_start:
                              storage modules (files exporting
                              nebula_storage_entry, abi.h) */
  bool load_storage;       /* a search by names loads the storage modules
                              too (files storage_*.so): set it after
                              nbh_plugins_init when a path has a scheme */
  const char **loading;    /* not owned, may be NULL: while connector code
                              runs (constructors, the entry) the loader
                              stores there the path of the file, and NULL
                              after, so that a connector calling exit() can
                              be named by an atexit handler of main().
                              Set it after nbh_plugins_init. */
} NbhPluginSet;

/* Zero a set before the first nbh_plugin_load_file on it (nbh_plugins_load
 * does it itself). */
void nbh_plugins_init(NbhPluginSet *set);

/* Load every connector found in dirs (n_dirs explicit directories, then
 * NEBULA_PLUGIN_PATH, then NEBULA_CONNECTOR_DIR unless
 * NEBULA_NO_DEFAULT_PLUGIN_DIR says not to).  Returns 0, or -1 when
 * libltdl itself could not be initialised or memory ran out.  Refused files
 * are listed in set->errors; that is not a failure of this call.  The same
 * as nbh_plugins_init and nbh_plugins_search with no names. */
int nbh_plugins_load(const char *const *dirs, size_t n_dirs, NbhPluginSet *set);

/* Search the same path into an initialised set (set->loading may be set).
 * With n_names == 0, load every file found (what `list` needs).  Else load
 * only what the names need, so that an unrelated broken connector cannot
 * get in the way: for each name, the files named NAME.so in search order,
 * until one provides it.  A name no such file provides makes the search
 * load every file, as before (a connector's file may be named otherwise).
 * Dangling or looping *.so links and unreadable directories are recorded
 * in set->errors.  Returns as nbh_plugins_load. */
int nbh_plugins_search(NbhPluginSet *set, const char *const *dirs, size_t n_dirs,
                       const char *const *names, size_t n_names);

/* For search.c: start libltdl for set (0, or -1 recorded in set->errors),
 * and record a refusal or a warning about path, taking ownership of
 * message, detail and hint (each may be NULL after an allocation failure).
 * nbh_plugins_refuse always returns -1. */
int nbh_plugins_start(NbhPluginSet *set);
int nbh_plugins_refuse(NbhPluginSet *set, const char *path, char *message, char *detail,
                       char *hint);

/* Load one module by absolute path into set (used for the search above and
 * by tests).  Returns 0 when loaded, -1 when refused (error appended). */
int nbh_plugin_load_file(const char *path, NbhPluginSet *set);

const NbhPlugin *nbh_plugins_find(const NbhPluginSet *set, const char *name);
/* Free the set.  The modules stay mapped (resident), and libltdl stays
 * initialised: function pointers copied from them remain valid. */
void nbh_plugins_free(NbhPluginSet *set);

/* Entry i (< c->n_settings) of a connector's settings table.  Steps by the
 * connector's own sizeof(NbSettingSpec), settings[0].struct_size, so a
 * table built against another minor version is read correctly.  Only for
 * connectors the loader accepted (it checks the sizes). */
const NbSettingSpec *nbh_connector_setting(const NbConnector *c, uint32_t i);

/* Non-zero when the plugin's module is marked resident in libltdl. */
int nbh_plugin_is_resident(const NbhPlugin *plugin);

/* "1.4" for NB_ABI_VERSION(1, 4), into buf (16 bytes are enough); returns
 * buf. */
const char *nbh_abi_version_text(uint32_t version, char *buf, size_t cap);

#endif /* NBH_LOADER_H */
