// bpfsign probe [--json]
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/kernel/probe.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

int run_probe(bool json) {
  const auto p = kernel::probe_kernel();
  if (json) {
    nlohmann::json items = nlohmann::json::array();
    for (const auto& i : p.items) {
      items.push_back({{"id", i.id}, {"what", i.what}, {"supported", kernel::to_string(i.state)}, {"detail", i.detail}});
    }
    nlohmann::json j{{"kernel_release", p.release},
                     {"checks_signatures", p.checks_signatures},
                     {"features", std::move(items)},
                     {"summary", p.summary}};
    print_json(j);
    return kExitOk;
  }
  fmt::print("kernel {} (release string for the record; every answer below was probed)\n", p.release);
  for (const auto& i : p.items) fmt::print("  {:<8} {:<48} {}\n", kernel::to_string(i.state), i.what, i.detail);
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
