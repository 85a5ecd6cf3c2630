#include "bpfsign/loader/manifest.hpp"

#include <algorithm>
#include <cstring>
#include <optional>
#include <string_view>

#include "bpfsign/common/sha256.hpp"

namespace bpfsign::loader {

namespace {

constexpr std::uint32_t kMaxName = 4096;

class Writer {
 public:
  void u8(std::uint8_t v) { out_.push_back(v); }
  void u32(std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void u64(std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  void str(const std::string& s) {
    u32(static_cast<std::uint32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  std::vector<std::uint8_t> take() { return std::move(out_); }

 private:
  std::vector<std::uint8_t> out_;
};

// Reads fields without a Result per field (a manifest has hundreds): the
// first failure is kept, later reads give 0 or "", and the parser checks
// failed() wherever a value decides what it does next.
class Reader {
 public:
  explicit Reader(Bytes data) : data_(data) {}
  std::uint8_t u8(const char* what) { return fixed<std::uint8_t>(what); }
  std::uint32_t u32(const char* what) { return fixed<std::uint32_t>(what); }
  std::uint64_t u64(const char* what) { return fixed<std::uint64_t>(what); }
  std::string_view str(const char* what) {
    const std::uint32_t n = u32(what);
    if (failed()) return {};
    if (n > kMaxName) {
      fail(bad_input("manifest: {} at offset {}: {} bytes is longer than {}", what, pos_ - 4, n, kMaxName));
      return {};
    }
    if (n > remaining()) {
      fail(bad_input("manifest: {} at offset {}: need {} bytes, only {} left", what, pos_, n, remaining()));
      return {};
    }
    const std::string_view out(reinterpret_cast<const char*>(data_.data()) + pos_, n);
    pos_ += n;
    return out;
  }
  // A count of records each at least `min_record` bytes long: refused if
  // the input cannot hold them, so that no count makes us allocate blindly.
  std::uint32_t count(const char* what, std::size_t min_record) {
    const std::uint32_t n = u32(what);
    if (!failed() && static_cast<std::uint64_t>(n) * min_record > remaining()) {
      fail(bad_input("manifest: {} at offset {}: {} records cannot fit the {} bytes left", what, pos_ - 4, n, remaining()));
    }
    return failed() ? 0 : n;
  }
  std::size_t offset() const { return pos_; }
  std::size_t remaining() const { return data_.size() - pos_; }
  bool at_end() const { return pos_ == data_.size(); }
  bool failed() const { return error_.has_value(); }
  const Error& error() const { return *error_; }
  void fail(Error e) {
    if (!error_) error_ = std::move(e);
  }

 private:
  template <typename T>
  T fixed(const char* what) {
    if (failed()) return 0;
    if (remaining() < sizeof(T)) {
      fail(bad_input("manifest: {} at offset {}: need {} bytes, only {} left", what, pos_, sizeof(T), remaining()));
      return 0;
    }
    T v;
    std::memcpy(&v, data_.data() + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  Bytes data_;
  std::size_t pos_ = 0;
  std::optional<Error> error_;
};

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
  w.u32(loader.context.settings);
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
  w.u32(static_cast<std::uint32_t>(loader.settings.size()));
  for (const auto& s : loader.settings) {
    w.u8(static_cast<std::uint8_t>(s.kind));
    w.str(s.name);
    w.u32(s.target);
    w.u32(s.offset);
    w.u32(s.size);
    w.u8(s.is_signed ? 1 : 0);
    w.u8(s.value_set ? 1 : 0);
    w.u64(s.min);
    w.u64(s.max);
    w.u32(static_cast<std::uint32_t>(s.values.size()));
    for (std::uint64_t v : s.values) w.u64(v);
    w.u8(s.fallback_for ? 1 : 0);
    w.u32(s.fallback_for.value_or(0));
  }
  return w.take();
}

bool manifest_digest_matches(Bytes metadata, Bytes manifest) {
  if (metadata.size() < kManifestDigestSize) return false;
  const Sha256 digest = sha256(manifest);
  return std::equal(digest.begin(), digest.end(), metadata.end() - static_cast<std::ptrdiff_t>(kManifestDigestSize));
}

namespace {

// The settings records: each names a map or program that exists, a
// variable inside its map's value, and bounds of its own size and order.
Status parse_settings(Reader& r, LoaderProgram& loader) {
  const std::uint32_t n = r.count("setting count", 44);
  if (r.failed()) return r.error();
  if (n > kMaxSettings) return bad_input("manifest: {} settings (at most {})", n, kMaxSettings);
  loader.settings.clear();
  loader.settings.reserve(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    const std::size_t at = r.offset();
    Setting s;
    const std::uint8_t kind = r.u8("setting kind");
    const std::string_view name = r.str("setting name");
    s.target = r.u32("setting target");
    s.offset = r.u32("setting offset");
    s.size = r.u32("setting size");
    const std::uint8_t is_signed = r.u8("setting signed");
    const std::uint8_t value_set = r.u8("setting value_set");
    s.min = r.u64("setting min");
    s.max = r.u64("setting max");
    const std::uint32_t nvalues = r.count("setting value count", 8);
    if (r.failed()) return r.error();
    if (nvalues > kMaxValues) return bad_input("manifest: setting '{}': {} values (at most {})", name, nvalues, kMaxValues);
    for (std::uint32_t v = 0; v < nvalues; ++v) s.values.push_back(r.u64("setting value"));
    const std::uint8_t has_fallback = r.u8("setting has fallback");
    const std::uint32_t fallback = r.u32("setting fallback");
    if (r.failed()) return r.error();
    auto k = enum_value<Setting::Kind>(kind, static_cast<std::uint8_t>(Setting::Kind::OptionalProgram), "setting kind", at);
    if (!k) return k.error();
    s.kind = *k;
    s.name = std::string(name);
    if (is_signed > 1 || value_set > 1 || has_fallback > 1) return bad_input("manifest: setting '{}': flag bytes must be 0 or 1", name);
    s.is_signed = is_signed != 0;
    s.value_set = value_set != 0;
    if (has_fallback) s.fallback_for = fallback;
    const bool bounded = s.kind != Setting::Kind::OptionalProgram;
    const std::uint32_t targets = s.kind == Setting::Kind::OptionalProgram ? loader.context.programs : loader.context.maps;
    if (s.target >= targets) return bad_input("manifest: setting '{}' at offset {}: target {} of {}", name, at, s.target, targets);
    if (s.fallback_for && (s.kind != Setting::Kind::OptionalProgram || *s.fallback_for >= loader.context.programs || *s.fallback_for == s.target)) {
      return bad_input("manifest: setting '{}': fallback_for {} names no other program", name, *s.fallback_for);
    }
    if (bounded && (s.size == 0 || s.size > 8 || (s.size & (s.size - 1)) != 0)) return bad_input("manifest: setting '{}': size {}", name, s.size);
    if (s.kind == Setting::Kind::Variable) {
      const std::uint32_t value_size = loader.map_summaries[s.target].value_size;
      if (static_cast<std::uint64_t>(s.offset) + s.size > value_size) {
        return bad_input("manifest: setting '{}' at [{}, +{}) lies outside the {}-byte map value", name, s.offset, s.size, value_size);
      }
    }
    if (bounded && s.value_set == s.values.empty()) return bad_input("manifest: setting '{}': values and value_set disagree", name);
    if (bounded && !s.value_set && !s.allows(s.min)) return bad_input("manifest: setting '{}': min above max", name);
    if (!bounded && (s.value_set || !s.values.empty())) return bad_input("manifest: setting '{}': a program takes no values", name);
    loader.settings.push_back(std::move(s));
  }
  if (loader.settings.size() != loader.context.settings) {
    return bad_input("manifest: {} settings for a context of {}", loader.settings.size(), loader.context.settings);
  }
  return Ok{};
}

Status parse_into(Bytes data, LoaderProgram& loader) {
  Reader r(data);
  const std::uint32_t magic = r.u32("magic");
  const std::uint32_t version = r.u32("version");
  if (r.failed()) return r.error();
  if (magic != kManifestMagic) return bad_input("manifest: bad magic {:#x} (expected {:#x})", magic, kManifestMagic);
  if (version != kManifestVersion) return bad_input("manifest: version {} is not supported (this bpfsign reads {})", version, kManifestVersion);
  const std::uint32_t maps = r.u32("context map count");
  const std::uint32_t programs = r.u32("context program count");
  const std::uint32_t kconfig_size = r.u32("kconfig size");
  const std::uint32_t settings = r.u32("context settings count");
  if (r.failed()) return r.error();
  const ContextLayout context{maps, programs, kconfig_size, settings};
  if (maps > 0x10000 || programs > 0x10000 || kconfig_size > 0x10000 || settings > kMaxSettings || context.size() > 0x7ff0) {
    return bad_input("manifest: context of {} maps, {} programs and {} kconfig bytes exceeds a loader's context", maps, programs, kconfig_size);
  }

  loader.context = context;
  const std::uint32_t steps = r.count("step count", 5);
  loader.steps.clear();
  loader.steps.reserve(steps);  // bounded by count(): the input holds them
  for (std::uint32_t i = 0; i < steps && !r.failed(); ++i) {
    const std::size_t at = r.offset();
    const std::uint8_t kind = r.u8("step kind");
    const std::string_view object = r.str("step object");
    if (r.failed()) break;
    auto k = enum_value<LoaderStep::Kind>(kind, static_cast<std::uint8_t>(LoaderStep::Kind::SettingBound), "step kind", at);
    if (!k) return k.error();
    loader.steps.push_back({*k, std::string(object)});
  }

  const std::uint32_t nmaps = r.count("map count", 10);
  if (r.failed()) return r.error();
  if (nmaps != maps) return bad_input("manifest: {} map records for a context of {} maps", nmaps, maps);
  loader.maps.clear();
  loader.map_summaries.clear();
  loader.maps.reserve(nmaps);
  loader.map_summaries.reserve(nmaps);
  for (std::uint32_t i = 0; i < nmaps; ++i) {
    const std::string_view name = r.str("map name");
    const std::uint32_t value_size = r.u32("map value size");
    const std::uint8_t mmapable = r.u8("map mmapable");
    const std::uint8_t read_only = r.u8("map read_only");
    if (r.failed()) return r.error();
    if (mmapable > 1 || read_only > 1) return bad_input("manifest: map '{}': flag bytes must be 0 or 1", name);
    loader.maps.emplace_back(name);
    loader.map_summaries.push_back({std::string(name), value_size, mmapable != 0, read_only != 0});
  }

  const std::uint32_t nprogs = r.count("program count", 17);
  if (r.failed()) return r.error();
  if (nprogs != programs) return bad_input("manifest: {} program records for a context of {} programs", nprogs, programs);
  loader.programs.clear();
  loader.program_summaries.clear();
  loader.programs.reserve(nprogs);
  loader.program_summaries.reserve(nprogs);
  for (std::uint32_t i = 0; i < nprogs; ++i) {
    const std::string_view name = r.str("program name");
    const std::string_view section = r.str("program section");
    const std::size_t at = r.offset();
    const std::uint8_t raw = r.u8("program attach method");
    const std::uint32_t eat = r.u32("expected attach type");
    const std::string_view target = r.str("attach target");
    if (r.failed()) return r.error();
    auto attach = enum_value<object::AttachMethod>(raw, static_cast<std::uint8_t>(object::AttachMethod::kLast), "attach method", at);
    if (!attach) return attach.error();
    loader.programs.emplace_back(name);
    loader.program_summaries.push_back({std::string(name), std::string(section), *attach, eat, std::string(target)});
  }

  const std::uint32_t nkconfig = r.count("kconfig count", 15);
  if (r.failed()) return r.error();
  loader.kconfig.clear();
  for (std::uint32_t i = 0; i < nkconfig; ++i) {
    const std::string_view name = r.str("kconfig name");
    const std::size_t at = r.offset();
    const std::uint8_t raw = r.u8("kconfig type");
    const std::uint8_t is_signed = r.u8("kconfig signed");
    const std::uint8_t weak = r.u8("kconfig weak");
    const std::uint32_t offset = r.u32("kconfig offset");
    const std::uint32_t size = r.u32("kconfig size");
    if (r.failed()) return r.error();
    auto type = enum_value<object::KconfigType>(raw, static_cast<std::uint8_t>(object::KconfigType::CharArray), "kconfig type", at);
    if (!type) return type.error();
    if (is_signed > 1 || weak > 1) return bad_input("manifest: kconfig '{}': flag bytes must be 0 or 1", name);
    if (!object::kconfig_size_fits(*type, size)) {
      return bad_input("manifest: kconfig '{}' at offset {}: a {} value cannot be {} bytes", name, at, object::kconfig_type_name(*type), size);
    }
    if (static_cast<std::uint64_t>(offset) + size > kconfig_size) {
      return bad_input("manifest: kconfig '{}' at [{}, +{}) lies outside the {}-byte kconfig area", name, offset, size, kconfig_size);
    }
    loader.kconfig.push_back({std::string(name), *type, is_signed != 0, weak != 0, offset, size});
  }
  if (auto ok = parse_settings(r, loader); !ok) return ok;
  if (!r.at_end()) return bad_input("manifest: {} trailing bytes at offset {}", data.size() - r.offset(), r.offset());
  return Ok{};
}

}  // namespace

Status parse_manifest(Bytes data, LoaderProgram& loader) { return parse_into(data, loader); }

}  // namespace bpfsign::loader
