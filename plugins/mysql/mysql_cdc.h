/*
 * mysql_cdc.h - mode "cdc": one table's changes read from the binary log
 * as a replica (MariaDB Connector/C's replication API), as records
 * _op, the columns, before_<column>..., _binlog_file, _binlog_pos, _gtid,
 * _ts; with snapshot = true first the table's rows (op r) in a consistent
 * snapshot (mysql_snapshot.c).  mysql_source.c owns the streams and calls
 * these.
 */
#ifndef MYSQL_CDC_H
#define MYSQL_CDC_H

#include "mysql_internal.h"

typedef struct MyCdcSettings {
  int64_t server_id;     /* replica server id; stream i uses server_id + i */
  bool stop_at_catchup;  /* end the stream at the end of the binlog */
  const char *start_file; /* first run: binlog file (default: current) */
  int64_t start_pos;     /* first run: position in start_file */
  const char *start_gtid; /* first run: MariaDB GTID position to start after */
  int64_t heartbeat_seconds;
  bool snapshot;         /* first run: read the table's rows (op r) first */
} MyCdcSettings;

typedef struct MyCdc MyCdc;

int my_cdc_new(const NbHostApi *host, const MyConnConfig *cfg, const MyCdcSettings *set,
               const char *table, uint32_t index, uint64_t batch_rows, uint64_t batch_bytes,
               MyCdc **out, NbError *err);
void my_cdc_free(MyCdc *c);
int my_cdc_schema(MyCdc *c, struct ArrowSchema *out, NbError *err);
int my_cdc_seek(MyCdc *c, const void *position, size_t len, NbError *err);
int my_cdc_next(MyCdc *c, struct ArrowArray *out, NbBatchInfo *info, NbError *err);

#endif /* MYSQL_CDC_H */
