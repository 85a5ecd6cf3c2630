// bpfsign inspect BUNDLE [--scheme S] [--json]
// Decodes a bundle's loader, by symbolic execution over its metadata, into
// the commands it will execute; unexplained code is reported loudly (exit 1).
#include <optional>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/audit/loader_decoder.hpp"
#include "bpfsign/audit/lskel_header.hpp"
#include "bpfsign/audit/settings_check.hpp"
#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/common/file_io.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"
#include "settings_report.hpp"
#include "bpfsign/loader/manifest.hpp"

namespace bpfsign::cli {

namespace {

struct InspectOptions {
  std::string bundle;
  std::string scheme;
  bool json = false;
};

void print_unexplained(const audit::DecodedLoader& d) {
  if (!d.unexplained.empty()) {
    print_line("UNEXPLAINED CODE ({} instructions):", d.unexplained.size());
    for (const auto& u : d.unexplained) print_line("  {:>6}  {}  -- {}", u.pc, u.instruction, u.why);
  }
}

void print_decoded(const audit::DecodedLoader& d) {
  for (const auto& c : d.commands) print_line("  {:>6}  {}", c.pc, c.summary);
  print_unexplained(d);
}

nlohmann::json decoded_json(const audit::DecodedLoader& d) {
  nlohmann::json j{{"instructions", d.instructions}, {"failure_paths", d.failure_paths}, {"explained", d.unexplained.empty()}};
  for (const auto& c : d.commands) {
    nlohmann::json fields = nlohmann::json::object();
    for (const auto& [k, v] : c.fields) fields[k] = v;
    j["commands"].push_back({{"pc", c.pc}, {"kind", c.kind}, {"summary", c.summary}, {"fields", fields}});
  }
  for (const auto& u : d.unexplained) j["unexplained"].push_back({{"pc", u.pc}, {"instruction", u.instruction}, {"why", u.why}});
  return j;
}

// A light skeleton header written by bpftool: its loader and data.
int inspect_light_skeleton(const InspectOptions& opt, std::string_view text) {
  auto lskel = audit::parse_light_skeleton(text, opt.bundle);
  if (!lskel) return report(lskel.error());
  auto d = audit::decode_loader(lskel->insns, lskel->data);
  if (!d) return report(d.error().with_context(opt.bundle));
  if (opt.json) {
    nlohmann::json j = decoded_json(*d);
    j["file"] = opt.bundle;
    j["kind"] = "bpftool light skeleton";
    j["object_name"] = lskel->object_name;
    if (!lskel->signature.empty()) {
      j["bpftool_signature_bytes"] = lskel->signature.size();
      j["bpftool_signature_checked"] = false;
    }
    print_json(j);
  } else {
    print_line("{}: bpftool light skeleton, {} instructions, {} commands, {} failure paths", opt.bundle, d->instructions, d->commands.size(),
               d->failure_paths);
    if (!lskel->signature.empty()) {
      print_line("  signed by bpftool (gen skeleton -S): a {}-byte signature, checked by the kernel at load, not by inspect", lskel->signature.size());
    }
    print_decoded(*d);
  }
  return d->unexplained.empty() ? kExitOk : kExitCheckFailed;
}

int run_inspect(const InspectOptions& opt) {
  std::optional<sign::Scheme> named;
  if (!opt.scheme.empty()) {
    auto s = sign::scheme_from_name(opt.scheme);
    if (!s) return report(s.error());
    named = *s;
  }
  auto bytes = read_file(opt.bundle);
  if (!bytes) return report(bytes.error());
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  if (!bundle::starts_with_magic(*bytes) && audit::is_light_skeleton(text)) {
    if (named) return report(usage_error("{}: --scheme chooses a bundle's loader; a light skeleton has one", opt.bundle));
    return inspect_light_skeleton(opt, text);
  }
  auto b = bundle::parse_bundle(*bytes, opt.bundle);
  if (!b) return report(b.error());
  // Default: the variant with the metadata check if there is one (it holds
  // the most code), else the plain loader.
  const sign::Scheme scheme = named ? *named : b->loader_checked.empty() ? sign::Scheme::KernelChained : sign::Scheme::LoaderChecked;
  const auto& code = b->loader_for(scheme);
  if (code.empty()) return report(bad_input("{}: no loader for the {} scheme", opt.bundle, sign::scheme_name(scheme)));
  auto d = audit::decode_loader(code, b->metadata);
  if (!d) return report(d.error().with_context(opt.bundle));
  // The declaration the manifest shows is the signed one only if the
  // manifest is the one the metadata's last bytes name, and it is shown
  // only as far as the decoded instructions bear it out.
  Result<loader::LoaderProgram> declared = loader::LoaderProgram{};
  if (!loader::manifest_digest_matches(b->metadata, b->manifest)) {
    declared = bad_input("the manifest is NOT the one the metadata covers: its declaration is not the signed one");
  } else if (auto ok = loader::parse_manifest(b->manifest, *declared); !ok) {
    declared = ok.error();
  }
  std::vector<std::string> mismatches;
  if (declared) mismatches = audit::settings_mismatches(*declared, *d);
  const bool settings_ok = declared.ok() && mismatches.empty();
  if (opt.json) {
    nlohmann::json j = decoded_json(*d);
    j["bundle"] = opt.bundle;
    j["scheme"] = sign::scheme_name(scheme);
    if (d->metadata_check) {
      j["metadata_check"] = {{"expected_sha256", to_hex(d->metadata_check->expected_hash)}, {"checks_exclusive", d->metadata_check->checks_exclusive},
                             {"matches_metadata", d->metadata_check->expected_hash == sha256(b->metadata)}};
    }
    j["inputs"] = nlohmann::json::array();
    for (const auto& in : d->inputs) j["inputs"].push_back({{"context_offset", in.context_offset}, {"what", in.what}});
    j["declared_settings"] = declared ? settings_json(*declared) : nlohmann::json();
    j["declaration_problems"] = mismatches;
    if (!declared) j["declaration_problems"].push_back(declared.error().message);
    print_json(j);
  } else {
    print_line("{}: {} loader, {} instructions, {} commands, {} failure paths", opt.bundle, sign::scheme_name(scheme), d->instructions,
               d->commands.size(), d->failure_paths);
    if (d->metadata_check) {
      print_line("  first: check the metadata map{} and that its SHA-256 is {} ({})",
                 d->metadata_check->checks_exclusive ? " is exclusive" : "", to_hex(d->metadata_check->expected_hash),
                 d->metadata_check->expected_hash == sha256(b->metadata) ? "the bundle's metadata" : "NOT the bundle's metadata");
    }
    for (const auto& c : d->commands) print_line("  {:>6}  {}", c.pc, c.summary);
    print_line("  inputs: what the loader takes from outside what is signed");
    for (const auto& in : d->inputs) {
      print_line("    {}  {}", in.context_offset >= 0 ? fmt::format("context +{:<5}", in.context_offset) : std::string("memory        "), in.what);
    }
    if (!declared) {
      print_line("DECLARED RUNTIME SETTINGS NOT SHOWN: {}", declared.error().message);
    } else if (declared->settings.empty()) {
      print_line("  declared runtime settings: none (nothing is settable at load)");
    } else {
      print_line("  declared runtime settings (manifest; `bpfsign verify` checks that the signatures cover it):");
      for (const auto& line : settings_lines(*declared)) print_line("    {}", line);
    }
    if (!mismatches.empty()) {
      print_line("DECLARATION AND LOADER DISAGREE ({}):", mismatches.size());
      for (const auto& m : mismatches) print_line("  {}", m);
    }
    print_unexplained(*d);
  }
  return d->unexplained.empty() && settings_ok ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_inspect(CLI::App& app, Action& action) {
  auto opt = std::make_shared<InspectOptions>();
  auto* cmd = app.add_subcommand("inspect", "Decode a bundle's loader into the commands it will execute (symbolic execution)");
  cmd->add_option("bundle", opt->bundle, "Bundle made by 'bpfsign sign'")->required();
  cmd->add_option("--scheme", opt->scheme, "Which scheme's loader: " + sign::scheme_names(", ") + " (default: loader-checked if the bundle has it, else kernel-chained)");
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_inspect(*opt); }; });
}

}  // namespace bpfsign::cli
