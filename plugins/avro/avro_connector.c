/*
 * avro_connector.c - the avro connector's description: settings and
 * vtable, handed to the host by NB_CONNECTOR_EXPORT.
 *
 * Avro object container files (Apache Avro 1.11 specification), read and
 * written by our own code: the container (header, blocks, sync markers)
 * and the binary encoding are small, and writing them ourselves lets a
 * resumed run append blocks to a file at a committed block boundary with
 * the file's own sync marker, which libavro's file writer cannot do.  The
 * schema (JSON) is parsed with jansson.  See avro_source.c, avro_dest.c
 * and docs/avro-connector.md.
 */
#include "avro_codec.h"
#include "avro_connector.h"

static const NbSettingSpec avro_settings[] = {
    NB_SETTING(NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
               "file to read (a glob pattern, \"-\" for standard input) or to write (\"{stream}\" is replaced by the stream's base name)"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_SOURCE, "max_block_bytes", "268435456", NULL,
               "largest block accepted, compressed or not; a larger one is an error naming the file and the block's offset"),
    NB_SETTING(NB_SETTING_ENUM, NB_SETTING_DEST, "codec", "null", AVRO_CODEC_CHOICES,
               "block compression written in avro.codec"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "compression_level", "0", NULL,
               "codec level (1..9 for deflate, 1..22 for zstandard); 0 is the codec's default"),
    NB_SETTING(NB_SETTING_INT, NB_SETTING_DEST, "block_bytes", "1048576", NULL,
               "a block is written once its records take this many bytes before compression (and at every commit)"),
};

static const NbConnector avro_connector = {
    .name = "avro",
    .version = "1.0.0",
    .description = "Apache Avro object container files (codecs null, deflate, snappy, zstandard)",
    .capabilities = NB_CAP_SOURCE | NB_CAP_DESTINATION | NB_CAP_RESUMABLE,
    .settings = avro_settings,
    .n_settings = NB_COUNT(avro_settings),
    .source_open = avro_source_open,
    .source_stream_count = avro_source_stream_count,
    .source_stream_info = avro_source_stream_info,
    .source_schema = avro_source_schema,
    .source_seek = avro_source_seek,
    .source_next = avro_source_next,
    .source_close = avro_source_close,
    .dest_open = avro_dest_open,
    .dest_prepare = avro_dest_prepare,
    .dest_write = avro_dest_write,
    .dest_commit = avro_dest_commit,
    .dest_close = avro_dest_close,
};

NB_CONNECTOR_EXPORT(avro_connector)
