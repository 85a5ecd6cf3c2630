#include "bpfsign/btf/btf_ext.hpp"

#include <cstring>
#include <type_traits>

#include "bpfsign/common/checked_math.hpp"

namespace bpfsign::btf {

namespace {

struct ExtHeader {
  std::uint16_t magic;
  std::uint8_t version;
  std::uint8_t flags;
  std::uint32_t hdr_len;
  std::uint32_t func_info_off;
  std::uint32_t func_info_len;
  std::uint32_t line_info_off;
  std::uint32_t line_info_len;
};
constexpr std::uint32_t kCoreHeaderSize = 32;  // adds core_relo_off, core_relo_len

// Records are copied as the kernel's structs they mirror (same size and
// layout, little-endian like the object), then each is checked against the
// BTF. Checks are template arguments so that they inline into the loop;
// each returns a plain bool and sets `why` only when the record fails (a
// Status per record cost more than the checks).
bool check_func_info(const FuncInfo& fi, const Btf& btf, Error& why) {
  if (!btf.valid_id(fi.type_id) || btf.kind(fi.type_id) != Kind::Func) {
    why = bad_input("func_info type [{}] is not a FUNC", fi.type_id);
    return false;
  }
  return true;
}

bool check_line_info(const LineInfo& li, const Btf& btf, Error& why) {
  if (!btf.valid_string(li.file_name_off) || !btf.valid_string(li.line_off)) {
    why = bad_input("line_info string offset {} or {} is outside the BTF string section", li.file_name_off, li.line_off);
    return false;
  }
  return true;
}

bool check_core_relo(const CoreRelo& cr, const Btf& btf, Error& why) {
  if (!btf.valid_id(cr.type_id)) {
    why = bad_input("CO-RE relocation type [{}] does not exist", cr.type_id);
    return false;
  }
  if (!btf.valid_string(cr.access_str_off)) {
    why = bad_input("CO-RE relocation access string offset {} is outside the BTF string section", cr.access_str_off);
    return false;
  }
  if (static_cast<std::uint32_t>(cr.kind) > kMaxCoreReloKind) {
    why = bad_input("CO-RE relocation kind {} is unknown", static_cast<std::uint32_t>(cr.kind));
    return false;
  }
  return true;
}

// One info block: a record size, then sections of {name, count, records}.
template <typename Record, bool (*Check)(const Record&, const Btf&, Error&)>
Result<std::vector<ExtSection<Record>>> parse_block(Bytes block, const Btf& btf, const char* what) {
  static_assert(std::is_trivially_copyable_v<Record>);
  constexpr std::uint32_t min_size = sizeof(Record);
  std::vector<ExtSection<Record>> out;
  if (block.empty()) return out;
  ByteReader r(block);
  auto rec_size = r.read<std::uint32_t>("record size");
  if (!rec_size) return rec_size.error().with_context(what);
  if (*rec_size < min_size || *rec_size % 4 != 0 || *rec_size > 256) {
    return bad_input("{}: record size {} (expected a multiple of 4, at least {})", what, *rec_size, min_size);
  }
  while (!r.at_end()) {
    const std::size_t at = r.offset();
    auto name_off = r.read<std::uint32_t>("section name offset");
    auto count = r.read<std::uint32_t>("record count");
    if (!name_off || !count) return bad_input("{}: section header at block offset {} is truncated", what, at);
    if (*count == 0) return bad_input("{}: section at block offset {} has no records", what, at);
    if (!btf.valid_string(*name_off) || btf.string_at(*name_off).empty()) {
      return bad_input("{}: section name offset {} at block offset {} is not a BTF string", what, *name_off, at);
    }
    ExtSection<Record> sec;
    sec.section = std::string(btf.string_at(*name_off));
    auto bytes = checked_mul(*count, *rec_size);
    if (!bytes || *bytes > r.remaining()) {
      return bad_input("{}: section '{}' claims {} records of {} bytes, only {} bytes left", what, sec.section, *count,
                       *rec_size, r.remaining());
    }
    auto all = r.take(*bytes, "records");  // within bounds: checked above
    sec.records.resize(*count);
    if (*rec_size == min_size) {
      std::memcpy(sec.records.data(), all->data(), static_cast<std::size_t>(*bytes));
    } else {
      for (std::uint32_t i = 0; i < *count; ++i) {
        const std::uint8_t* raw = all->data() + std::size_t{i} * *rec_size;
        std::memcpy(&sec.records[i], raw, min_size);
        // Fields the kernel does not know must be zero, as it requires of
        // user-supplied records larger than its own.
        for (std::size_t b = min_size; b < *rec_size; ++b) {
          if (raw[b] != 0) return bad_input("{}: section '{}' record {}: unknown trailing bytes are not zero", what, sec.section, i);
        }
      }
    }
    Error why;
    for (std::uint32_t i = 0; i < *count; ++i) {
      if (!Check(sec.records[i], btf, why)) {
        return why.with_context(fmt::format("{}: section '{}' record {}", what, sec.section, i));
      }
    }
    out.push_back(std::move(sec));
  }
  return out;
}

}  // namespace

const char* core_relo_kind_name(CoreReloKind kind) {
  static constexpr const char* kNames[] = {
      "field_byte_offset", "field_byte_size", "field_exists", "field_signed", "field_lshift_u64",
      "field_rshift_u64", "type_id_local", "type_id_target", "type_exists", "type_size",
      "enumval_exists", "enumval_value", "type_matches"};
  const auto i = static_cast<std::size_t>(kind);
  return i < std::size(kNames) ? kNames[i] : "unknown";
}

Result<BtfExt> BtfExt::parse(Bytes data, const Btf& btf) {
  ByteReader reader(data);
  auto hdr = reader.read<ExtHeader>("BTF.ext header");
  if (!hdr) return hdr.error();
  if (hdr->magic != kMagic) return bad_input("BTF.ext header: magic 0x{:04x}, expected 0x{:04x}", hdr->magic, kMagic);
  if (hdr->version != kVersion) return bad_input("BTF.ext header: version {} is not supported", hdr->version);
  if (hdr->flags != 0) return bad_input("BTF.ext header: flags 0x{:x} must be 0", hdr->flags);
  if (hdr->hdr_len < sizeof(ExtHeader) || hdr->hdr_len > data.size()) {
    return bad_input("BTF.ext header: length {} is not within [{}, {}]", hdr->hdr_len, sizeof(ExtHeader), data.size());
  }
  std::uint32_t core_off = 0, core_len = 0;
  if (hdr->hdr_len >= kCoreHeaderSize) {
    std::memcpy(&core_off, data.data() + sizeof(ExtHeader), 4);
    std::memcpy(&core_len, data.data() + sizeof(ExtHeader) + 4, 4);
  }
  const Bytes body = data.subspan(hdr->hdr_len);
  auto func = subspan_checked(body, hdr->func_info_off, hdr->func_info_len, "BTF.ext func_info");
  if (!func) return func.error();
  auto line = subspan_checked(body, hdr->line_info_off, hdr->line_info_len, "BTF.ext line_info");
  if (!line) return line.error();
  auto core = subspan_checked(body, core_off, core_len, "BTF.ext core_relo");
  if (!core) return core.error();

  BtfExt ext;
  static_assert(sizeof(FuncInfo) == kFuncInfoSize && sizeof(LineInfo) == kLineInfoSize && sizeof(CoreRelo) == kCoreReloSize);
  auto f = parse_block<FuncInfo, check_func_info>(*func, btf, "BTF.ext func_info");
  if (!f) return f.error();
  auto l = parse_block<LineInfo, check_line_info>(*line, btf, "BTF.ext line_info");
  if (!l) return l.error();
  auto c = parse_block<CoreRelo, check_core_relo>(*core, btf, "BTF.ext core_relo");
  if (!c) return c.error();
  ext.func_info = std::move(f).value();
  ext.line_info = std::move(l).value();
  ext.core_relos = std::move(c).value();
  return ext;
}

}  // namespace bpfsign::btf
