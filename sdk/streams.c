/*
 * streams.c - what every source says about its streams the same way: an
 * index out of range (source_stream_info, source_schema, source_seek...).
 */
#include "sdk_internal.h"

int nb_stream_index_check(uint32_t index, size_t n_streams, NbError *err) {
  if (index < n_streams) return NB_OK;
  nb_error_set(err, NB_INVALID, "stream index %u is out of range: the source has %zu stream%s",
               (unsigned)index, n_streams, n_streams == 1 ? "" : "s");
  return NB_INVALID;
}
