#include "arrow_connector.h"
int arrow_source_open(const NbHostApi *host, const NbOpenArgs *args, void **source, NbError *err) { (void)host; (void)args; *source = NULL; return nb_error_set(err, NB_NOT_IMPLEMENTED, "x"); }
int arrow_source_stream_count(void *source, uint32_t *count, NbError *err) { (void)source; (void)err; *count = 0; return NB_OK; }
int arrow_source_stream_info(void *source, uint32_t index, NbStreamInfo *out, NbError *err) { (void)source; (void)index; (void)out; return nb_error_set(err, NB_INVALID, "x"); }
int arrow_source_schema(void *source, uint32_t index, struct ArrowSchema *out, NbError *err) { (void)source; (void)index; (void)out; return nb_error_set(err, NB_INVALID, "x"); }
int arrow_source_seek(void *source, uint32_t index, const void *position, size_t position_len, NbError *err) { (void)source; (void)index; (void)position; (void)position_len; return nb_error_set(err, NB_INVALID, "x"); }
int arrow_source_next(void *source, uint32_t index, struct ArrowArray *out, NbBatchInfo *info, NbError *err) { (void)source; (void)index; (void)out; (void)info; return nb_error_set(err, NB_INVALID, "x"); }
void arrow_source_close(void *source) { (void)source; }
