#include "bpfsign/gate/policy.hpp"

#include <sys/stat.h>
#include <sys/statfs.h>

#include <algorithm>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "bpfsign/common/admin_path.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/strict_json.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/abi/bpf_enums.hpp"

namespace bpfsign::gate {

namespace {

using nlohmann::json;
constexpr long kCgroup2Magic = 0x63677270;

// A type name as bpftool prints it ("tracepoint", "hash"), to its number.
Result<std::uint32_t> type_number(const std::string& name, bool program, const std::string& where) {
  for (std::uint32_t t = 1; t < 64; ++t) {
    const std::string known = program ? abi::prog_type_name(t) : abi::map_type_name(t);
    if (known == name) return t;
  }
  return bad_input("{}: '{}' is not a {} type bpfsign knows (names as bpftool prints them)", where, name, program ? "program" : "map");
}

Result<std::vector<std::uint32_t>> types(const json& doc, const char* key, bool program) {
  std::vector<std::uint32_t> out;
  if (!doc.contains(key)) return out;
  const json& list = doc[key];
  if (!list.is_array() || list.empty()) return bad_input("{}: expected a non-empty list of type names", key);
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = fmt::format("{}[{}]", key, i);
    if (!list[i].is_string()) return bad_input("{}: expected a type name", where);
    auto t = type_number(list[i].get<std::string>(), program, where);
    if (!t) return t.error();
    out.push_back(*t);
  }
  return out;
}

Result<Signer> signer_of(const json& s, std::size_t i) {
  const std::string where = fmt::format("signers[{}]", i);
  if (!s.is_object()) return bad_input("{}: expected {{\"keyring\": NAME}}, {{\"keyring_serial\": N}} or {{\"certificate\": FILE}}", where);
  if (auto ok = json_only_keys(s, {"keyring", "keyring_serial", "certificate"}, where); !ok) return ok.error();
  Signer out;
  if (s.contains("keyring")) {
    if (!s["keyring"].is_string() || s["keyring"].get<std::string>().empty()) return bad_input("{}.keyring: expected a keyring name", where);
    out.keyring = s["keyring"].get<std::string>();
    // A name, not a special id: "@u" or "-4" would let the load name the
    // user keyring, which the kernel searches with every keyring linked
    // under it, whoever put them there.
    if (out.keyring.front() == '@' || out.keyring.find_first_not_of("-0123456789") == std::string::npos) {
      return bad_input("{}.keyring: '{}' is a special keyring or a number; name a keyring (bpfsign keyring add CERT --keyring NAME) "
                       "or give keyring_serial",
                       where, out.keyring);
    }
  }
  if (s.contains("keyring_serial")) {
    if (!out.keyring.empty() || s.contains("certificate")) return bad_input("{}.keyring_serial: names a keyring on its own (no keyring or certificate with it)", where);
    if (!s["keyring_serial"].is_number_integer() || s["keyring_serial"].get<std::int64_t>() <= 0 ||
        s["keyring_serial"].get<std::int64_t>() > INT32_MAX) {
      return bad_input("{}.keyring_serial: expected a keyring serial (a positive 32-bit integer)", where);
    }
    out.serial = static_cast<std::int32_t>(s["keyring_serial"].get<std::int64_t>());
    return out;
  }
  if (s.contains("certificate")) {
    if (!s["certificate"].is_string() || s["certificate"].get<std::string>().empty()) return bad_input("{}.certificate: expected a file name", where);
    out.certificate = s["certificate"].get<std::string>();
    if (out.keyring.empty()) out.keyring = kDefaultSignerKeyring;
    return out;
  }
  if (out.keyring.empty()) return bad_input("{}: expected keyring, keyring_serial or certificate", where);
  return out;
}

}  // namespace

std::uint64_t mask_of(const std::vector<std::uint32_t>& list) {
  if (list.empty()) return ~std::uint64_t{0};
  std::uint64_t mask = 0;
  for (auto t : list) mask |= std::uint64_t{1} << t;
  return mask;
}

Result<Policy> parse_policy(Bytes bytes, const std::string& what) {
  auto parsed = parse_json_strict(bytes, what);
  if (!parsed) return parsed.error();
  const json& doc = *parsed;
  auto fail = [&](const Error& e) { return e.with_context(what); };
  if (!doc.is_object()) return bad_input("{}: expected a JSON object", what);
  if (auto ok = json_only_keys(doc, {"mode", "signers", "program_types", "map_types", "scope", "unsigned_loads"}, what); !ok) return ok.error();
  Policy p;
  if (!doc.contains("mode") || !doc["mode"].is_string()) return bad_input("{}: mode: expected \"enforce\" or \"audit\"", what);
  const std::string mode = doc["mode"].get<std::string>();
  if (mode == "enforce") {
    p.mode = Mode::Enforce;
  } else if (mode == "audit") {
    p.mode = Mode::Audit;
  } else {
    return bad_input("{}: mode: '{}' is neither \"enforce\" nor \"audit\"", what, mode);
  }
  if (doc.contains("signers")) {
    const json& list = doc["signers"];
    if (!list.is_array()) return bad_input("{}: signers: expected a list", what);
    if (list.size() > kMaxKeyrings) return bad_input("{}: signers: {} signers (at most {})", what, list.size(), kMaxKeyrings);
    for (std::size_t i = 0; i < list.size(); ++i) {
      auto s = signer_of(list[i], i);
      if (!s) return fail(s.error());
      for (std::size_t j = 0; j < p.signers.size(); ++j) {
        const Signer& t = p.signers[j];
        if (t.keyring == s->keyring && t.serial == s->serial && t.certificate == s->certificate) {
          return bad_input("{}: signers[{}]: the same signer as signers[{}]", what, i, j);
        }
      }
      p.signers.push_back(std::move(s).value());
    }
    // Start clears a certificate signer's keyring: no keyring signer may
    // name the same one.
    for (std::size_t i = 0; i < p.signers.size(); ++i) {
      for (std::size_t j = 0; j < p.signers.size(); ++j) {
        if (!p.signers[i].certificate.empty() && p.signers[j].certificate.empty() && p.signers[j].keyring == p.signers[i].keyring) {
          return bad_input("{}: signers[{}]: keyring '{}' is filled by start with certificate signers' certificates (signers[{}]); "
                           "give this signer another keyring",
                           what, j, p.signers[j].keyring, i);
        }
      }
    }
  }
  if (p.mode == Mode::Enforce && p.signers.empty() && !doc.contains("unsigned_loads")) {
    return bad_input("{}: signers: an enforcing gate with no signer admits nothing signed", what);
  }
  auto programs = types(doc, "program_types", true);
  if (!programs) return fail(programs.error());
  p.program_types = std::move(programs).value();
  auto maps = types(doc, "map_types", false);
  if (!maps) return fail(maps.error());
  p.map_types = std::move(maps).value();
  if (doc.contains("scope")) {
    const json& scope = doc["scope"];
    if (!scope.is_object() || scope.size() != 1 || !scope.contains("cgroup") || !scope["cgroup"].is_string()) {
      return bad_input("{}: scope: expected {{\"cgroup\": PATH}}", what);
    }
    p.scope_cgroup = scope["cgroup"].get<std::string>();
    if (p.scope_cgroup.empty() || p.scope_cgroup.front() != '/') return bad_input("{}: scope.cgroup: expected an absolute path", what);
  }
  if (doc.contains("unsigned_loads")) {
    const json& u = doc["unsigned_loads"];
    if (!u.is_string() || (u.get<std::string>() != "refuse" && u.get<std::string>() != "admit")) {
      return bad_input("{}: unsigned_loads: expected \"refuse\" or \"admit\"", what);
    }
    p.admit_unsigned = u.get<std::string>() == "admit";
  }
  return p;
}

Result<Policy> read_policy(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  return parse_policy(*bytes, path);
}

Result<std::vector<sign::Certificate>> signer_certificates(const Signer& s) {
  if (s.certificate.empty()) return std::vector<sign::Certificate>{};
  // What it holds becomes trusted: only root (or this user) may be able to write it.
  if (auto ok = check_admin_path(s.certificate, AdminPathKind::RegularFile); !ok) return ok.error().with_context("signers: certificate");
  auto certs = sign::Certificate::load_all(s.certificate);
  if (!certs) return certs.error().with_context("signers: certificate");
  return certs;
}

Result<GateConfig> resolve_policy(const Policy& p) {
  GateConfig c;
  c.mode = p.mode;
  c.admit_unsigned = p.admit_unsigned ? 1 : 0;
  c.prog_types = mask_of(p.program_types);
  c.map_types = mask_of(p.map_types);
  // Every certificate is read before any is enrolled: a bad file changes
  // no keyring.
  std::vector<std::vector<sign::Certificate>> certificates;
  for (const auto& s : p.signers) {
    auto certs = signer_certificates(s);
    if (!certs) return certs.error();
    certificates.push_back(std::move(certs).value());
  }
  std::vector<std::int32_t> cleared;  // certificate keyrings emptied by this start
  for (std::size_t i = 0; i < p.signers.size(); ++i) {
    const Signer& s = p.signers[i];
    std::int32_t serial = 0;
    if (s.serial) {
      serial = *s.serial;
    } else {
      auto r = kernel::resolve_keyring(s.keyring, !s.certificate.empty());
      if (!r && s.certificate.empty()) {
        return Error{r.error().kind, fmt::format("signers: {} (bpfsign keyring add CERT --keyring {} makes it)", r.error().message, s.keyring)};
      }
      if (!r) return r.error().with_context("signers");
      serial = *r;
    }
    if (!s.certificate.empty() && std::find(cleared.begin(), cleared.end(), serial) == cleared.end()) {
      if (auto ok = kernel::clear_keyring(serial); !ok) return ok.error().with_context(fmt::format("signers: keyring '{}'", s.keyring));
      cleared.push_back(serial);
    }
    for (const auto& cert : certificates[i]) {
      auto key = kernel::add_certificate(cert.der(), serial, "");
      if (!key) return key.error().with_context(fmt::format("signers: enrolling {} into keyring '{}'", s.certificate, s.keyring));
    }
    // Two certificate signers may share a keyring: it is admitted once.
    if (std::find(c.keyring_serial, c.keyring_serial + c.keyrings, serial) == c.keyring_serial + c.keyrings) {
      c.keyring_serial[c.keyrings++] = serial;
    }
  }
  if (!p.scope_cgroup.empty()) {
    // A cgroup v2 directory: its inode number is its id; its level is its
    // depth below the hierarchy's root.
    // Its real path: the level is counted in path components, which a
    // symbolic link on the way would change.
    std::error_code ec;
    const std::filesystem::path dir = std::filesystem::canonical(p.scope_cgroup, ec);
    if (ec) return bad_input("scope.cgroup: {}: {}", p.scope_cgroup, ec.message());
    struct statfs fs {};
    struct stat st {};
    if (::statfs(dir.c_str(), &fs) != 0 || fs.f_type != kCgroup2Magic || ::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
      return bad_input("scope.cgroup: {} is not a cgroup v2 directory", p.scope_cgroup);
    }
    c.scope_cgroup_id = st.st_ino;
    std::uint32_t level = 0;
    for (auto up = dir.lexically_normal(); up.has_relative_path();) {
      up = up.parent_path();
      struct statfs parent {};
      struct stat pst {};
      if (::statfs(up.c_str(), &parent) != 0 || parent.f_type != kCgroup2Magic || ::stat(up.c_str(), &pst) != 0 || pst.st_dev != st.st_dev) break;
      ++level;
    }
    c.scope_level = level;
  }
  return c;
}

}  // namespace bpfsign::gate
