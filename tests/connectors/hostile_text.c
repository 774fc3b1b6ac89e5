/*
 * hostile_text.c - a valid test connector ("hostiletext") whose texts try
 * to take over the terminal: ESC sequences, a newline followed by a forged
 * "nebula-host:" line (a carriage return where a setting's doc must be one
 * line), a C1 control (CSI, U+009B), a bidirectional
 * override, bytes that are not UTF-8, and a 10 KB description.  The host
 * must print every one of them escaped and the long one cut short.
 */
#include <string.h>

#include "broken_common.h"

#define FORGED "\nnebula-host: forged line"

static char long_text[10 * 1024 + 1];

static const NbSettingSpec hostile_settings[] = {
    {sizeof(NbSettingSpec), NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL,
     "file\033[2J to read\rnebula-host: forged line"},
    {sizeof(NbSettingSpec), NB_SETTING_STRING, 0, "label", "x\033[31mred\xc2\x9b" "1m", NULL,
     "bidi \xe2\x80\xae" "override"},
    {sizeof(NbSettingSpec), NB_SETTING_ENUM, 0, "mode", "a", "a|b\033[0m", "enum \xff\xfe"},
};

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  memset(long_text, 'd', sizeof long_text - 1);
  inert_fill(out, "hostiletext", NB_ABI_CURRENT);
  out->version = "1.0\033[2J\033[H" FORGED;
  out->description = long_text;
  out->settings = hostile_settings;
  out->n_settings = 3;
  return NB_OK;
}
