/*
 * nebula_abi_1_0.h - FROZEN copy of the structs of Nebula's connector ABI
 * 1.0 (include/nebula/abi.h as released), with renamed types.
 *
 * Never edit this file.  It is what a connector built in the ABI 1.0 days
 * compiled against: test_sdk_abi compares every field offset of the current
 * abi.h with it (a moved, removed or resized field fails), and
 * connector_v1_0.c is built against it alone, so the current loader is
 * tested with an "old connector".  A new minor adds fields at the end of the
 * current structs; a new major gets its own frozen header next to this one.
 */
#ifndef NEBULA_ABI_1_0_H
#define NEBULA_ABI_1_0_H

#include <stddef.h>
#include <stdint.h>

#include "nebula/arrow_c.h"

#define NB10_ABI_VERSION 1000000u
#define NB10_ENTRY_SYMBOL "nebula_connector_entry"

enum {
  NB10_OK = 0, NB10_END = 1, NB10_SCHEMA_CHANGED = 2, NB10_INVALID = 3,
  NB10_IO = 4, NB10_UNAVAILABLE = 5, NB10_DATA = 6, NB10_CANCELLED = 7,
  NB10_NOT_IMPLEMENTED = 8, NB10_INTERNAL = 9, NB10_NOMEM = 10,
  NB10_ABI_MISMATCH = 11, NB10_NOT_FOUND = 12
};

enum {
  NB10_SETTING_STRING = 1, NB10_SETTING_INT = 2, NB10_SETTING_DOUBLE = 3,
  NB10_SETTING_BOOL = 4, NB10_SETTING_ENUM = 5
};
#define NB10_SETTING_REQUIRED 0x1u
#define NB10_SETTING_SECRET 0x2u
#define NB10_SETTING_SOURCE 0x4u
#define NB10_SETTING_DEST 0x8u

#define NB10_CAP_SOURCE 0x1u
#define NB10_CAP_DESTINATION 0x2u
#define NB10_CAP_RESUMABLE 0x4u

typedef struct NbError_v1_0 {
  uint32_t struct_size;
  int32_t code;
  char *message;
  char *detail;
  char *hint;
  char *location;
  int64_t line;
  int64_t column;
  char *record;
  size_t record_len;
  void (*release)(struct NbError_v1_0 *error);
  void *private_data;
} NbError_v1_0;

typedef struct NbSettingSpec_v1_0 {
  uint32_t struct_size;
  uint32_t type;
  uint32_t flags;
  const char *name;
  const char *default_value;
  const char *choices;
  const char *doc;
} NbSettingSpec_v1_0;

typedef struct NbSettings_v1_0 {
  uint32_t struct_size;
  uint32_t count;
  const char *const *names;
  const char *const *values;
} NbSettings_v1_0;

typedef struct NbFile_v1_0 NbFile_v1_0;

typedef struct NbWriteOptions_v1_0 {
  uint32_t struct_size;
  const char *compression;
  int32_t level;
  int32_t threads;
  int64_t resume_length;
} NbWriteOptions_v1_0;

typedef struct NbHostApi_v1_0 {
  uint32_t struct_size;
  uint32_t abi_version;
  void *host_data;
  void (*log)(void *host_data, int level, const char *message);
  int (*is_cancelled)(void *host_data);
  void (*counter_add)(void *host_data, const char *name, int64_t delta);
  int (*file_open_read)(void *host_data, const char *path, NbFile_v1_0 **out,
                        NbError_v1_0 *err);
  int (*file_read)(NbFile_v1_0 *file, void *buf, size_t capacity,
                   size_t *n_read, NbError_v1_0 *err);
  int (*file_open_write)(void *host_data, const char *path,
                         const NbWriteOptions_v1_0 *options,
                         NbFile_v1_0 **out, NbError_v1_0 *err);
  int (*file_write)(NbFile_v1_0 *file, const void *buf, size_t len,
                    NbError_v1_0 *err);
  int (*file_commit)(NbFile_v1_0 *file, uint64_t *durable_length,
                     NbError_v1_0 *err);
  int (*file_close)(NbFile_v1_0 *file, NbError_v1_0 *err);
  int (*file_skip)(NbFile_v1_0 *file, uint64_t n, NbError_v1_0 *err);
} NbHostApi_v1_0;

typedef struct NbOpenArgs_v1_0 {
  uint32_t struct_size;
  const NbSettings_v1_0 *settings;
  uint64_t batch_rows;
  uint64_t batch_bytes;
  const void *state;
  size_t state_len;
} NbOpenArgs_v1_0;

typedef struct NbStreamInfo_v1_0 {
  uint32_t struct_size;
  const char *name;
  int64_t size_bytes;
} NbStreamInfo_v1_0;

typedef struct NbBatchInfo_v1_0 {
  uint32_t struct_size;
  const void *position;
  size_t position_len;
  int64_t bytes_read;
} NbBatchInfo_v1_0;

typedef struct NbConnector_v1_0 {
  uint32_t struct_size;
  uint32_t abi_version;
  const char *name;
  const char *version;
  const char *description;
  uint64_t capabilities;
  const NbSettingSpec_v1_0 *settings;
  uint32_t n_settings;
  int (*source_open)(const NbHostApi_v1_0 *host, const NbOpenArgs_v1_0 *args,
                     void **source, NbError_v1_0 *err);
  int (*source_stream_count)(void *source, uint32_t *count, NbError_v1_0 *err);
  int (*source_stream_info)(void *source, uint32_t index,
                            NbStreamInfo_v1_0 *out, NbError_v1_0 *err);
  int (*source_schema)(void *source, uint32_t index, struct ArrowSchema *out,
                       NbError_v1_0 *err);
  int (*source_seek)(void *source, uint32_t index, const void *position,
                     size_t position_len, NbError_v1_0 *err);
  int (*source_next)(void *source, uint32_t index, struct ArrowArray *out,
                     NbBatchInfo_v1_0 *info, NbError_v1_0 *err);
  void (*source_close)(void *source);
  int (*dest_open)(const NbHostApi_v1_0 *host, const NbOpenArgs_v1_0 *args,
                   void **dest, NbError_v1_0 *err);
  int (*dest_prepare)(void *dest, const char *stream_name,
                      const struct ArrowSchema *schema, uint32_t *dest_stream,
                      NbError_v1_0 *err);
  int (*dest_write)(void *dest, uint32_t dest_stream,
                    const struct ArrowArray *batch, NbError_v1_0 *err);
  int (*dest_commit)(void *dest, const void **state, size_t *state_len,
                     NbError_v1_0 *err);
  void (*dest_close)(void *dest);
} NbConnector_v1_0;

typedef int (*NbConnectorEntryFn_v1_0)(uint32_t host_abi,
                                       NbConnector_v1_0 *out,
                                       NbError_v1_0 *err);

#endif /* NEBULA_ABI_1_0_H */
