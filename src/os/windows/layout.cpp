// Resolves, once, the Windows structure offsets and symbols the hot path needs.
#include "os/windows/layout.hpp"

#include <array>
#include <span>
#include <utility>

#include "common/error.hpp"

namespace vmitrace::oswin {
namespace {

class Resolver {
 public:
  Resolver(const profile::Profile& p, const std::string& what) : p_(p), what_(what) {}

  // First of the alternative dotted paths the profile has; kNone when none.
  uint32_t off(std::string_view type, std::span<const std::string_view> fields) const {
    for (auto f : fields)
      if (auto o = p_.field_offset(type, f); o && *o < (1u << 20)) return static_cast<uint32_t>(*o);
    return kNone;
  }
  uint32_t need(std::string_view type, std::span<const std::string_view> fields) const {
    uint32_t o = off(type, fields);
    if (o == kNone)
      throw Error(what_, "Windows profile lacks " + std::string(type) + "." + std::string(fields[0]));
    return o;
  }
  uint32_t off(std::string_view type, std::initializer_list<std::string_view> fields) const {
    return off(type, std::span(fields.begin(), fields.size()));
  }
  uint32_t need(std::string_view type, std::initializer_list<std::string_view> fields) const {
    return need(type, std::span(fields.begin(), fields.size()));
  }
  uint32_t size(std::string_view type) const {
    auto s = p_.struct_size(type);
    return s && *s < (1u << 20) ? static_cast<uint32_t>(*s) : 0;
  }
  uint64_t sym(std::string_view name) const { return p_.symbol(name).value_or(0); }

 private:
  const profile::Profile& p_;
  const std::string& what_;
};

uint32_t sum(uint32_t a, uint32_t b) { return a == kNone || b == kNone ? kNone : a + b; }

// One offset of WinLayout: the first of the alternative dotted paths (names differ
// between builds) the profile has. A required one missing stops with
// "PROFILE: Windows profile lacks TYPE.FIELD".
struct FieldSpec {
  std::string_view type;
  std::array<std::string_view, 2> fields;  // an empty second: no alternative
  uint32_t WinLayout::*dest;
  bool required;
};

const FieldSpec kFields[] = {
    {"_KPCR", {"IdtBase", "IDT"}, &WinLayout::pcr_idt, false},
    {"_KTHREAD", {"Process", "ApcState.Process"}, &WinLayout::thread_process, true},
    {"_KTHREAD", {"PreviousMode"}, &WinLayout::thread_previous_mode, false},
    {"_KTHREAD", {"TrapFrame"}, &WinLayout::thread_trap_frame, false},
    {"_ETHREAD", {"Cid.UniqueThread"}, &WinLayout::thread_cid_tid, true},
    {"_KTRAP_FRAME", {"Rip", "Eip"}, &WinLayout::trap_ip, false},
    {"_KTRAP_FRAME", {"Rsp", "HardwareEsp"}, &WinLayout::trap_sp, false},
    {"_EPROCESS", {"UniqueProcessId"}, &WinLayout::proc_pid, true},
    {"_EPROCESS", {"InheritedFromUniqueProcessId"}, &WinLayout::proc_ppid, false},
    {"_EPROCESS", {"ImageFileName"}, &WinLayout::proc_image_name, true},
    {"_EPROCESS", {"SeAuditProcessCreationInfo.ImageFileName"}, &WinLayout::proc_image_path, false},
    {"_EPROCESS", {"Token"}, &WinLayout::proc_token, false},
    {"_EPROCESS", {"ObjectTable"}, &WinLayout::proc_object_table, false},
    {"_EPROCESS", {"Session"}, &WinLayout::proc_session, false},
    {"_EPROCESS", {"WoW64Process", "Wow64Process"}, &WinLayout::proc_wow64, false},
    {"_TOKEN", {"SessionId"}, &WinLayout::token_session, false},
    {"_TOKEN", {"UserAndGroups"}, &WinLayout::token_user_and_groups, false},
    {"_MM_SESSION_SPACE", {"SessionId"}, &WinLayout::session_space_id, false},
    {"_HANDLE_TABLE", {"TableCode"}, &WinLayout::table_code, false},
    {"_OBJECT_HEADER", {"TypeIndex"}, &WinLayout::header_type_index, false},
    {"_OBJECT_HEADER", {"InfoMask"}, &WinLayout::header_info_mask, false},
    {"_OBJECT_HEADER", {"Body"}, &WinLayout::header_body, false},
    {"_OBJECT_HEADER_NAME_INFO", {"Name"}, &WinLayout::name_info_name, false},
    {"_OBJECT_HEADER_NAME_INFO", {"Directory"}, &WinLayout::name_info_directory, false},
    {"_OBJECT_TYPE", {"Name"}, &WinLayout::type_name, false},
    {"_FILE_OBJECT", {"FileName"}, &WinLayout::file_name, false},
    {"_UNICODE_STRING", {"Length"}, &WinLayout::us_length, true},
    {"_UNICODE_STRING", {"Buffer"}, &WinLayout::us_buffer, true},
    {"_OBJECT_ATTRIBUTES", {"RootDirectory"}, &WinLayout::oa_root, false},
    {"_OBJECT_ATTRIBUTES", {"ObjectName"}, &WinLayout::oa_name, false},
    {"_MMVAD_SHORT", {"VadNode.Left", "LeftChild"}, &WinLayout::vad_left, false},
    {"_MMVAD_SHORT", {"VadNode.Right", "RightChild"}, &WinLayout::vad_right, false},
    {"_MMVAD_SHORT", {"StartingVpn"}, &WinLayout::vad_start, false},
    {"_MMVAD_SHORT", {"EndingVpn"}, &WinLayout::vad_end, false},
    {"_MMVAD_SHORT", {"StartingVpnHigh"}, &WinLayout::vad_start_high, false},
    {"_MMVAD_SHORT", {"EndingVpnHigh"}, &WinLayout::vad_end_high, false},
    {"_MMVAD", {"Subsection"}, &WinLayout::vad_subsection, false},
    {"_SUBSECTION", {"ControlArea"}, &WinLayout::subsection_control_area, false},
    {"_CONTROL_AREA", {"FilePointer"}, &WinLayout::control_area_file, false},
};

// Kernel symbols (RVAs; 0 when absent).
const std::pair<const char*, uint64_t WinLayout::*> kSymbols[] = {
    {"KeServiceDescriptorTable", &WinLayout::rva_service_table},
    {"KeServiceDescriptorTableShadow", &WinLayout::rva_shadow_table},
    {"PsLoadedModuleList", &WinLayout::rva_loaded_modules},
    {"ObTypeIndexTable", &WinLayout::rva_type_index_table},
    {"ObHeaderCookie", &WinLayout::rva_header_cookie},
};

}  // namespace

WinLayout resolve_layout(const profile::Profile& p, const std::string& what) {
  Resolver r(p, what);
  WinLayout L;
  L.ptr = p.metadata.pointer_size == 4 ? 4 : 8;
  for (const FieldSpec& f : kFields) {
    std::span<const std::string_view> alts(f.fields.data(), f.fields[1].empty() ? 1 : 2);
    L.*f.dest = f.required ? r.need(f.type, alts) : r.off(f.type, alts);
  }
  for (const auto& [name, dest] : kSymbols) L.*dest = r.sym(name);

  // Structures with a twist: a sum of two offsets, a fallback of another shape,
  // sizes and bit fields.
  L.pcr_current_thread = sum(r.need("_KPCR", {"Prcb", "PrcbData"}), r.need("_KPRCB", {"CurrentThread"}));
  if (L.proc_vad_root = r.off("_EPROCESS", {"VadRoot.Root"}); L.proc_vad_root == kNone) {
    // Windows 7: an MM_AVL_TABLE whose BalancedRoot.RightChild is the real root.
    L.proc_vad_root = r.off("_EPROCESS", {"VadRoot.BalancedRoot.RightChild"});
    L.vad_avl_table = L.proc_vad_root != kNone;
  }
  L.handle_entry_size = r.size("_HANDLE_TABLE_ENTRY");
  if (L.handle_entry_size == 0) L.handle_entry_size = 2 * L.ptr;
  if (const profile::Field* f = p.field("_HANDLE_TABLE_ENTRY", "ObjectPointerBits")) {
    L.handle_pointer_bits = true;
    if (f->type.kind == "bitfield" && f->type.bit_length > 0 && f->type.bit_length < 64) {
      L.handle_bits_pos = f->type.bit_position;
      L.handle_bits_len = f->type.bit_length;
    }
  }
  L.creator_info_size = r.size("_OBJECT_HEADER_CREATOR_INFO");
  L.name_info_size = r.size("_OBJECT_HEADER_NAME_INFO");
  if (const profile::Field* f = p.field("_MMVAD_SHORT", "StartingVpn"))
    if (auto* b = p.base_types.count(f->type.name) ? &p.base_types.at(f->type.name) : nullptr)
      L.vad_vpn_size = b->size == 8 ? 8 : 4;

  const char* ldr = p.type("_KLDR_DATA_TABLE_ENTRY") ? "_KLDR_DATA_TABLE_ENTRY" : "_LDR_DATA_TABLE_ENTRY";
  L.ldr_base = r.off(ldr, {"DllBase"});
  L.ldr_size = r.off(ldr, {"SizeOfImage"});
  L.ldr_full_name = r.off(ldr, {"FullDllName"});

  if (L.rva_service_table == 0)
    throw Error(what, "Windows profile lacks the symbol KeServiceDescriptorTable");
  L.rva_idt_handler[0] = r.sym("KiDivideErrorFaultShadow");
  L.rva_idt_handler[1] = r.sym("KiDivideErrorFault");
  return L;
}

}  // namespace vmitrace::oswin
