// bpfsign boot [--certs DIR] [--bundles DIR] [--pin-root DIR] [--no-attach] [--offline-verified] [--json]
// What bpfsign.service runs at boot and on reload: enrol the
// administrator's certificates, then load, attach and pin every bundle of a
// directory, one line per step (the journal's record of the boot).
#include <cstdio>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/load/boot_load.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct BootCliOptions {
  load::BootOptions boot;
  bool no_attach = false;
  bool json = false;
};

nlohmann::json to_json(const load::BootReport& r) {
  nlohmann::json j{{"keyring", {{"serial", r.keyring.serial}, {"what", r.keyring.what}}},
                   {"certificates", nlohmann::json::array()},
                   {"bundles", nlohmann::json::array()}};
  for (const auto& c : r.certificates) {
    j["certificates"].push_back({{"file", c.file}, {"subject", c.subject}, {"key", c.key}, {"enrolled", c.key != 0}, {"error", c.error}});
  }
  for (const auto& b : r.bundles) {
    j["bundles"].push_back({{"file", b.file},
                            {"name", b.name},
                            {"outcome", load::outcome_name(b.outcome)},
                            {"detail", b.detail},
                            {"pinned_at", b.pinned_at.string()},
                            {"programs", b.programs},
                            {"skipped", b.skipped},
                            {"attached", b.attached}});
  }
  j["loaded"] = r.count(load::BootBundle::Outcome::Loaded);
  j["already_loaded"] = r.count(load::BootBundle::Outcome::AlreadyLoaded);
  j["failed"] = r.count(load::BootBundle::Outcome::Failed);
  return j;
}

void print_bundle(const load::BootBundle& b) {
  switch (b.outcome) {
    case load::BootBundle::Outcome::Loaded:
      print_line("bundle {}: loaded, {} programs, {} attached, pinned at {}; {}", b.name, b.programs, b.attached, b.pinned_at.string(),
                 b.detail);
      for (const auto& s : b.skipped) print_line("bundle {}: skipped {}", b.name, s);
      return;
    case load::BootBundle::Outcome::AlreadyLoaded:
      print_line("bundle {}: {}", b.name, b.detail);
      return;
    case load::BootBundle::Outcome::Failed:
      print_line("bundle {}: FAILED: {}", b.name, b.detail);
      return;
  }
}

int run_boot(const BootCliOptions& opt) {
  // Under systemd, standard output is a socket to the journal: each line
  // goes out as it is printed, so that the journal has every step even if
  // a later one hangs or is killed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  load::BootOptions options = opt.boot;
  options.attach = !opt.no_attach;
  load::BootProgress progress;
  if (!opt.json) {
    progress.keyring = [](const load::BootKeyring& k) { print_line("keyring {}: {}", k.serial, k.what); };
    progress.certificate = [](const load::BootCertificate& c) {
      if (c.key != 0) {
        print_line("certificate {}: {} enrolled as key {}", c.file, c.subject, c.key);
      } else {
        print_line("certificate {}: NOT ENROLLED: {}", c.file, c.error);
      }
    };
    progress.bundle = print_bundle;
  }
  auto report = load::boot_load(options, progress);
  if (!report) return cli::report(report.error());
  const auto failed = report->count(load::BootBundle::Outcome::Failed);
  if (opt.json) {
    print_json(to_json(*report));
  } else {
    print_line("{} loaded, {} already loaded, {} failed", report->count(load::BootBundle::Outcome::Loaded),
               report->count(load::BootBundle::Outcome::AlreadyLoaded), failed);
  }
  return failed == 0 ? kExitOk : kExitSomeFailed;
}

}  // namespace

void register_boot(CLI::App& app, Action& action) {
  auto opt = std::make_shared<BootCliOptions>();
  auto* cmd = app.add_subcommand("boot",
                                 "Enrol the configured certificates and load, attach and pin every configured bundle "
                                 "(what bpfsign.service runs at boot and on reload)");
  cmd->footer(
      "Certificates (*.pem, *.crt, *.der) and bundles (*.bundle) are read only from directories and files owned by root "
      "(or by the user running bpfsign) that neither group nor others can write, and that are not symbolic links; so is "
      "the pin root. Each bundle is pinned under PIN_ROOT/NAME, NAME being its file name without '.bundle' (letters, "
      "digits, '-', '_'), first as NAME+partial, renamed when complete (a later run removes what a killed one left); a "
      "bundle whose directory exists is left as it is ('already loaded'). One run at a time per pin root. A failing "
      "bundle leaves nothing loaded and stops no other; the exit status is then 5. With no bundle, nothing is done. The "
      "kernel must check BPF signatures (Linux 6.18 or later built with CONFIG_SYSTEM_DATA_VERIFICATION): otherwise "
      "exit 4 unless --offline-verified is given. No certificate enrolled: exit 2, or 4 when the kernel refused them "
      "all. The Debian package runs this command from bpfsign.service at boot; its documentation is "
      "/usr/share/doc/bpfsign/service.md.gz.");
  cmd->add_option("--certs", opt->boot.certs_dir, "Directory of trusted signer certificates (*.pem, *.crt, *.der)")->capture_default_str();
  cmd->add_option("--bundles", opt->boot.bundles_dir, "Directory of bundles to load (*.bundle)")->capture_default_str();
  cmd->add_option("--pin-root", opt->boot.pin_root, "bpffs directory; each bundle is pinned under PIN_ROOT/NAME")->capture_default_str();
  cmd->add_flag("--no-attach", opt->no_attach, "Load and pin only; attach nothing");
  cmd->add_flag("--offline-verified", opt->boot.offline_verified,
                "On a kernel that checks no signatures, load after bpfsign's offline verification against the certificates");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_boot(*opt); }; });
}

}  // namespace bpfsign::cli
