// Android's fixed user ids (AID_* of system/core's android_filesystem_config.h) and
// the scheme bionic's getpwuid uses for the rest: uid = user * 100000 + app id; app
// ids 10000..19999 are apps (u<user>_a<n>), 99000..99999 isolated processes
// (u<user>_i<n>), 50000..59999 shared app groups (all_a<n>), fixed ids of a secondary
// user are prefixed (u10_system).
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "output/user_names.hpp"

namespace vmitrace::output {
namespace {

struct AndroidId {
  uint32_t id;
  const char* name;
};

constexpr AndroidId kAndroidIds[] = {
    {0, "root"},          {1000, "system"},       {1001, "radio"},          {1002, "bluetooth"},
    {1003, "graphics"},   {1004, "input"},        {1005, "audio"},          {1006, "camera"},
    {1007, "log"},        {1008, "compass"},      {1009, "mount"},          {1010, "wifi"},
    {1011, "adb"},        {1012, "install"},      {1013, "media"},          {1014, "dhcp"},
    {1015, "sdcard_rw"},  {1016, "vpn"},          {1017, "keystore"},       {1018, "usb"},
    {1019, "drm"},        {1020, "mdnsr"},        {1021, "gps"},            {1023, "media_rw"},
    {1024, "mtp"},        {1026, "drmrpc"},       {1027, "nfc"},            {1028, "sdcard_r"},
    {1029, "clat"},       {1030, "loop_radio"},   {1031, "mediadrm"},       {1032, "package_info"},
    {1033, "sdcard_pics"}, {1034, "sdcard_av"},   {1035, "sdcard_all"},     {1036, "logd"},
    {1037, "shared_relro"}, {1038, "dbus"},       {1039, "tlsdate"},        {1040, "mediaex"},
    {1041, "audioserver"}, {1042, "metrics_coll"}, {1043, "metricsd"},      {1044, "webserv"},
    {1045, "debuggerd"},  {1046, "mediacodec"},   {1047, "cameraserver"},   {1048, "firewall"},
    {1049, "trunks"},     {1050, "nvram"},        {1051, "dns"},            {1052, "dns_tether"},
    {1053, "webview_zygote"}, {1054, "vehicle_network"}, {1055, "media_audio"}, {1056, "media_video"},
    {1057, "media_image"}, {1058, "tombstoned"},  {1059, "media_obb"},      {1060, "ese"},
    {1061, "ota_update"}, {1062, "automotive_evs"}, {1063, "lowpan"},       {1064, "hsm"},
    {1065, "reserved_disk"}, {1066, "statsd"},    {1067, "incidentd"},      {1068, "secure_element"},
    {1069, "lmkd"},       {1070, "llkd"},         {1071, "iorapd"},         {1072, "gpu_service"},
    {1073, "network_stack"}, {2000, "shell"},     {2001, "cache"},          {2002, "diag"},
    {3001, "net_bt_admin"}, {3002, "net_bt"},     {3003, "inet"},           {3004, "net_raw"},
    {3005, "net_admin"},  {3006, "net_bw_stats"}, {3007, "net_bw_acct"},    {3009, "readproc"},
    {3010, "wakelock"},   {3011, "uhid"},         {9997, "everybody"},      {9998, "misc"},
    {9999, "nobody"},
};

constexpr uint32_t kUserOffset = 100000;
constexpr uint32_t kAppStart = 10000, kAppEnd = 19999;
constexpr uint32_t kSharedGidStart = 50000, kSharedGidEnd = 59999;
constexpr uint32_t kIsolatedStart = 99000;

const char* fixed_name(uint32_t app_id) {
  for (const auto& a : kAndroidIds)
    if (a.id == app_id) return a.name;
  return nullptr;
}

}  // namespace

std::string_view android_user_name(uint32_t uid, std::string& buf) {
  const uint32_t user = uid / kUserOffset, app = uid % kUserOffset;
  buf.clear();
  if (app >= kIsolatedStart) fmt::format_to(std::back_inserter(buf), "u{}_i{}", user, app - kIsolatedStart);
  else if (app >= kAppStart && app <= kAppEnd) fmt::format_to(std::back_inserter(buf), "u{}_a{}", user, app - kAppStart);
  else if (user == 0 && app >= kSharedGidStart && app <= kSharedGidEnd)
    fmt::format_to(std::back_inserter(buf), "all_a{}", app - kSharedGidStart);
  else if (const char* n = fixed_name(app)) {
    if (user == 0) return n;
    fmt::format_to(std::back_inserter(buf), "u{}_{}", user, n);
  }
  return buf;
}

}  // namespace vmitrace::output
