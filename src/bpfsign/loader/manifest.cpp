#include "bpfsign/loader/manifest.hpp"

#include <cstring>

namespace bpfsign::loader {

namespace {

constexpr std::uint32_t kMaxName = 4096;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

class Reader {
 public:
  explicit Reader(Bytes data) : r_(data) {}
  Result<std::uint8_t> u8(const char* what) { return r_.read<std::uint8_t>(what); }
  Result<std::uint32_t> u32(const char* what) { return r_.read<std::uint32_t>(what); }
  Result<std::string> str(const char* what) {
    auto n = u32(what);
    if (!n) return n.error();
    if (*n > kMaxName) return bad_input("manifest: {} at offset {}: {} bytes is longer than {}", what, r_.offset() - 4, *n, kMaxName);
    auto bytes = r_.take(*n, what);
    if (!bytes) return bytes.error().with_context("manifest");
    return std::string(bytes->begin(), bytes->end());
  }
  // A count of records each at least `min_record` bytes long: refused if
  // the input cannot hold them, so that no count makes us allocate blindly.
  Result<std::uint32_t> count(const char* what, std::size_t min_record) {
    auto n = u32(what);
    if (!n) return n.error();
    if (static_cast<std::uint64_t>(*n) * min_record > r_.remaining()) {
      return bad_input("manifest: {} at offset {}: {} records cannot fit the {} bytes left", what, r_.offset() - 4, *n, r_.remaining());
    }
    return *n;
  }
  std::size_t offset() const { return r_.offset(); }
  bool at_end() const { return r_.at_end(); }

 private:
  ByteReader r_;
};

#define TRY(var, expr)                              \
  auto var##_r = (expr);                            \
  if (!var##_r) return var##_r.error();             \
  auto var = std::move(var##_r).value()

template <typename E>
Result<E> enum_value(std::uint8_t raw, std::uint8_t last, const char* what, std::size_t offset) {
  if (raw > last) return bad_input("manifest: {} at offset {}: value {} is not one this version knows (0..{})", what, offset, raw, last);
  return static_cast<E>(raw);
}

}  // namespace

std::vector<std::uint8_t> serialize_manifest(const LoaderProgram& loader) {
  Writer w;
  w.u32(kManifestMagic);
  w.u32(kManifestVersion);
  w.u32(loader.context.maps);
  w.u32(loader.context.programs);
  w.u32(loader.context.kconfig_size);
  w.u32(static_cast<std::uint32_t>(loader.steps.size()));
  for (const auto& s : loader.steps) {
    w.u8(static_cast<std::uint8_t>(s.kind));
    w.str(s.object);
  }
  w.u32(static_cast<std::uint32_t>(loader.map_summaries.size()));
  for (const auto& m : loader.map_summaries) {
    w.str(m.name);
    w.u32(m.value_size);
    w.u8(m.mmapable ? 1 : 0);
    w.u8(m.read_only ? 1 : 0);
  }
  w.u32(static_cast<std::uint32_t>(loader.program_summaries.size()));
  for (const auto& p : loader.program_summaries) {
    w.str(p.name);
    w.str(p.section);
    w.u8(static_cast<std::uint8_t>(p.attach));
    w.u32(p.expected_attach_type);
    w.str(p.attach_target);
  }
  w.u32(static_cast<std::uint32_t>(loader.kconfig.size()));
  for (const auto& k : loader.kconfig) {
    w.str(k.name);
    w.u8(static_cast<std::uint8_t>(k.type));
    w.u8(k.is_signed ? 1 : 0);
    w.u8(k.weak ? 1 : 0);
    w.u32(k.offset);
    w.u32(k.size);
  }
  return w.take();
}

Status parse_manifest(Bytes data, LoaderProgram& loader) {
  Reader r(data);
  TRY(magic, r.u32("magic"));
  if (magic != kManifestMagic) return bad_input("manifest: bad magic {:#x} (expected {:#x})", magic, kManifestMagic);
  TRY(version, r.u32("version"));
  if (version != kManifestVersion) return bad_input("manifest: version {} is not supported (this bpfsign reads {})", version, kManifestVersion);
  TRY(maps, r.u32("context map count"));
  TRY(programs, r.u32("context program count"));
  TRY(kconfig_size, r.u32("kconfig size"));
  loader.context = ContextLayout{maps, programs, kconfig_size};
  if (maps > 0x10000 || programs > 0x10000 || kconfig_size > 0x10000 || loader.context.size() > 0x7ff0) {
    return bad_input("manifest: context of {} maps, {} programs and {} kconfig bytes exceeds a loader's context", maps, programs, kconfig_size);
  }

  TRY(steps, r.count("step count", 5));
  loader.steps.clear();
  loader.steps.reserve(steps);  // bounded by count(): the input holds them
  for (std::uint32_t i = 0; i < steps; ++i) {
    const std::size_t at = r.offset();
    TRY(raw, r.u8("step kind"));
    TRY(kind, enum_value<LoaderStep::Kind>(raw, static_cast<std::uint8_t>(LoaderStep::Kind::SlotUpdate), "step kind", at));
    TRY(object, r.str("step object"));
    loader.steps.push_back({kind, std::move(object)});
  }

  TRY(nmaps, r.count("map count", 10));
  if (nmaps != maps) return bad_input("manifest: {} map records for a context of {} maps", nmaps, maps);
  loader.maps.clear();
  loader.map_summaries.clear();
  loader.maps.reserve(nmaps);
  loader.map_summaries.reserve(nmaps);
  for (std::uint32_t i = 0; i < nmaps; ++i) {
    MapSummary m;
    TRY(name, r.str("map name"));
    TRY(value_size, r.u32("map value size"));
    TRY(mmapable, r.u8("map mmapable"));
    TRY(read_only, r.u8("map read_only"));
    if (mmapable > 1 || read_only > 1) return bad_input("manifest: map '{}': flag bytes must be 0 or 1", name);
    m.name = name;
    m.value_size = value_size;
    m.mmapable = mmapable != 0;
    m.read_only = read_only != 0;
    loader.maps.push_back(std::move(name));
    loader.map_summaries.push_back(std::move(m));
  }

  TRY(nprogs, r.count("program count", 17));
  if (nprogs != programs) return bad_input("manifest: {} program records for a context of {} programs", nprogs, programs);
  loader.programs.clear();
  loader.program_summaries.clear();
  loader.programs.reserve(nprogs);
  loader.program_summaries.reserve(nprogs);
  for (std::uint32_t i = 0; i < nprogs; ++i) {
    ProgramSummary p;
    TRY(name, r.str("program name"));
    TRY(section, r.str("program section"));
    const std::size_t at = r.offset();
    TRY(raw, r.u8("program attach method"));
    TRY(attach, enum_value<object::AttachMethod>(raw, static_cast<std::uint8_t>(object::AttachMethod::kLast), "attach method", at));
    TRY(eat, r.u32("expected attach type"));
    TRY(target, r.str("attach target"));
    p.name = name;
    p.section = std::move(section);
    p.attach = attach;
    p.expected_attach_type = eat;
    p.attach_target = std::move(target);
    loader.programs.push_back(std::move(name));
    loader.program_summaries.push_back(std::move(p));
  }

  TRY(nkconfig, r.count("kconfig count", 15));
  loader.kconfig.clear();
  for (std::uint32_t i = 0; i < nkconfig; ++i) {
    KconfigValue k;
    TRY(name, r.str("kconfig name"));
    const std::size_t at = r.offset();
    TRY(raw, r.u8("kconfig type"));
    TRY(type, enum_value<object::KconfigType>(raw, static_cast<std::uint8_t>(object::KconfigType::CharArray), "kconfig type", at));
    TRY(is_signed, r.u8("kconfig signed"));
    TRY(weak, r.u8("kconfig weak"));
    TRY(offset, r.u32("kconfig offset"));
    TRY(size, r.u32("kconfig size"));
    if (is_signed > 1 || weak > 1) return bad_input("manifest: kconfig '{}': flag bytes must be 0 or 1", name);
    if (static_cast<std::uint64_t>(offset) + size > kconfig_size) {
      return bad_input("manifest: kconfig '{}' at [{}, +{}) lies outside the {}-byte kconfig area", name, offset, size, kconfig_size);
    }
    k.name = std::move(name);
    k.type = type;
    k.is_signed = is_signed != 0;
    k.weak = weak != 0;
    k.offset = offset;
    k.size = size;
    loader.kconfig.push_back(std::move(k));
  }
  if (!r.at_end()) return bad_input("manifest: {} trailing bytes at offset {}", data.size() - r.offset(), r.offset());
  return Ok{};
}

#undef TRY

}  // namespace bpfsign::loader
