#include "bpfsign/load/kernel_config.hpp"

#include "bpfsign/kernel/release.hpp"
#include "bpfsign/load/builtin_externs.hpp"

#include <zlib.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace bpfsign::load {

namespace {

Result<std::string> read_gzip(const char* path) {
  gzFile f = gzopen(path, "rb");
  if (f == nullptr) return io_error("{}: cannot open", path);
  std::string text;
  char buf[1 << 16];
  int n = 0;
  while ((n = gzread(f, buf, sizeof buf)) > 0) text.append(buf, static_cast<std::size_t>(n));
  const bool failed = n < 0;
  gzclose(f);
  if (failed) return io_error("{}: not a readable gzip file", path);
  return text;
}

Status encode_one(const loader::KconfigValue& v, const std::string& raw, std::uint8_t* out) {
  using object::KconfigType;
  auto bad = [&](const char* what) -> Status { return bad_input("kconfig {}: value '{}' {}", v.name, raw, what); };
  switch (v.type) {
    case KconfigType::Bool:
      if (raw != "y" && raw != "m" && raw != "n") return bad("is not y, m or n");
      out[0] = raw == "n" ? 0 : 1;
      return Ok{};
    case KconfigType::Char:
      if (raw != "y" && raw != "m" && raw != "n") return bad("is not y, m or n");
      out[0] = static_cast<std::uint8_t>(raw[0]);
      return Ok{};
    case KconfigType::Tristate: {
      if (raw != "y" && raw != "m" && raw != "n") return bad("is not y, m or n");
      const std::uint32_t t = raw == "y" ? 1 : raw == "m" ? 2 : 0;  // enum libbpf_tristate
      std::memcpy(out, &t, std::min<std::size_t>(v.size, 4));
      return Ok{};
    }
    case KconfigType::Int: {
      std::int64_t n = 0;
      const char* first = raw.data();
      const char* last = raw.data() + raw.size();
      int base = 10;
      if (raw.size() > 2 && raw[0] == '0' && (raw[1] == 'x' || raw[1] == 'X')) {
        first += 2;
        base = 16;
      }
      auto [ptr, ec] = std::from_chars(first, last, n, base);
      if (ec != std::errc() || ptr != last) return bad("is not a number");
      if (v.size < 8) {
        const std::int64_t bits = 8 * static_cast<std::int64_t>(v.size);
        const bool fits = v.is_signed ? (n >= -(std::int64_t{1} << (bits - 1)) && n < (std::int64_t{1} << (bits - 1)))
                                      : (n >= 0 && n < (std::int64_t{1} << bits));
        if (!fits) return bad("does not fit the extern's type");
      }
      std::memcpy(out, &n, v.size);  // little-endian: the low bytes
      return Ok{};
    }
    case KconfigType::CharArray: {
      if (raw.size() < 2 || raw.front() != '"' || raw.back() != '"') return bad("is not a quoted string");
      const std::string text = raw.substr(1, raw.size() - 2);
      const std::size_t n = std::min<std::size_t>(text.size(), v.size - 1);
      std::memcpy(out, text.data(), n);
      out[n] = 0;
      return Ok{};
    }
    case KconfigType::None:
      break;
  }
  return bad("has no kconfig type");
}

// A value libbpf computes rather than reads (its set_kcfg_value_num): an
// int, char or bool extern, 0 or 1 for a bool, fitting the extern's size.
Status encode_number(const loader::KconfigValue& v, std::uint64_t value, std::uint8_t* out) {
  using object::KconfigType;
  if (v.type != KconfigType::Int && v.type != KconfigType::Char && v.type != KconfigType::Bool) {
    return bad_input("kconfig {}: value {} needs an integer, char or bool extern, not {}", v.name, value, object::kconfig_type_name(v.type));
  }
  if (v.type == KconfigType::Bool && value > 1) return bad_input("kconfig {}: value {} is not a bool", v.name, value);
  if (v.size < 8 && value >> (8 * v.size) != 0) return bad_input("kconfig {}: value {} does not fit {} bytes", v.name, value, v.size);
  std::memcpy(out, &value, v.size);  // little-endian: the low bytes
  return Ok{};
}

}  // namespace

Result<KernelConfig> read_kernel_config_uncached();

KernelConfig parse_kernel_config(const std::string& text) {
  KernelConfig config;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CONFIG_", 0) == 0) {
      const auto eq = line.find('=');
      if (eq != std::string::npos) config[line.substr(0, eq)] = line.substr(eq + 1);
    } else if (line.rfind("# CONFIG_", 0) == 0 && line.size() > 13 && line.ends_with(" is not set")) {
      config[line.substr(2, line.size() - 2 - 11)] = "n";
    }
  }
  return config;
}

Result<KernelConfig> read_kernel_config() {
  // The configuration of the running kernel does not change while it runs:
  // read it once per process.
  static const Result<KernelConfig> cached = read_kernel_config_uncached();
  return cached;
}

Result<KernelConfig> read_kernel_config_uncached() {
  const kernel::KernelRelease& u = kernel::running_release();
  // libbpf's order (gzopen reads plain files too), then the kernel's module
  // directory, where Debian 13 and newer install the configuration.
  const std::string boot = "/boot/config-" + u.release;
  const std::string modules = "/usr/lib/modules/" + u.release + "/config";
  for (const std::string& path : {boot, std::string("/proc/config.gz"), modules}) {
    if (auto text = read_gzip(path.c_str()); text) return parse_kernel_config(*text);
  }
  return io_error("no kernel configuration: none of {}, /proc/config.gz, {} is readable", boot, modules);
}

Result<KconfigSources> running_kconfig_sources(const std::vector<loader::KconfigValue>& values) {
  KconfigSources sources;
  for (const auto& v : values) {
    switch (object::kconfig_source(v.name)) {
      case object::KconfigSource::Config:
        if (!sources.config) {
          auto config = read_kernel_config();
          if (!config) return config.error().with_context(fmt::format("kconfig {}", v.name));
          sources.config = *config;
        }
        break;
      case object::KconfigSource::KernelVersion: sources.kernel_version = running_kernel_version(); break;
      case object::KconfigSource::HasBpfCookie: sources.has_bpf_cookie = running_kernel_has_bpf_cookie(); break;
      case object::KconfigSource::HasSyscallWrapper: sources.has_syscall_wrapper = running_kernel_has_syscall_wrapper(); break;
      case object::KconfigSource::UnknownLinux:
      case object::KconfigSource::Unrecognized: break;
    }
  }
  return sources;
}

Result<std::vector<std::uint8_t>> encode_kconfig(const std::vector<loader::KconfigValue>& values, const KconfigSources& sources,
                                                 std::uint32_t size) {
  std::vector<std::uint8_t> out(size, 0);
  for (const auto& v : values) {
    // The manifest parser holds values to these rules already; they are
    // checked again where the bytes are written, so that no caller can make
    // this function write or read outside the value it encodes.
    if (!object::kconfig_size_fits(v.type, v.size)) {
      return bad_input("kconfig {}: a {} value cannot be {} bytes", v.name, object::kconfig_type_name(v.type), v.size);
    }
    if (std::uint64_t{v.offset} + v.size > size) return bad_input("kconfig {}: [{}, +{}) lies outside the {}-byte area", v.name, v.offset, v.size, size);
    const object::KconfigSource source = object::kconfig_source(v.name);
    if (source != object::KconfigSource::Config) {
      std::uint64_t computed = 0;
      switch (source) {
        case object::KconfigSource::Config: break;
        case object::KconfigSource::KernelVersion:
          if (sources.kernel_version == 0) return bad_input("kconfig {}: the running kernel's version cannot be read", v.name);
          computed = sources.kernel_version;
          break;
        case object::KconfigSource::HasBpfCookie: computed = sources.has_bpf_cookie ? 1 : 0; break;
        case object::KconfigSource::HasSyscallWrapper: computed = sources.has_syscall_wrapper ? 1 : 0; break;
        case object::KconfigSource::UnknownLinux:
          if (v.weak) continue;  // 0, as libbpf leaves it
          return bad_input("kconfig {}: libbpf has no such built-in extern, and it is not weak", v.name);
        case object::KconfigSource::Unrecognized: return bad_input("kconfig {}: not a CONFIG_ name or a libbpf built-in extern", v.name);
      }
      if (auto s = encode_number(v, computed, out.data() + v.offset); !s) return s.error();
      continue;
    }
    std::string raw;
    if (!sources.config) {
      return bad_input("kconfig {}: no kernel configuration was read", v.name);
    } else if (auto it = sources.config->find(v.name); it != sources.config->end()) {
      raw = it->second;
    } else if (v.weak) {
      continue;  // absent: stays 0, as libbpf leaves it
    } else {
      return bad_input("kconfig {}: not in this kernel's configuration, and the extern is not weak", v.name);
    }
    if (auto s = encode_one(v, raw, out.data() + v.offset); !s) return s.error();
  }
  return out;
}

}  // namespace bpfsign::load
