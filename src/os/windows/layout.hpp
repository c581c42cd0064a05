// The offsets of the Windows kernel structures the tracer reads, resolved once from
// the profile (ISF of ntkrnlmp.pdb / ntkrpamp.pdb). Field names differ between
// builds (Windows 7 vs 8+, x86 vs x64); the resolver knows the alternatives so the
// hot path only sees numbers. kNone marks a field this build does not have.
#pragma once
#include <cstdint>
#include <string>

#include "profile/profile.hpp"

namespace vmitrace::oswin {

inline constexpr uint32_t kNone = UINT32_MAX;

struct WinLayout {
  unsigned ptr = 8;  // guest pointer size
  // KPCR (GS base on x64, FS base on x86) -> KPRCB.CurrentThread
  uint32_t pcr_current_thread = kNone;  // KPCR.Prcb(Data) + KPRCB.CurrentThread
  uint32_t pcr_idt = kNone;             // KPCR.IdtBase / KPCR.IDT
  // KTHREAD / ETHREAD
  uint32_t thread_process = kNone;      // KTHREAD.Process (else ApcState.Process)
  uint32_t thread_previous_mode = kNone;
  uint32_t thread_trap_frame = kNone;
  uint32_t thread_cid_tid = kNone;      // ETHREAD.Cid.UniqueThread
  uint32_t trap_ip = kNone, trap_sp = kNone;  // KTRAP_FRAME.Rip/Rsp or Eip/HardwareEsp
  // EPROCESS
  uint32_t proc_pid = kNone, proc_ppid = kNone, proc_image_name = kNone;
  uint32_t proc_image_path = kNone;     // SeAuditProcessCreationInfo.ImageFileName
  uint32_t proc_token = kNone, proc_object_table = kNone, proc_vad_root = kNone;
  uint32_t proc_session = kNone, proc_wow64 = kNone;
  bool vad_avl_table = false;           // Windows 7: VadRoot is an MM_AVL_TABLE
  // TOKEN / session
  uint32_t token_session = kNone, token_user_and_groups = kNone;
  uint32_t session_space_id = kNone;    // MM_SESSION_SPACE.SessionId
  // Objects and handles
  uint32_t table_code = kNone;          // HANDLE_TABLE.TableCode
  uint32_t handle_entry_size = 16;
  bool handle_pointer_bits = false;     // Windows 8.1+: ObjectPointerBits encoding
  uint32_t handle_bits_pos = 20, handle_bits_len = 44;
  uint32_t header_type_index = kNone, header_info_mask = kNone, header_body = kNone;
  uint32_t creator_info_size = 0, name_info_size = 0;
  uint32_t name_info_name = kNone, name_info_directory = kNone;
  uint32_t type_name = kNone;           // OBJECT_TYPE.Name
  uint32_t file_name = kNone;           // FILE_OBJECT.FileName
  uint32_t us_length = 0, us_buffer = kNone;  // UNICODE_STRING
  uint32_t oa_root = kNone, oa_name = kNone;  // OBJECT_ATTRIBUTES
  // VAD nodes (MMVAD_SHORT / MMVAD)
  uint32_t vad_left = kNone, vad_right = kNone, vad_start = kNone, vad_end = kNone;
  uint32_t vad_start_high = kNone, vad_end_high = kNone;
  uint32_t vad_vpn_size = 4;            // 4 (Windows 8+) or pointer size (Windows 7)
  uint32_t vad_subsection = kNone, subsection_control_area = kNone,
           control_area_file = kNone;
  // Loaded kernel modules (KLDR_DATA_TABLE_ENTRY, LDR_DATA_TABLE_ENTRY on Windows 7)
  uint32_t ldr_base = kNone, ldr_size = kNone, ldr_full_name = kNone;
  // Kernel symbols (RVAs)
  uint64_t rva_service_table = 0, rva_shadow_table = 0, rva_loaded_modules = 0;
  uint64_t rva_type_index_table = 0, rva_header_cookie = 0;  // 0: absent
  uint64_t rva_idt_handler[2] = {0, 0};  // KiDivideErrorFault(Shadow): IDT vector 0
};

// Throws vmitrace::Error("WHAT: problem") when the profile lacks what tracing needs
// (KPCR/KTHREAD/EPROCESS basics, the service descriptor table).
WinLayout resolve_layout(const profile::Profile& p, const std::string& what);

}  // namespace vmitrace::oswin
