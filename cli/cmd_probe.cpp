// bpfsign probe [--json]
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/kernel/probe.hpp"
#include "bpfsign/load/kernel_probe.hpp"
#include "bpfsign/sign/scheme.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

// The scheme line: the scheme's name, "none" (no scheme we know), or
// "unknown" (the probe could not finish), with what the kernel answered or why.
std::string scheme_state(const load::KernelProbe& k) {
  if (k.scheme_error) return "unknown";
  return k.scheme ? sign::scheme_name(*k.scheme) : "none";
}
std::string scheme_detail(const load::KernelProbe& k) { return k.scheme_error ? k.scheme_error->message : k.scheme_evidence; }

int run_probe(bool json) {
  const load::KernelProbe& k = load::running_kernel();
  const kernel::FeatureProbe& p = k.features;
  if (json) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : p.items) {
      items.push_back({{"id", i.id}, {"what", i.what}, {"supported", kernel::to_string(i.state)}, {"detail", i.detail}});
    }
    nlohmann::json j{{"kernel_release", p.release},
                     {"checks_signatures", p.checks_signatures},
                     {"features", std::move(items)},
                     {"scheme", k.scheme && !k.scheme_error ? nlohmann::json(sign::scheme_name(*k.scheme)) : nlohmann::json(nullptr)},
                     {"scheme_evidence", scheme_detail(k)},
                     {"bpf_map_layout", k.map_layout},
                     {"summary", p.summary}};
    print_json(j);
    return kExitOk;
  }
  fmt::print("kernel {} (release string for the record; every answer below was probed)\n", p.release);
  for (const auto& i : p.items) fmt::print("  {:<8} {:<48} {}\n", kernel::to_string(i.state), i.what, i.detail);
  fmt::print("  {:<8} {:<48} {}\n", "scheme", scheme_state(k), scheme_detail(k));
  if (!k.map_layout.empty()) fmt::print("  {:<8} {:<48} {}\n", "layout", "struct bpf_map (kernel BTF)", k.map_layout);
  fmt::print("{}\n", p.summary);
  return kExitOk;
}

}  // namespace

void register_probe(CLI::App& app, Action& action) {
  auto json = std::make_shared<bool>(false);
  auto* cmd = app.add_subcommand("probe", "Ask the running kernel what it supports for signed BPF loading");
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([&action, json] { action = [json] { return run_probe(*json); }; });
}

}  // namespace bpfsign::cli
