#include "profile/memory_profile.hpp"

#include <cctype>
#include <cstring>
#include <unordered_map>

#include "profile/arm64_relocations.hpp"
#include "profile/guest_btf.hpp"
#include "profile/elf.hpp"
#include "profile/kernel_image.hpp"

namespace vmitrace::profile {

namespace {

constexpr uint64_t kStep = 2ull << 20;
// Every kallsyms table after the token table (token_index, and in 6.2+ offsets,
// relative_base, seqs_of_names: 8 bytes a symbol) fits in this.
constexpr uint64_t kAfterTokens = 4ull << 20;
constexpr int kMaxAttempts = 4;  // kallsyms parses of one copy
constexpr size_t kMaxBanner = 1024;
constexpr size_t kVmcoreinfoBytes = 4096;  // VMCOREINFO_BYTES (one page)
constexpr uint64_t kBtfChunk = 1ull << 20;
// How far past kallsyms .BTF is looked for when no symbol says where it is.
constexpr uint64_t kBtfSearch = 32ull << 20;
// Where KASLR moves kernel text (the link-time window holds the same range).
constexpr uint64_t kTextWindow64 = 0xffffffff80000000ull, kTextWindowEnd64 = 0xffffffffc0000000ull;
// arm64 (48-bit VAs): the image is linked and moved inside the vmalloc area; the
// Image's head (its header, 64 KiB: SEGMENT_ALIGN) comes before _stext.
constexpr uint64_t kArm64Vmalloc = 0xffff800000000000ull;
constexpr uint64_t kArm64Head = 64 << 10;
constexpr uint64_t kArm64OffsetAlign = 4096;

constexpr uint64_t kMaxNotes = 4096;  // .notes: Xen, build id and Linux notes, a few hundred bytes
constexpr char kImageRoute[] = " (build the profile from the kernel image: `vmitrace profile IMAGE -o k.json`, "
                               "then give it with -r)";

const char kDigitTokens[] = "0\0001\0002\0003\0004\0005\0006\0007\0008\0009";  // as kallsyms.cpp looks for

std::string hex(uint64_t v) {
  char b[24];
  std::snprintf(b, sizeof b, "%#llx", static_cast<unsigned long long>(v));
  return b;
}

// The kallsyms of the copied image, reading on until the token table shows up and
// far enough past it for the tables that follow.
std::vector<KernelSymbol> kallsyms_of(GuestImage& img, bool is64, const std::string& what, size_t* tables_at) {
  size_t scan_from = 0;
  std::optional<size_t> hit;
  std::string last_error;
  int attempts = 0;
  for (;;) {
    bool more = img.read_to(img.end() + kStep);
    const auto& b = img.bytes();
    if (!hit && b.size() > scan_from) {
      const void* p = memmem(b.data() + scan_from, b.size() - scan_from, kDigitTokens, sizeof kDigitTokens);
      if (p) hit = size_t(static_cast<const uint8_t*>(p) - b.data());
      else scan_from = b.size() >= sizeof kDigitTokens ? b.size() - sizeof kDigitTokens : 0;
    }
    if (hit && (b.size() >= *hit + kAfterTokens || !more)) {
      try {
        *tables_at = *hit;
        return extract_kallsyms(b.data(), b.size(), is64, [&](uint64_t) { return img.base(); }, what);
      } catch (const Error& e) {
        last_error = e.what();  // a look-alike, or not this image's: look further
      }
      // The parser takes the first token table of the copy, so trying again helps only
      // once more bytes are read: look for the next candidate there, a bounded number
      // of times (hostile memory can repeat the pattern at will).
      if (!more || ++attempts >= kMaxAttempts) break;
      scan_from = b.size() - sizeof kDigitTokens;
      hit.reset();
      continue;
    }
    if (!more) break;
  }
  if (!last_error.empty()) throw Error(last_error);
  throw Error(what, "no kallsyms tables in the kernel image in guest memory (" + hex(img.base()) + ".." +
                        hex(img.window_end()) + "): not a Linux kernel, or one built without CONFIG_KALLSYMS");
}

std::string read_cstring(const GuestMemory& mem, uint64_t va, size_t max) {
  std::string s(max, '\0');
  s.resize(mem.read(va, s.data(), max));
  if (auto nul = s.find('\0'); nul != std::string::npos) s.resize(nul);
  return s;
}

// "Linux version 6.1.0-28-amd64 (debian-kernel@...) ..." -> "6.1.0-28-amd64". The
// banner is the guest's: only printable bytes, at most 64, reach messages.
std::string release_of(const std::string& banner) {
  std::string r;
  for (size_t i = sizeof "Linux version " - 1; i < banner.size() && r.size() < 64; ++i) {
    unsigned char c = static_cast<unsigned char>(banner[i]);
    if (c <= 0x20 || c >= 0x7f) break;
    r += char(c);
  }
  return r;
}

// Offset in the copy of linux_banner's text when no symbol says where it is: the last
// "Linux version <digit>" text ending in "\n\0" in [0, end) (since 6.1
// init/version.c keeps a weak copy; the one linux_banner names, in
// init/version-timestamp.c, is linked after it), as the file route takes it from an
// arm64 Image. `end`: where rodata ends when known (arm64: the relocation table,
// in init data): .data and .bss hold printed copies once the kernel has run (the log
// buffer's records, without the newline; the console's line buffers, with it).
std::optional<uint64_t> banner_offset_in(const GuestImage& img, size_t end) {
  const auto& b = img.bytes();
  auto texts = banner_texts(b.data(), b.size(), 0, std::min(end, b.size()));
  for (auto it = texts.rbegin(); it != texts.rend(); ++it) {
    const size_t len = banner_text_at(b.data(), b.size(), *it).size();
    if (*it + len < b.size() && b[*it + len] == 0 && b[*it + len - 1] == '\n') return *it;
  }
  return std::nullopt;
}

std::vector<uint8_t> read_btf(const GuestMemory& mem, uint64_t start, uint64_t stop, const std::string& what) {
  uint8_t hdr[24];
  std::optional<size_t> size;
  if (stop > start && mem.read(start, hdr, sizeof hdr) == sizeof hdr) size = btf_declared_size(hdr, sizeof hdr);
  if (!size || *size > stop - start)
    throw Error(what, "no valid BTF header at __start_BTF (" + hex(start) + ".." + hex(stop) + ") in guest memory");
  std::vector<uint8_t> raw(*size);
  for (size_t off = 0; off < raw.size(); off += kBtfChunk) {
    size_t want = size_t(std::min<uint64_t>(kBtfChunk, raw.size() - off));
    if (mem.read(start + off, raw.data() + off, want) != want)
      throw Error(what, "the .BTF section in guest memory is not wholly mapped (unreadable at " +
                            hex(start + off) + ")");
  }
  if (!btf_blob_size(raw.data(), raw.size()))
    throw Error(what, "the BTF at __start_BTF (" + hex(start) + ") in guest memory has no valid string section");
  return raw;
}

}  // namespace

std::optional<uint64_t> vmcoreinfo_hex(std::string_view text, std::string_view key) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    std::string_view line = text.substr(pos, eol == std::string_view::npos ? std::string_view::npos : eol - pos);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == '=') {
      std::string_view v = line.substr(key.size() + 1);
      if (v.empty() || v.size() > 16) return std::nullopt;
      uint64_t r = 0;
      for (char c : v) {
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return std::nullopt;
        r = r << 4 | uint64_t(d);
      }
      return r;
    }
    if (eol == std::string_view::npos) break;
    pos = eol + 1;
  }
  return std::nullopt;
}

std::string RunningKernel::identity() const { return banner + "\nbuild-id " + (build_id.empty() ? "none" : build_id); }

RunningKernel read_running_kernel(const GuestMemory& mem, const std::string& what) {
  const bool is64 = mem.pointer_size == 8;
  std::optional<GuestImage> img = GuestImage::locate(mem);
  if (!img)
    throw KernelNotMapped(what, mem.arm64 ? "no kernel image mapped at the vCPU's kernel-mode pc (" + hex(mem.ip) + ")"
                                : is64    ? "no kernel image mapped in " + hex(kTextWindow64) + ".." +
                                                hex(kTextWindowEnd64) + " (not a Linux guest?)"
                                          : "no kernel mapped at the vCPU's kernel-mode instruction pointer");
  size_t tables_at = 0;
  RunningKernel k;
  k.is64 = is64;
  k.arm64 = mem.arm64;
  k.symbols = kallsyms_of(*img, is64, what, &tables_at);
  std::unordered_map<std::string_view, uint64_t> at;  // views of k.symbols' names: appended to at the end
  for (const auto& s : k.symbols) at.try_emplace(s.name, s.address);
  auto need = [&](std::string_view name) { return at.count(name) != 0; };
  std::vector<KernelSymbol> added;
  size_t rodata_end = SIZE_MAX;  // arm64: where the copy's text and rodata end, when known
  // Kernels without CONFIG_KALLSYMS_ALL (Debian's 686-pae, bookworm's arm64) list text
  // symbols only.
  const bool data_symbols = need("linux_banner");
  if (k.arm64) {
    // The whole image: the relocation table lies in init data, near its end.
    img->read_to(img->window_end());
    const auto& b = img->bytes();
    const RelativeRun run = longest_relative_run(b.data(), b.size());
    k.kaslr_offset = kaslr_offset_from_relocations(b.data(), b.size(), img->base(), run);
    if (run.count) rodata_end = run.at;  // the table is in init data, after text and rodata
  }

  uint64_t banner_va = 0;  // where the text was found without a symbol
  if (data_symbols) {
    k.banner = read_cstring(mem, at["linux_banner"], kMaxBanner);
  } else if (auto off = banner_offset_in(*img, rodata_end)) {
    k.banner = banner_text_at(img->bytes().data(), img->bytes().size(), *off);
    banner_va = img->base() + *off;
  }
  if (k.banner.rfind("Linux version ", 0) != 0)
    throw Error(what, data_symbols ? "linux_banner in guest memory (" + hex(at["linux_banner"]) + ") is not a Linux banner"
                                   : std::string("no Linux banner in the kernel image in guest memory"));
  k.release = release_of(k.banner);
  const std::string kernel = "Linux " + k.release;
  const std::string no_btf = kernel + " has no BTF in guest memory (kernel built without CONFIG_DEBUG_INFO_BTF): "
                             "build its profile from the image with --debug-file (the linux-image-*-dbg package's "
                             "vmlinux), then give it with -r";
  if (need("__start_BTF") && need("__stop_BTF")) {
    k.btf = read_btf(mem, at["__start_BTF"], at["__stop_BTF"], what);
  } else if (data_symbols) {
    throw Error(what, no_btf);
  } else if (k.arm64) {
    // No data symbols: .BTF is found by its header in the copy, as in an Image file,
    // and the symbols the file route adds to such a kernel's kallsyms are added here.
    const auto& b = img->bytes();
    auto blob = find_btf_blob(b.data(), b.size());
    if (!blob) throw Error(what, no_btf);
    k.btf.assign(b.begin() + long(blob->offset), b.begin() + long(blob->offset + blob->size));
    if (!need("_text")) {
      // The head (with the Image header) is unmapped once the kernel runs on its final
      // page tables: _text is then the head's size below _stext.
      const uint64_t text = img->at_arm64_header() ? img->base() : need("_stext") ? at["_stext"] - kArm64Head : 0;
      if (!text) throw Error(what, "no _text or _stext among the kallsyms in guest memory");
      added.push_back(KernelSymbol{"_text", 'T', text});
      at["_text"] = text;
    }
    added.push_back(KernelSymbol{"linux_banner", 'D', banner_va});
  } else {
    // No data symbols to say where .BTF is: it follows kallsyms in rodata, if anywhere.
    img->read_to(img->base() + tables_at + kBtfSearch);
    const auto& b = img->bytes();
    auto blob = find_btf_blob(b.data() + tables_at, b.size() - tables_at);
    if (!blob) throw Error(what, no_btf);
    throw Error(what, "the kallsyms in guest memory have no data symbols (kernel without CONFIG_KALLSYMS_ALL), so "
                      "the KASLR offset cannot be found" + std::string(kImageRoute));
  }
  if (need("__start_notes") && need("__stop_notes") && at["__stop_notes"] > at["__start_notes"]) {
    std::vector<uint8_t> notes(size_t(std::min<uint64_t>(at["__stop_notes"] - at["__start_notes"], kMaxNotes)));
    notes.resize(mem.read(at["__start_notes"], notes.data(), notes.size()));
    k.build_id = gnu_build_id(notes.data(), notes.size()).value_or("");
  }
  k.image_base = img->base();
  k.bytes_read = img->bytes_read() + (data_symbols ? k.btf.size() : 0);
  k.text = need("_text") ? at["_text"] : img->base();
  k.vmcoreinfo_data = need("vmcoreinfo_data") ? at["vmcoreinfo_data"] : 0;
  k.stext = need("_stext") ? at["_stext"] : 0;
  k.symbols.insert(k.symbols.end(), added.begin(), added.end());
  return k;
}

std::optional<uint64_t> running_kaslr_offset(const GuestMemory& mem, const RunningKernel& k, const std::string& what,
                                             bool* incomplete) {
  // Only the kernel knows the KASLR offset; it writes it in vmcoreinfo.
  const std::string kernel = "Linux " + k.release;
  if (k.kaslr_offset) return k.kaslr_offset;
  if (!k.is64 || !k.vmcoreinfo_data)
    throw Error(what, "cannot tell the KASLR offset of " + kernel +
                          (k.arm64 ? " (no relocation table in guest memory: the kernel frees it once booted; and "
                                     "no vmcoreinfo_data among its kallsyms)"
                                   : " (no KERNELOFFSET in vmcoreinfo: kernel without CONFIG_CRASH_CORE?)") +
                          kImageRoute);
  uint64_t note = 0;
  if (mem.read(k.vmcoreinfo_data, &note, 8) != 8 || !note) return std::nullopt;  // allocated by an early initcall
  const std::string text = read_cstring(mem, note, kVmcoreinfoBytes);
  // Before the kernel cleared its .bss, the pointer may lead to a previous boot's note.
  auto stext = vmcoreinfo_hex(text, "SYMBOL(_stext)");
  if (k.stext && stext && *stext != k.stext) return std::nullopt;
  auto offset = vmcoreinfo_hex(text, "KERNELOFFSET");
  if (!offset && incomplete) {
    *incomplete = true;
    return std::nullopt;
  }
  if (!offset)
    throw Error(what, "cannot tell the KASLR offset of " + kernel +
                          " (no KERNELOFFSET in vmcoreinfo: kernel without CONFIG_CRASH_CORE?)" + kImageRoute);
  const bool fits = k.arm64 ? *offset % kArm64OffsetAlign == 0 && k.text >= kArm64Vmalloc &&
                                  *offset <= k.text - kArm64Vmalloc
                            : *offset % kStep == 0 && k.text - *offset >= kTextWindow64 &&
                                  k.text - *offset < kTextWindowEnd64;
  if (!fits)
    throw Error(what, "vmcoreinfo's KERNELOFFSET=" + hex(*offset) + " does not fit _text at " + hex(k.text));
  return offset;
}

Profile assemble_memory_profile(RunningKernel k, uint64_t kaslr_offset, const std::string& what,
                                MemoryProfileInfo* info) {
  // x86-64's per-CPU symbols keep their offsets: KASLR moves only the image. arm64's
  // kallsyms are all inside the image.
  for (auto& s : k.symbols)
    if (k.arm64 ? s.address >= kArm64Vmalloc : s.address >= kTextWindow64 && s.address < kTextWindowEnd64)
      s.address -= kaslr_offset;
  ProfileParts parts;
  parts.btf = k.btf.data();
  parts.btf_size = k.btf.size();
  parts.btf_what = what + " (.BTF in guest memory)";
  parts.is_64bit = k.is64;
  if (k.arm64) parts.architecture = "arm64";
  parts.symbols = std::move(k.symbols);
  parts.banner = k.banner;
  parts.symbols_kind = "symtab";
  parts.symbols_name = "guest memory";
  parts.source = what;
  Profile p = assemble_linux_profile(parts);
  if (info) {
    info->release = k.release;
    info->image_base = k.image_base;
    info->kaslr_offset = kaslr_offset;
    info->bytes_read = k.bytes_read;
  }
  return p;
}

Error vmcoreinfo_not_set_up(const std::string& what, const RunningKernel& k) {
  return Error(what, "cannot tell the KASLR offset of Linux " + k.release +
                         ": vmcoreinfo is not set up yet (the kernel is still booting?); try again once it "
                         "has booted, or give a profile with -r");
}

Profile profile_from_memory(const GuestMemory& mem, const std::string& what, MemoryProfileInfo* info) {
  RunningKernel k = read_running_kernel(mem, what);
  std::optional<uint64_t> offset = running_kaslr_offset(mem, k, what);
  if (!offset) throw vmcoreinfo_not_set_up(what, k);
  return assemble_memory_profile(std::move(k), *offset, what, info);
}

}  // namespace vmitrace::profile
