// Resolves, once, the Windows structure offsets and symbols the hot path needs.
#include "os/windows/layout.hpp"

#include "common/error.hpp"

namespace vmitrace::oswin {
namespace {

class Resolver {
 public:
  Resolver(const profile::Profile& p, const std::string& what) : p_(p), what_(what) {}

  // First of the alternative dotted paths the profile has; kNone when none.
  uint32_t off(std::string_view type, std::initializer_list<std::string_view> fields) const {
    for (auto f : fields)
      if (auto o = p_.field_offset(type, f); o && *o < (1u << 20)) return static_cast<uint32_t>(*o);
    return kNone;
  }
  uint32_t need(std::string_view type, std::initializer_list<std::string_view> fields) const {
    uint32_t o = off(type, fields);
    if (o == kNone)
      throw Error(what_, "Windows profile lacks " + std::string(type) + "." +
                             std::string(*fields.begin()));
    return o;
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

}  // namespace

WinLayout resolve_layout(const profile::Profile& p, const std::string& what) {
  Resolver r(p, what);
  WinLayout L;
  L.ptr = p.metadata.pointer_size == 4 ? 4 : 8;

  L.pcr_current_thread = sum(r.need("_KPCR", {"Prcb", "PrcbData"}), r.need("_KPRCB", {"CurrentThread"}));
  L.pcr_idt = r.off("_KPCR", {"IdtBase", "IDT"});
  L.thread_process = r.off("_KTHREAD", {"Process", "ApcState.Process"});
  if (L.thread_process == kNone) throw Error(what, "Windows profile lacks _KTHREAD.Process");
  L.thread_previous_mode = r.off("_KTHREAD", {"PreviousMode"});
  L.thread_trap_frame = r.off("_KTHREAD", {"TrapFrame"});
  L.thread_cid_tid = r.need("_ETHREAD", {"Cid.UniqueThread"});
  L.trap_ip = r.off("_KTRAP_FRAME", {"Rip", "Eip"});
  L.trap_sp = r.off("_KTRAP_FRAME", {"Rsp", "HardwareEsp"});

  L.proc_pid = r.need("_EPROCESS", {"UniqueProcessId"});
  L.proc_ppid = r.off("_EPROCESS", {"InheritedFromUniqueProcessId"});
  L.proc_image_name = r.need("_EPROCESS", {"ImageFileName"});
  L.proc_image_path = r.off("_EPROCESS", {"SeAuditProcessCreationInfo.ImageFileName"});
  L.proc_token = r.off("_EPROCESS", {"Token"});
  L.proc_object_table = r.off("_EPROCESS", {"ObjectTable"});
  L.proc_session = r.off("_EPROCESS", {"Session"});
  L.proc_wow64 = r.off("_EPROCESS", {"WoW64Process", "Wow64Process"});
  L.proc_vad_root = r.off("_EPROCESS", {"VadRoot.Root"});
  if (L.proc_vad_root == kNone) {
    // Windows 7: an MM_AVL_TABLE whose BalancedRoot.RightChild is the real root.
    L.proc_vad_root = r.off("_EPROCESS", {"VadRoot.BalancedRoot.RightChild"});
    L.vad_avl_table = L.proc_vad_root != kNone;
  }

  L.token_session = r.off("_TOKEN", {"SessionId"});
  L.token_user_and_groups = r.off("_TOKEN", {"UserAndGroups"});
  L.session_space_id = r.off("_MM_SESSION_SPACE", {"SessionId"});

  L.table_code = r.off("_HANDLE_TABLE", {"TableCode"});
  L.handle_entry_size = r.size("_HANDLE_TABLE_ENTRY");
  if (L.handle_entry_size == 0) L.handle_entry_size = 2 * L.ptr;
  if (const profile::Field* f = p.field("_HANDLE_TABLE_ENTRY", "ObjectPointerBits")) {
    L.handle_pointer_bits = true;
    if (f->type.kind == "bitfield" && f->type.bit_length > 0 && f->type.bit_length < 64) {
      L.handle_bits_pos = f->type.bit_position;
      L.handle_bits_len = f->type.bit_length;
    }
  }
  L.header_type_index = r.off("_OBJECT_HEADER", {"TypeIndex"});
  L.header_info_mask = r.off("_OBJECT_HEADER", {"InfoMask"});
  L.header_body = r.off("_OBJECT_HEADER", {"Body"});
  L.creator_info_size = r.size("_OBJECT_HEADER_CREATOR_INFO");
  L.name_info_size = r.size("_OBJECT_HEADER_NAME_INFO");
  L.name_info_name = r.off("_OBJECT_HEADER_NAME_INFO", {"Name"});
  L.name_info_directory = r.off("_OBJECT_HEADER_NAME_INFO", {"Directory"});
  L.type_name = r.off("_OBJECT_TYPE", {"Name"});
  L.file_name = r.off("_FILE_OBJECT", {"FileName"});
  L.us_length = r.need("_UNICODE_STRING", {"Length"});
  L.us_buffer = r.need("_UNICODE_STRING", {"Buffer"});
  L.oa_root = r.off("_OBJECT_ATTRIBUTES", {"RootDirectory"});
  L.oa_name = r.off("_OBJECT_ATTRIBUTES", {"ObjectName"});

  L.vad_left = r.off("_MMVAD_SHORT", {"VadNode.Left", "LeftChild"});
  L.vad_right = r.off("_MMVAD_SHORT", {"VadNode.Right", "RightChild"});
  L.vad_start = r.off("_MMVAD_SHORT", {"StartingVpn"});
  L.vad_end = r.off("_MMVAD_SHORT", {"EndingVpn"});
  L.vad_start_high = r.off("_MMVAD_SHORT", {"StartingVpnHigh"});
  L.vad_end_high = r.off("_MMVAD_SHORT", {"EndingVpnHigh"});
  if (const profile::Field* f = p.field("_MMVAD_SHORT", "StartingVpn"))
    if (auto* b = p.base_types.count(f->type.name) ? &p.base_types.at(f->type.name) : nullptr)
      L.vad_vpn_size = b->size == 8 ? 8 : 4;
  L.vad_subsection = r.off("_MMVAD", {"Subsection"});
  L.subsection_control_area = r.off("_SUBSECTION", {"ControlArea"});
  L.control_area_file = r.off("_CONTROL_AREA", {"FilePointer"});

  const char* ldr = p.type("_KLDR_DATA_TABLE_ENTRY") ? "_KLDR_DATA_TABLE_ENTRY" : "_LDR_DATA_TABLE_ENTRY";
  L.ldr_base = r.off(ldr, {"DllBase"});
  L.ldr_size = r.off(ldr, {"SizeOfImage"});
  L.ldr_full_name = r.off(ldr, {"FullDllName"});

  L.rva_service_table = r.sym("KeServiceDescriptorTable");
  if (L.rva_service_table == 0)
    throw Error(what, "Windows profile lacks the symbol KeServiceDescriptorTable");
  L.rva_shadow_table = r.sym("KeServiceDescriptorTableShadow");
  L.rva_loaded_modules = r.sym("PsLoadedModuleList");
  L.rva_type_index_table = r.sym("ObTypeIndexTable");
  L.rva_header_cookie = r.sym("ObHeaderCookie");
  L.rva_idt_handler[0] = r.sym("KiDivideErrorFaultShadow");
  L.rva_idt_handler[1] = r.sym("KiDivideErrorFault");
  return L;
}

}  // namespace vmitrace::oswin
