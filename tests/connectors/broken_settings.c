/*
 * broken_settings.c - a test connector declaring an enum setting without
 * choices.  The host must refuse it naming the setting.
 */
#include "broken_common.h"

static const NbSettingSpec bad_settings[] = {
    {sizeof(NbSettingSpec), NB_SETTING_STRING, NB_SETTING_REQUIRED, "path", NULL, NULL, "input"},
    {sizeof(NbSettingSpec), NB_SETTING_ENUM, 0, "mode", NULL, NULL, "how to read"},
};

NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err);
NB_EXPORT int nebula_connector_entry(uint32_t host_abi, NbConnector *out, NbError *err) {
  (void)host_abi, (void)err;
  inert_fill(out, "brokensettings", NB_ABI_CURRENT);
  out->settings = bad_settings;
  out->n_settings = 2;
  return NB_OK;
}
