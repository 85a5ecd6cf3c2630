// bpfsign version [--json]
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/version.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

void register_version(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("version", "Print the version of bpfsign and of its formats");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([&action, json] {
    action = [json] {
      if (*json) {
        nlohmann::json j{{"version", kVersion}};
        print_json(j);
      } else {
        fmt::print("bpfsign {}\n", kVersion);
      }
      return kExitOk;
    };
  });
}

}  // namespace bpfsign::cli
