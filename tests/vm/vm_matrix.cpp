// Runs inside each kernel booted under qemu (tests/vm/run-matrix.sh):
// enrols the test certificates in a keyring, loads the signed bundle of
// every corpus object with the scheme this kernel enforces, runs what can
// be run, then replays the tampered cases and checks that the kernel (or,
// on the loader-checked generation, the loader's own check) refuses each
// with the expected errno. One "ROW" line per case for the host's table:
//   ROW <case> <object> <PASS|FAIL> <outcome> | <kernel's errno and message>
// Exit status 0 only if every row passed.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <sys/utsname.h>

#include <fmt/core.h>

#include "bpfsign/bundle/bundle_builder.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/isa/decode.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/load/scheme_probe.hpp"
#include "bpfsign/sign/keys.hpp"

namespace fs = std::filesystem;
using namespace bpfsign;

namespace {

int failures = 0;

void row(const std::string& name, const std::string& object, bool pass, const std::string& outcome, const std::string& detail) {
  if (!pass) ++failures;
  std::string d = detail;
  for (char& c : d) {
    if (c == '\n') c = ' ';
  }
  fmt::print("ROW {} {} {} {} | {}\n", name, object, pass ? "PASS" : "FAIL", outcome, d.substr(0, 300));
  std::fflush(stdout);
}

int errno_of(const std::string& message) {
  static const std::regex re(R"(errno (\d+))");
  std::smatch m;
  return std::regex_search(message, m, re) ? std::stoi(m[1]) : 0;
}

struct Attempt {
  bool loaded = false;
  bool loader_refused = false;  // the loader's own metadata check said no
  int err = 0;
  std::string message;
  std::size_t programs = 0;
};

Attempt try_load(const bundle::Bundle& b, sign::Scheme scheme, std::int32_t keyring, load::RunOptions options = {},
                 const std::vector<std::uint8_t>* signature = nullptr) {
  Attempt a;
  auto l = bundle::loader_from_bundle(b, scheme);
  if (!l) {
    a.message = l.error().message;
    return a;
  }
  options.scheme = scheme;
  const auto* sig = b.signature_for(scheme);
  options.signature = signature != nullptr ? *signature : sig->der;
  options.keyring_id = keyring;
  auto loaded = load::run_loader(*l, options);
  if (loaded) {
    a.loaded = true;
    a.programs = loaded->programs.size();
    return a;
  }
  a.message = loaded.error().message;
  a.err = errno_of(a.message);
  a.loader_refused = a.message.find("refused its metadata") != std::string::npos;
  return a;
}

std::string describe(const Attempt& a) {
  if (a.loaded) return fmt::format("loaded ({} programs)", a.programs);
  if (a.loader_refused) return "refused by the loader's metadata check";
  return fmt::format("refused, errno {} ({})", a.err, a.err != 0 ? std::strerror(a.err) : "?");
}

// Flips a bit in the immediate of the first `mov reg, imm` of a loader:
// the program stays valid, only its signature no longer matches.
std::vector<std::uint8_t> flip_instruction(const std::vector<std::uint8_t>& code) {
  std::vector<std::uint8_t> out = code;
  for (std::size_t i = 0; i + 8 <= out.size(); i += 8) {
    if (out[i] == 0xb7 /* BPF_ALU64 | BPF_MOV | BPF_K */) {
      out[i + 4] ^= 0x01;
      return out;
    }
  }
  out[out.size() - 4] ^= 1;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    fmt::print(stderr, "usage: vm_matrix DIR (certificates and bundles made on the host)\n");
    return 2;
  }
  const fs::path dir = argv[1];
  utsname u{};
  uname(&u);
  auto probe = load::probe_scheme();
  if (!probe || !probe->scheme) {
    fmt::print("KERNEL {} scheme=none\n", u.release);
    row("probe", "-", false, "no scheme", probe ? probe->scheme_evidence : probe.error().message);
    return 1;
  }
  const sign::Scheme scheme = *probe->scheme;
  fmt::print("KERNEL {} scheme={} checks_signatures={}\n", u.release, sign::scheme_name(scheme), probe->checks_signatures ? "yes" : "no");
  fmt::print("EVIDENCE {} ; {}\n", probe->scheme_evidence, probe->signature_evidence);
  if (auto btf = read_file("/sys/kernel/btf/vmlinux")) fmt::print("LAYOUT struct bpf_map: {}\n", load::bpf_map_layout(*btf));
  row("probe", "-", probe->checks_signatures, probe->checks_signatures ? "checks signatures" : "checks NO signatures", probe->signature_evidence);

  // Keyrings: "bpfsign" holds the RSA and ECDSA test certificates; "empty" holds nothing.
  auto keyring = kernel::resolve_keyring("bpfsign", true);
  auto empty = kernel::resolve_keyring("empty", true);
  if (!keyring || !empty) {
    row("keyring", "-", false, "cannot create keyrings", (!keyring ? keyring.error() : empty.error()).message);
    return 1;
  }
  for (const char* cert : {"rsa.crt", "ecdsa.crt"}) {
    auto c = sign::Certificate::load(dir / cert);
    auto key = c ? kernel::add_certificate(c->der(), *keyring, "") : Result<std::int32_t>(c.error());
    row("enrol", cert, key.ok(), key ? fmt::format("key {} in keyring {}", *key, *keyring) : "refused", key ? "" : key.error().message);
  }

  auto read_bundle = [&](const fs::path& p) -> std::optional<bundle::Bundle> {
    auto bytes = read_file(p);
    if (!bytes) return std::nullopt;
    auto b = bundle::parse_bundle(*bytes, p.string());
    if (!b) return std::nullopt;
    return std::move(b).value();
  };

  // Every corpus object's RSA bundle loads.
  std::vector<fs::path> bundles;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".bundle" && e.path().stem().string().ends_with(".rsa")) bundles.push_back(e.path());
  }
  std::sort(bundles.begin(), bundles.end());
  for (const auto& p : bundles) {
    const std::string object = p.stem().stem().string();
    auto b = read_bundle(p);
    if (!b) {
      row("good-rsa", object, false, "unreadable bundle", p.string());
      continue;
    }
    const Attempt a = try_load(*b, scheme, *keyring);
    if (!a.loaded && a.message.find("no kernel configuration") != std::string::npos) {
      fmt::print("ROW good-rsa {} n/a no-kernel-configuration | {}\n", object, a.message);
      continue;
    }
    row("good-rsa", object, a.loaded, describe(a), a.message);
  }

  const auto subject = read_bundle(dir / "subprogs.ecdsa.bundle");
  if (subject) {
    const Attempt a = try_load(*subject, scheme, *keyring);
    row("good-ecdsa", "subprogs", a.loaded, describe(a), a.message);
  }

  // Tampered cases, on one object's RSA bundle.
  auto base = read_bundle(dir / "subprogs.rsa.bundle");
  if (!base) {
    row("tamper", "subprogs", false, "no subprogs bundle", "");
    return 1;
  }
  const bool chained = scheme == sign::Scheme::KernelChained;
  auto expect_refusal = [&](const std::string& name, const Attempt& a, const std::set<int>& kernel_errnos, bool loader_may_refuse) {
    const bool pass = !a.loaded && ((a.loader_refused && loader_may_refuse) || (!a.loader_refused && kernel_errnos.count(a.err) != 0));
    row(name, "subprogs", pass, describe(a), a.message);
  };
  {
    bundle::Bundle b = *base;
    auto& code = const_cast<std::vector<std::uint8_t>&>(b.loader_for(scheme));
    code = flip_instruction(code);
    expect_refusal("flipped-insn", try_load(b, scheme, *keyring), {EKEYREJECTED}, false);
  }
  {
    bundle::Bundle b = *base;
    b.metadata[b.metadata.size() / 2] ^= 0x40;
    // 7.3 refuses in the kernel; 6.18-7.2 accept the instructions and the loader refuses.
    expect_refusal("flipped-metadata", try_load(b, scheme, *keyring), chained ? std::set<int>{EKEYREJECTED} : std::set<int>{}, !chained);
  }
  {
    auto sig = base->signature_for(scheme)->der;
    sig[sig.size() - 3] ^= 0x01;
    expect_refusal("flipped-signature", try_load(*base, scheme, *keyring, {}, &sig), {EKEYREJECTED, EBADMSG}, false);
  }
  expect_refusal("wrong-keyring", try_load(*base, scheme, *empty), {ENOKEY}, false);
  if (auto unknown = read_bundle(dir / "subprogs.unknown.bundle")) {
    expect_refusal("unknown-key", try_load(*unknown, scheme, *keyring), {ENOKEY}, false);
  } else {
    row("unknown-key", "subprogs", false, "no bundle signed by an unknown key", "");
  }
  {
    load::RunOptions o;
    o.freeze_metadata = false;
    expect_refusal("not-frozen", try_load(*base, scheme, *keyring, o), chained ? std::set<int>{EPERM} : std::set<int>{}, !chained);
  }
  {
    load::RunOptions o;
    o.exclusive_metadata = false;
    const Attempt a = try_load(*base, scheme, *keyring, o);
    if (scheme == sign::Scheme::LoaderCheckedHashOnly && a.loaded) {
      // Known gap, reported not hidden: this kernel neither checks
      // exclusivity nor exposes it to the loader (no `excl` in bpf_map).
      fmt::print("ROW not-exclusive subprogs GAP accepted: this kernel offers no way to check exclusivity | {}\n", describe(a));
    } else {
      expect_refusal("not-exclusive", a, chained ? std::set<int>{EPERM} : std::set<int>{}, !chained);
    }
  }
  // The other generation's loader is refused by this kernel (a bundle must
  // carry both, and the runtime must pick by probing).
  {
    const sign::Scheme other = chained ? sign::Scheme::LoaderChecked : sign::Scheme::KernelChained;
    const Attempt a = try_load(*base, other, *keyring);
    row("other-scheme", "subprogs", !a.loaded, describe(a), a.message);
  }
  fmt::print("DONE failures={}\n", failures);
  return failures == 0 ? 0 : 1;
}
