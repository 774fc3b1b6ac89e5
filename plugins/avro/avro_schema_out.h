/*
 * avro_schema_out.h - the Avro schema (JSON text) of a Nebula schema, for
 * the header of the files the destination writes.
 *
 * The top level is a record "nebula_row"; each column a field.  Avro names
 * must match [A-Za-z_][A-Za-z0-9_]*: another column name is written with
 * every other character replaced by '_' (a leading digit gets a '_' in
 * front, a name taken twice a "_2", "_3"... suffix), and the original name
 * kept in the field's "nebula.name" property, which the avro source reads
 * back.  A nullable column is the union ["null", T].  See
 * docs/avro-connector.md for the type of each column type.
 */
#ifndef AVRO_SCHEMA_OUT_H
#define AVRO_SCHEMA_OUT_H

#include "avro_buf.h"
#include "nebula/sdk.h"

/* Append the schema of fields[0..n) to out (JSON text, not
 * NUL-terminated).  NB_OK or NB_NOMEM. */
int avro_schema_write(const NbField *fields, size_t n, AvroBuf *out);

#endif
