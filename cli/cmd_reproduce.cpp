// bpfsign reproduce OBJECT BUNDLE [--json]
// Regenerates the loader from the object and proves the bundle's loader and
// metadata byte-identical, or names the first difference. Exit 0 when
// identical, 1 when not.
#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/common/file_io.hpp"
#include "bpfsign/verify/reproduce.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct ReproduceOptions {
  std::string object, bundle;
  bool json = false;
};

int run_reproduce(const ReproduceOptions& opt) {
  auto object = read_file(opt.object);
  if (!object) return report(object.error());
  auto bytes = read_file(opt.bundle);
  if (!bytes) return report(bytes.error());
  auto b = bundle::parse_bundle(*bytes, opt.bundle);
  if (!b) return report(b.error());
  auto r = verify::reproduce(*object, opt.object, *b);
  if (!r) return report(r.error());
  if (opt.json) {
    nlohmann::json j{{"object", opt.object}, {"bundle", opt.bundle}, {"reproduced", r->ok()}};
    for (const auto& c : r->checks) j["checks"].push_back({{"id", c.id}, {"what", c.what}, {"ok", c.ok}, {"detail", c.detail}});
    print_json(j);
  } else {
    print_line("{}: {} from {}", opt.bundle, r->ok() ? "REPRODUCED" : "NOT REPRODUCED", opt.object);
    for (const auto& c : r->checks) print_line("  [{}] {}: {}", c.ok ? " ok " : "DIFF", c.what, c.detail);
  }
  return r->ok() ? kExitOk : kExitCheckFailed;
}

}  // namespace

void register_reproduce(CLI::App& app, Action& action) {
  auto opt = std::make_shared<ReproduceOptions>();
  auto* cmd = app.add_subcommand("reproduce", "Prove a bundle's loader and metadata are what this object generates");
  cmd->add_option("object", opt->object, "BPF ELF object file")->required();
  cmd->add_option("bundle", opt->bundle, "Bundle made by 'bpfsign sign'")->required();
  cmd->add_flag("--json", opt->json, "Machine-readable output");
  cmd->callback([&action, opt] { action = [opt] { return run_reproduce(*opt); }; });
}

}  // namespace bpfsign::cli
