// A small Windows kernel profile of our own, as ISF JSON text: the structures and
// symbols the tracer reads, laid out like Windows 10 x64 (or, with ptr_size 4, a
// 32-bit kernel). Lets the Windows tests run where ../shared/data is absent.
#pragma once
#include <string>
#include <vector>

namespace vmitrace::testing {

inline constexpr const char* kSynthGuid = "112233445566778899AABBCCDDEEFF00";

struct IsfField {
  const char* name;
  unsigned offset;
  std::string type;  // JSON of the type descriptor
};

inline std::string isf_struct(const std::string& name, unsigned size, const std::vector<IsfField>& fields) {
  std::string s = "\"" + name + "\": {\"kind\": \"struct\", \"size\": " + std::to_string(size) + ", \"fields\": {";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) s += ", ";
    s += "\"" + std::string(fields[i].name) + "\": {\"offset\": " + std::to_string(fields[i].offset) +
         ", \"type\": " + fields[i].type + "}";
  }
  return s + "}}";
}

inline std::string synthetic_windows_isf(unsigned ptr = 8) {
  const bool x64 = ptr == 8;
  const std::string P = "{\"kind\": \"pointer\", \"subtype\": {\"kind\": \"base\", \"name\": \"void\"}}";
  const std::string U8 = "{\"kind\": \"base\", \"name\": \"unsigned char\"}";
  const std::string U16 = "{\"kind\": \"base\", \"name\": \"unsigned short\"}";
  const std::string U32 = "{\"kind\": \"base\", \"name\": \"unsigned long\"}";
  const std::string U64 = "{\"kind\": \"base\", \"name\": \"unsigned long long\"}";
  auto S = [](const char* n) { return std::string("{\"kind\": \"struct\", \"name\": \"") + n + "\"}"; };
  const std::string names = "{\"kind\": \"array\", \"count\": 15, \"subtype\": " + U8 + "}";
  const unsigned us = x64 ? 16 : 8;
  std::vector<std::string> types = {
      isf_struct("_KPCR", 0x2000, {{x64 ? "Prcb" : "PrcbData", 0x180, S("_KPRCB")}, {x64 ? "IdtBase" : "IDT", 0x38, P}}),
      isf_struct("_KPRCB", 0x100, {{"CurrentThread", 8, P}}),
      isf_struct("_KTHREAD", 0x300, {{"Process", 0x220, P}, {"PreviousMode", 0x232, U8}, {"TrapFrame", 0x90, P}}),
      isf_struct("_CLIENT_ID", 2 * ptr, {{"UniqueProcess", 0, P}, {"UniqueThread", ptr, P}}),
      isf_struct("_ETHREAD", 0x500, {{"Tcb", 0, S("_KTHREAD")}, {"Cid", 0x478, S("_CLIENT_ID")}}),
      isf_struct("_KTRAP_FRAME", 0x190, {{x64 ? "Rip" : "Eip", 0x168, x64 ? U64 : U32}, {x64 ? "Rsp" : "HardwareEsp", 0x180, x64 ? U64 : U32}}),
      isf_struct("_EX_FAST_REF", ptr, {{"Value", 0, x64 ? U64 : U32}}),
      isf_struct("_RTL_AVL_TREE", ptr, {{"Root", 0, P}}),
      isf_struct("_SE_AUDIT_PROCESS_CREATION_INFO", ptr, {{"ImageFileName", 0, P}}),
      isf_struct("_EPROCESS", 0x900, {{"UniqueProcessId", 0x440, P}, {"InheritedFromUniqueProcessId", 0x540, P},
                                      {"ImageFileName", 0x5a8, names}, {"SeAuditProcessCreationInfo", 0x5c0, S("_SE_AUDIT_PROCESS_CREATION_INFO")},
                                      {"Token", 0x4b8, S("_EX_FAST_REF")}, {"ObjectTable", 0x570, P},
                                      {"VadRoot", 0x7d8, S("_RTL_AVL_TREE")}, {"Session", 0x558, P}, {"WoW64Process", 0x580, P}}),
      isf_struct("_MM_SESSION_SPACE", 0x100, {{"SessionId", 8, U32}}),
      isf_struct("_TOKEN", 0x400, {{"SessionId", 0x78, U32}, {"UserAndGroups", 0x98, P}}),
      isf_struct("_HANDLE_TABLE", 0x80, {{"TableCode", 8, x64 ? U64 : U32}}),
      isf_struct("_HANDLE_TABLE_ENTRY", 2 * ptr,
                 {{"ObjectPointerBits", 0, "{\"kind\": \"bitfield\", \"bit_position\": " + std::to_string(x64 ? 20 : 3) +
                                               ", \"bit_length\": " + std::to_string(x64 ? 44 : 29) + ", \"type\": " + (x64 ? U64 : U32) + "}"}}),
      isf_struct("_OBJECT_HEADER", x64 ? 0x38 : 0x20, {{"TypeIndex", x64 ? 0x18u : 0xcu, U8}, {"InfoMask", x64 ? 0x1au : 0xeu, U8}, {"Body", x64 ? 0x30u : 0x18u, U64}}),
      isf_struct("_OBJECT_HEADER_CREATOR_INFO", x64 ? 0x20 : 0x10, {}),
      isf_struct("_UNICODE_STRING", us, {{"Length", 0, U16}, {"MaximumLength", 2, U16}, {"Buffer", x64 ? 8u : 4u, P}}),
      isf_struct("_OBJECT_HEADER_NAME_INFO", x64 ? 0x20 : 0x10, {{"Directory", 0, P}, {"Name", ptr, S("_UNICODE_STRING")}}),
      isf_struct("_OBJECT_TYPE", 0xd8, {{"Name", 0x10, S("_UNICODE_STRING")}}),
      isf_struct("_FILE_OBJECT", 0xd8, {{"DeviceObject", ptr, P}, {"FileName", 0x58, S("_UNICODE_STRING")}}),
      isf_struct("_OBJECT_ATTRIBUTES", x64 ? 0x30 : 0x18, {{"Length", 0, U32}, {"RootDirectory", ptr, P}, {"ObjectName", 2 * ptr, P}}),
      isf_struct("_RTL_BALANCED_NODE", 3 * ptr, {{"Left", 0, P}, {"Right", ptr, P}}),
      isf_struct("_MMVAD_SHORT", 0x40, {{"VadNode", 0, S("_RTL_BALANCED_NODE")}, {"StartingVpn", 0x18, U32}, {"EndingVpn", 0x1c, U32},
                                        {"StartingVpnHigh", 0x20, U8}, {"EndingVpnHigh", 0x21, U8}}),
      isf_struct("_MMVAD", 0x88, {{"Core", 0, S("_MMVAD_SHORT")}, {"Subsection", 0x48, P}}),
      isf_struct("_SUBSECTION", 0x38, {{"ControlArea", 0, P}}),
      isf_struct("_CONTROL_AREA", 0x80, {{"FilePointer", 0x40, S("_EX_FAST_REF")}}),
      isf_struct("_KLDR_DATA_TABLE_ENTRY", 0xa0, {{"DllBase", 0x30, P}, {"SizeOfImage", 0x40, U32}, {"FullDllName", 0x48, S("_UNICODE_STRING")}}),
  };
  std::string user_types;
  for (size_t i = 0; i < types.size(); ++i) user_types += (i ? ", " : "") + types[i];
  const std::pair<const char*, unsigned> syms[] = {
      {"KeServiceDescriptorTable", 0x500000}, {"KeServiceDescriptorTableShadow", 0x500100},
      {"KiServiceTable", 0x10000}, {"KiArgumentTable", 0x11000}, {"PsLoadedModuleList", 0x500200},
      {"ObTypeIndexTable", 0x500400}, {"ObHeaderCookie", 0x500300}, {"KiDivideErrorFault", 0x20000},
      {"KiSystemServiceCopyEnd", 0x21000}, {"NtCreateFile", 0x100000}, {"NtOpenFile", 0x100100},
      {"NtClose", 0x100200}, {"xHalCloseStub", 0x100200}, {"NtSetEvent", 0x100300},
      {"NtTerminateProcess", 0x100400}, {"NtFlushWriteBuffer", 0x100500}, {"NtCompleteConnectPort", 0x100500},
      {"IopPnPAddDevice", 0x100500}};
  std::string symbols;
  for (size_t i = 0; i < std::size(syms); ++i)
    symbols += std::string(i ? ", " : "") + "\"" + syms[i].first + "\": {\"address\": " + std::to_string(syms[i].second) + "}";
  return std::string("{\"metadata\": {\"format\": \"6.1.0\", \"producer\": {\"name\": \"vmitrace-test\", \"version\": \"1\"}, "
                     "\"windows\": {\"pdb\": {\"GUID\": \"") + kSynthGuid + "\", \"age\": 1, \"database\": \"ntkrnlmp.pdb\", "
         "\"machine_type\": " + (x64 ? "34404" : "332") + "}}}, "
         "\"base_types\": {\"pointer\": {\"kind\": \"int\", \"size\": " + std::to_string(ptr) + ", \"signed\": false, \"endian\": \"little\"}, "
         "\"unsigned char\": {\"kind\": \"char\", \"size\": 1, \"signed\": false, \"endian\": \"little\"}, "
         "\"unsigned short\": {\"kind\": \"int\", \"size\": 2, \"signed\": false, \"endian\": \"little\"}, "
         "\"unsigned long\": {\"kind\": \"int\", \"size\": 4, \"signed\": false, \"endian\": \"little\"}, "
         "\"unsigned long long\": {\"kind\": \"int\", \"size\": 8, \"signed\": false, \"endian\": \"little\"}, "
         "\"void\": {\"kind\": \"void\", \"size\": 0, \"signed\": false, \"endian\": \"little\"}}, "
         "\"user_types\": {" + user_types + "}, \"enums\": {}, \"symbols\": {" + symbols + "}}";
}

}  // namespace vmitrace::testing
