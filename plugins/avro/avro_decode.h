/*
 * avro_decode.h - decoding Avro binary values into Nebula columns.
 *
 * Each top-level column has a plan (avro_column_plan): the Nebula type it
 * is read as, and the Avro node its values follow.  Nested values
 * (records, arrays, maps, unions other than [null, T]) become one JSON
 * text per value (extension arrow.json); bytes and fixed without a logical
 * type become lowercase hex text; see docs/avro-connector.md.
 */
#ifndef AVRO_DECODE_H
#define AVRO_DECODE_H

#include "avro_buf.h"
#include "avro_schema_in.h"
#include "nebula/sdk.h"

typedef struct AvroColumn {
  NbField field;          /* name points into the schema */
  const AvroNode *node;   /* the value's node ([null, T] unwrapped) */
  int null_branch;        /* -1: not a nullable union; else the index of
                             "null" in the union (0 or 1) */
} AvroColumn;

/* The columns of a schema: the fields of a top-level record, or one
 * column "value".  *out is malloc'ed. */
int avro_columns(const AvroSchema *schema, AvroColumn **out, size_t *n, NbError *err);

/* Decode one record from c into the builder's columns, using scratch for
 * text.  false with a static reason in *why on bad data. */
bool avro_decode_record(const AvroSchema *schema, const AvroColumn *cols, size_t n,
                        NbBatchBuilder *builder, AvroCursor *c, AvroBuf *scratch,
                        const char **why);

#endif
