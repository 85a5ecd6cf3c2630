// bpfsign version [--json]
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/version.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"

namespace bpfsign::cli {

void register_version(CLI::App& app, Action& action) {
  auto* cmd = app.add_subcommand("version", "Print the version of bpfsign and of its formats");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Machine-readable output");
  cmd->callback([&action, json] {
    action = [json] {
      if (*json) {
        nlohmann::json j{{"version", kVersion}};
        fmt::print("{}\n", j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
      } else {
        fmt::print("bpfsign {}\n", kVersion);
      }
      return kExitOk;
    };
  });
}

}  // namespace bpfsign::cli
