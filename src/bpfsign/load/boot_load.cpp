#include "bpfsign/load/boot_load.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bpfsign/common/admin_path.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/common/unique_fd.hpp"
#include "bpfsign/kernel/keyring.hpp"
#include "bpfsign/load/attach.hpp"
#include "bpfsign/load/load_bundle.hpp"
#include "bpfsign/load/pin.hpp"
#include "bpfsign/load/kernel_probe.hpp"
#include "bpfsign/sign/keys.hpp"
#include "bpfsign/sign/scheme.hpp"

namespace bpfsign::load {

namespace {

// The directory's entries with one of `extensions`, sorted by name so that
// every boot loads in the same order. Hidden files are not configuration.
Result<std::vector<std::filesystem::path>> entries(const std::filesystem::path& dir, std::initializer_list<const char*> extensions) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const auto name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    const auto ext = it->path().extension().string();
    if (std::any_of(extensions.begin(), extensions.end(), [&](const char* e) { return ext == e; })) out.push_back(it->path());
  }
  if (ec) return io_error("{}: cannot list: {}", dir.string(), ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

// A bundle's pin directory is its file name without ".bundle"; bpffs takes
// no '.' and a path no '/', so only letters, digits, '-' and '_'.
Status check_bundle_name(const std::string& name) {
  if (name.empty() || name.size() > 200) return usage_error("a bundle's name must have 1 to 200 characters");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return usage_error("'{}': a bundle's name (its pin directory) may hold only letters, digits, '-' and '_'", name);
  }
  return Ok{};
}

// The pin root: made if missing (on a BPF file system only, and never
// group/other-writable whatever the umask), then held to the rules of the
// configuration: whoever can write it could pre-create a bundle's
// directory (it would count as loaded) or move its pins away.
Status prepare_pin_root(const std::filesystem::path& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    const auto parent = dir.parent_path().empty() ? std::filesystem::path(".") : dir.parent_path();
    if (!on_bpf_fs(parent)) return io_error("{}: not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)", dir.string());
    if (::mkdir(dir.c_str(), 0755) != 0 || ::chmod(dir.c_str(), 0755) != 0) {
      const int err = errno;
      return io_error("{}: cannot create: {} (errno {})", dir.string(), std::strerror(err), err);
    }
  }
  if (!on_bpf_fs(dir)) return io_error("{}: not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)", dir.string());
  return check_admin_path(dir, AdminPathKind::Directory);
}

// One `bpfsign boot` at a time per pin root (the service and a manual run
// would otherwise remove and rename each other's partial pins). Held until
// the returned descriptor closes.
Result<UniqueFd> lock_pin_root(const std::filesystem::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd) {
    const int err = errno;
    return io_error("{}: cannot open: {} (errno {})", dir.string(), std::strerror(err), err);
  }
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    return usage_error("{}: another 'bpfsign boot' is running on this pin root; try again when it has finished", dir.string());
  }
  return fd;
}

// What killed runs left: NAME+partial directories, whether or not their
// bundle is still configured. Removing their pins unloads what they held.
Status remove_partial_pins(const std::filesystem::path& dir) {
  std::error_code ec;
  std::vector<std::filesystem::path> partial;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.size() > 8 && name.ends_with("+partial")) partial.push_back(it->path());
  }
  if (ec) return io_error("{}: cannot list: {}", dir.string(), ec.message());
  for (const auto& p : partial) {
    std::filesystem::remove_all(p, ec);
    if (ec) return io_error("{}: cannot remove what an interrupted run left: {}", p.string(), ec.message());
  }
  return Ok{};
}

// The certificates of one file (a PEM file may hold several), enrolled in
// `keyring`. A file that is not the administrator's is not read.
// The enrolled certificates are also the signers bpfsign's own offline
// verification accepts.
void enrol_file(const std::filesystem::path& file, std::int32_t keyring, BootReport& report, std::vector<sign::Certificate>& enrolled,
                const BootProgress& progress) {
  auto done = [&](BootCertificate c) {
    if (progress.certificate) progress.certificate(c);
    report.certificates.push_back(std::move(c));
  };
  if (auto ok = check_admin_path(file, AdminPathKind::RegularFile); !ok) {
    done({file.string(), "", 0, ok.error().message, ok.error().kind});
    return;
  }
  auto certs = sign::Certificate::load_all(file);
  if (!certs) {
    done({file.string(), "", 0, certs.error().message, certs.error().kind});
    return;
  }
  for (const auto& cert : *certs) {
    auto key = kernel::add_certificate(cert.der(), keyring, "");
    if (key) {
      enrolled.push_back(cert);
      done({file.string(), cert.subject(), *key, "", ErrorKind::Internal});
    } else {
      done({file.string(), cert.subject(), 0, key.error().message, key.error().kind});
    }
  }
}

// A new keyring of this process: the loads name it by serial.
Result<BootKeyring> process_keyring() {
  auto k = kernel::new_process_keyring("bpfsign-boot");
  if (!k) return k.error();
  return BootKeyring{*k, "a keyring of this process, gone when bpfsign exits (programs loaded stay loaded)"};
}

bool any_enrolled(const BootReport& report) {
  return std::any_of(report.certificates.begin(), report.certificates.end(), [](const BootCertificate& c) { return c.key != 0; });
}

// The kernel's dedicated BPF keyring where it has one and it takes the keys
// (it is sealed unless the kernel was booted to fill it); else a keyring of
// this process.
Status enrol_all(const std::vector<std::filesystem::path>& files, BootReport& report, std::vector<sign::Certificate>& enrolled,
                 const BootProgress& progress) {
  if (kernel::has_bpf_keyring()) {
    report.keyring = {kernel::kBpfKeyringSpec, "the kernel's dedicated BPF keyring (.bpf)"};
    BootReport trial;
    for (const auto& f : files) enrol_file(f, report.keyring.serial, trial, enrolled, {});
    if (any_enrolled(trial)) {
      if (progress.keyring) progress.keyring(report.keyring);
      for (auto& c : trial.certificates) {
        if (progress.certificate) progress.certificate(c);
        report.certificates.push_back(std::move(c));
      }
      return Ok{};
    }
  }
  auto k = process_keyring();
  if (!k) return k.error();
  report.keyring = *k;
  if (progress.keyring) progress.keyring(report.keyring);
  for (const auto& f : files) enrol_file(f, report.keyring.serial, report, enrolled, progress);
  return Ok{};
}

BootBundle load_one(const std::filesystem::path& file, const BootOptions& options, const KernelProbe& probe, const TrustOptions& trust) {
  BootBundle b;
  b.file = file.string();
  b.name = file.stem().string();
  auto fail = [&](const Error& e) {
    b.outcome = BootBundle::Outcome::Failed;
    b.detail = e.message;
    b.error_kind = e.kind;
    return b;
  };
  if (auto ok = check_bundle_name(b.name); !ok) return fail(ok.error().with_context(b.file));
  const auto dir = options.pin_root / b.name;
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) {
    if (auto ok = check_admin_path(dir, AdminPathKind::Directory); !ok) return fail(ok.error());
    b.outcome = BootBundle::Outcome::AlreadyLoaded;
    b.pinned_at = dir;
    b.detail = fmt::format("already loaded: {} exists (remove it to load this bundle again)", dir.string());
    return b;
  }
  // A bundle is authenticated by its signature, but which bundle loads
  // (an older one, signed too) is the administrator's choice: the file
  // must be theirs like the certificates.
  if (auto ok = check_admin_path(file, AdminPathKind::RegularFile); !ok) return fail(ok.error());
  auto bytes = read_file(file);
  if (!bytes) return fail(bytes.error());
  auto loaded = load_bundle(*bytes, b.file, probe, trust);
  if (!loaded) return fail(loaded.error());
  std::vector<Attachment> links;
  if (options.attach) {
    auto a = attach_programs(loaded->loader.program_summaries, loaded->object, AttachOptions{});
    if (!a) return fail(a.error().with_context(b.file));
    links = std::move(a).value();
  }
  // Pinned under another name, then renamed into place: NAME exists only
  // once everything is pinned, so a run killed half-way is not taken for a
  // loaded bundle (the next run removes what it left). bpffs refuses '.'
  // in names; '+' is in no bundle's name.
  const auto partial = options.pin_root / (b.name + "+partial");
  auto pinned = pin_object(partial, loaded->object, links);
  if (!pinned) return fail(pinned.error().with_context(b.file));
  std::filesystem::rename(partial, dir, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::remove_all(partial, ignored);
    return fail(io_error("{}: cannot move the pins into place: {}; nothing was loaded", dir.string(), ec.message()));
  }
  b.outcome = BootBundle::Outcome::Loaded;
  b.pinned_at = dir;
  b.programs = static_cast<std::size_t>(
      std::count_if(loaded->object.programs.begin(), loaded->object.programs.end(), [](const UniqueFd& fd) { return static_cast<bool>(fd); }));
  for (const auto& s : loaded->object.skipped) b.skipped.push_back(s.name + ": " + s.reason());
  b.attached = static_cast<std::size_t>(std::count_if(links.begin(), links.end(), [](const Attachment& a) { return a.attached(); }));
  b.detail = fmt::format("scheme {}; {}", sign::scheme_name(*loaded->plan.scheme), loaded->plan.checked_by());
  return b;
}

}  // namespace

std::size_t BootReport::count(BootBundle::Outcome o) const {
  return static_cast<std::size_t>(std::count_if(bundles.begin(), bundles.end(), [o](const BootBundle& b) { return b.outcome == o; }));
}

const char* outcome_name(BootBundle::Outcome o) {
  switch (o) {
    case BootBundle::Outcome::Loaded: return "loaded";
    case BootBundle::Outcome::AlreadyLoaded: return "already-loaded";
    case BootBundle::Outcome::Failed: return "failed";
  }
  return "failed";
}

Result<BootReport> boot_load(const BootOptions& options, const BootProgress& progress) {
  // The configuration is the trust root: checked before anything is read.
  if (auto ok = check_admin_path(options.certs_dir, AdminPathKind::Directory); !ok) return ok.error();
  if (auto ok = check_admin_path(options.bundles_dir, AdminPathKind::Directory); !ok) return ok.error();
  auto cert_files = entries(options.certs_dir, {".pem", ".crt", ".der"});
  if (!cert_files) return cert_files.error();
  auto bundle_files = entries(options.bundles_dir, {".bundle"});
  if (!bundle_files) return bundle_files.error();
  BootReport report;
  if (bundle_files->empty()) return report;  // nothing configured: nothing to do
  // A kernel that checks no signature is named once, before anything is
  // enrolled or loaded, not once per bundle.
  const KernelProbe& probe = running_kernel();
  if (probe.scheme_error) return *probe.scheme_error;
  if (!probe.checks_signatures() && !options.offline_verified) {
    return Error{ErrorKind::Kernel, fmt::format("this kernel checks no BPF signatures ({}); nothing was loaded. 'bpfsign boot "
                                                "--offline-verified' loads after bpfsign's own verification against the enrolled "
                                                "certificates instead",
                                                probe.signature_evidence())};
  }
  TrustOptions trust;
  if (auto ok = enrol_all(*cert_files, report, trust.trust.certificates, progress); !ok) return ok.error();
  if (!any_enrolled(report)) {
    // The kernel refusing every key is the kernel's answer; anything else
    // is the configuration's.
    const bool kernel_refused = !report.certificates.empty() &&
                                std::all_of(report.certificates.begin(), report.certificates.end(),
                                            [](const BootCertificate& c) { return c.error_kind == ErrorKind::Kernel; });
    return Error{kernel_refused ? ErrorKind::Kernel : ErrorKind::Usage,
                 fmt::format("{}: no certificate could be enrolled ({} files): no signed bundle could load", options.certs_dir.string(),
                             cert_files->size())};
  }

  trust.keyring = report.keyring.serial;
  trust.offline_verified = options.offline_verified;
  if (auto ok = prepare_pin_root(options.pin_root); !ok) return ok.error();
  auto lock = lock_pin_root(options.pin_root);
  if (!lock) return lock.error();
  if (auto ok = remove_partial_pins(options.pin_root); !ok) return ok.error();
  for (const auto& f : *bundle_files) {
    report.bundles.push_back(load_one(f, options, probe, trust));
    if (progress.bundle) progress.bundle(report.bundles.back());
  }
  return report;
}

}  // namespace bpfsign::load
