// The identity of a PE image mapped in guest memory: size and the CodeView (RSDS)
// record of its debug directory (PDB GUID + age), which is what a Volatility3 ISF
// is keyed by. Every field comes from the guest: bounded reads, checked offsets.
#pragma once
#include <cstdint>
#include <string>

#include "vmi/vmi.hpp"

namespace vmitrace::oswin {

struct PeIdentity {
  uint32_t size_of_image = 0;
  std::string pdb_guid;  // 32 upper-case hex digits, as ISF metadata writes it
  uint32_t pdb_age = 0;
  std::string pdb_name;  // "ntkrnlmp.pdb"
};

// True when base holds an "MZ"/"PE\0\0" image; fills size_of_image always and the
// PDB fields when a CodeView record is readable (pdb_guid stays empty otherwise).
bool read_pe_identity(vmi::Vcpu& cpu, uint64_t base, PeIdentity& out);

// The 16 GUID bytes of an RSDS record as ISF metadata writes them.
std::string format_guid(const uint8_t guid[16]);

}  // namespace vmitrace::oswin
