#include "bpfsign/btf/btf_ext.hpp"

#include <cstring>

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

// Record parsers see exactly `min_size` bytes, already bounds-checked.
template <typename Record>
using RecordParser = Result<Record> (*)(const std::uint8_t*, const Btf&);

std::uint32_t u32_at(const std::uint8_t* p, std::size_t word) {
  std::uint32_t v;
  std::memcpy(&v, p + word * 4, 4);
  return v;
}

Result<FuncInfo> read_func_info(const std::uint8_t* p, const Btf& btf) {
  const FuncInfo fi{u32_at(p, 0), u32_at(p, 1)};
  if (!btf.valid_id(fi.type_id) || btf.kind(fi.type_id) != Kind::Func) {
    return bad_input("func_info type [{}] is not a FUNC", fi.type_id);
  }
  return fi;
}

Result<LineInfo> read_line_info(const std::uint8_t* p, const Btf& btf) {
  const LineInfo li{u32_at(p, 0), u32_at(p, 1), u32_at(p, 2), u32_at(p, 3)};
  if (!btf.valid_string(li.file_name_off) || !btf.valid_string(li.line_off)) {
    return bad_input("line_info string offset {} or {} is outside the BTF string section", li.file_name_off, li.line_off);
  }
  return li;
}

Result<CoreRelo> read_core_relo(const std::uint8_t* p, const Btf& btf) {
  const std::uint32_t insn_off = u32_at(p, 0), type_id = u32_at(p, 1), access = u32_at(p, 2), kind = u32_at(p, 3);
  if (!btf.valid_id(type_id)) return bad_input("CO-RE relocation type [{}] does not exist", type_id);
  if (!btf.valid_string(access)) return bad_input("CO-RE relocation access string offset {} is outside the BTF string section", access);
  if (kind > kMaxCoreReloKind) return bad_input("CO-RE relocation kind {} is unknown", kind);
  return CoreRelo{insn_off, type_id, access, static_cast<CoreReloKind>(kind)};
}

// One info block: a record size, then sections of {name, count, records}.
template <typename Record>
Result<std::vector<ExtSection<Record>>> parse_block(Bytes block, const Btf& btf, const char* what,
                                                     std::uint32_t min_size, RecordParser<Record> parse_record) {
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
    for (std::uint32_t i = 0; i < *count; ++i) {
      const std::uint8_t* raw = all->data() + std::size_t{i} * *rec_size;
      auto rec = parse_record(raw, btf);
      if (!rec) return rec.error().with_context(fmt::format("{}: section '{}' record {}", what, sec.section, i));
      // Fields the kernel does not know must be zero, as it requires of
      // user-supplied records larger than its own.
      for (std::size_t b = min_size; b < *rec_size; ++b) {
        if (raw[b] != 0) return bad_input("{}: section '{}' record {}: unknown trailing bytes are not zero", what, sec.section, i);
      }
      sec.records[i] = *rec;
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
  auto f = parse_block<FuncInfo>(*func, btf, "BTF.ext func_info", kFuncInfoSize, read_func_info);
  if (!f) return f.error();
  auto l = parse_block<LineInfo>(*line, btf, "BTF.ext line_info", kLineInfoSize, read_line_info);
  if (!l) return l.error();
  auto c = parse_block<CoreRelo>(*core, btf, "BTF.ext core_relo", kCoreReloSize, read_core_relo);
  if (!c) return c.error();
  ext.func_info = std::move(f).value();
  ext.line_info = std::move(l).value();
  ext.core_relos = std::move(c).value();
  return ext;
}

}  // namespace bpfsign::btf
