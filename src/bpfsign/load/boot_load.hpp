// What the boot-time service does (`bpfsign boot`, the bpfsign.service
// unit): enrol the administrator's certificates where the kernel checks BPF
// signatures, then load, attach and pin every bundle of a directory. One
// bundle failing does not stop the others; a bundle already pinned is left
// as it is, so running it again (`systemctl reload`) loads only what was
// added.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"

namespace bpfsign::load {

struct BootOptions {
  std::filesystem::path certs_dir = "/etc/bpfsign/certs";      // *.pem, *.crt, *.der
  std::filesystem::path bundles_dir = "/etc/bpfsign/bundles";  // *.bundle
  std::filesystem::path pin_root = "/sys/fs/bpf/bpfsign";      // each bundle under pin_root/<name>
  bool attach = true;
  // On a kernel that checks no signatures, load after bpfsign's offline
  // verification against the enrolled certificates (which runs before every
  // load in any case).
  bool offline_verified = false;
};

// Where the certificates went. The kernel's dedicated BPF keyring where it
// has one and accepts keys; otherwise a keyring of this process, which the
// loads name by serial and which is gone when the process exits (programs
// loaded stay: the signature is checked once, at load).
struct BootKeyring {
  std::int32_t serial = 0;
  std::string what;
};

struct BootCertificate {
  std::string file;
  std::string subject;     // empty when not read
  std::int32_t key = 0;    // the key's serial, 0 when not enrolled
  std::string error;       // empty when enrolled
  ErrorKind error_kind = ErrorKind::Internal;  // of a failure
};

struct BootBundle {
  enum class Outcome : std::uint8_t { Loaded, AlreadyLoaded, Failed };
  std::string file;
  std::string name;        // the file name without ".bundle": its pin directory
  Outcome outcome = Outcome::Failed;
  std::string detail;      // one line: scheme and who checked, or why not
  std::filesystem::path pinned_at;
  std::size_t programs = 0;  // loaded (optional programs the loader skipped are not)
  std::size_t attached = 0;
  std::vector<std::string> skipped;  // "NAME: reason", one per optional program skipped
  ErrorKind error_kind = ErrorKind::Internal;  // of a failure: the exit code
};

struct BootReport {
  BootKeyring keyring;
  std::vector<BootCertificate> certificates;
  std::vector<BootBundle> bundles;
  std::size_t count(BootBundle::Outcome o) const;
};

// Called as each step finishes, so a service reports bundle by bundle.
struct BootProgress {
  std::function<void(const BootKeyring&)> keyring;
  std::function<void(const BootCertificate&)> certificate;
  std::function<void(const BootBundle&)> bundle;
};

const char* outcome_name(BootBundle::Outcome o);

// An error only when nothing could be tried: a configuration directory that
// is missing or not the administrator's, no keyring, no bpffs at pin_root,
// no usable certificate. Failures of single bundles are in the report.
Result<BootReport> boot_load(const BootOptions& options, const BootProgress& progress = {});

}  // namespace bpfsign::load
