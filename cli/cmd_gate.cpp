// bpfsign gate start --policy FILE | status | log [--follow] | stop | dry-run --policy FILE BUNDLE [--keyring K]
// The load gate (docs/gate.md): a BPF LSM policy that admits only signed
// BPF, with a signed loader's inner loads tied to it.
#include <algorithm>
#include <csignal>
#include <optional>
#include <ctime>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/common/admin_path.hpp"
#include "bpfsign/common/file_io.hpp"
#include "bpfsign/gate/dry_run.hpp"
#include "bpfsign/gate/gate.hpp"
#include "bpfsign/gate/policy.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "output.hpp"

namespace bpfsign::cli {

namespace {

struct GateOptions {
  std::string policy;
  std::string pin_dir = gate::kDefaultPinDir.string();
  std::string bundle;
  std::string keyring;
  bool follow = false;
  bool json = false;
};

nlohmann::json config_json(const gate::GateConfig& c) {
  nlohmann::json j{{"mode", gate::mode_name(c.mode)}, {"unsigned_loads", c.admit_unsigned ? "admit" : "refuse"},
                   {"keyring_serials", nlohmann::json::array()}, {"program_types", nlohmann::json::array()},
                   {"map_types", nlohmann::json::array()}, {"scope_cgroup_id", c.scope_cgroup_id}, {"scope_level", c.scope_level}};
  for (std::uint32_t i = 0; i < c.keyrings && i < gate::kMaxKeyrings; ++i) j["keyring_serials"].push_back(c.keyring_serial[i]);
  auto types = [](std::uint64_t mask, bool program) {
    nlohmann::json list = nlohmann::json::array();
    if (mask == ~std::uint64_t{0}) return nlohmann::json("all");
    for (std::uint32_t t = 0; t < 64; ++t) {
      if ((mask >> t) & 1) list.push_back(program ? abi::prog_type_name(t) : abi::map_type_name(t));
    }
    return list;
  };
  j["own_program_ids"] = nlohmann::json::array();
  j["own_link_ids"] = nlohmann::json::array();
  for (std::uint32_t i = 0; i < gate::kMaxOwn; ++i) {
    if (c.own_prog_ids[i] != 0) j["own_program_ids"].push_back(c.own_prog_ids[i]);
    if (c.own_link_ids[i] != 0) j["own_link_ids"].push_back(c.own_link_ids[i]);
  }
  j["program_types"] = types(c.prog_types, true);
  j["map_types"] = types(c.map_types, false);
  return j;
}

int run_start(const GateOptions& opt) {
  // The policy decides what loads on this machine: like the boot-time
  // service's configuration, only root (or this user) may be able to write it.
  if (auto ok = check_admin_path(opt.policy, AdminPathKind::RegularFile); !ok) return report(ok.error());
  auto policy = gate::read_policy(opt.policy);
  if (!policy) return report(policy.error());
  auto config = gate::resolve_policy(*policy);
  if (!config) return report(config.error().with_context(opt.policy));
  auto started = gate::start_gate(*config, opt.pin_dir);
  if (!started) return report(started.error());
  if (opt.json) {
    print_json({{"pin_dir", opt.pin_dir}, {"already_running", started->already_running}, {"attached", started->attached},
                {"policy", config_json(*config)}});
    return kExitOk;
  }
  if (started->already_running) {
    print_line("the gate is already running at {} with this policy: nothing changed", opt.pin_dir);
    return kExitOk;
  }
  print_line("gate started in {} mode, pinned at {}", gate::mode_name(config->mode), opt.pin_dir);
  for (const auto& a : started->attached) print_line("  attached {}", a);
  return kExitOk;
}

int run_status(const GateOptions& opt) {
  auto s = gate::gate_status(opt.pin_dir);
  if (!s) return report(s.error());
  const bool whole = s->running && s->missing.empty() && s->untrusted_pins.empty();
  if (opt.json) {
    nlohmann::json j{{"pin_dir", opt.pin_dir}, {"running", s->running}, {"whole", whole}, {"pinned", s->pinned}};
    if (s->running) j["policy"] = config_json(s->config);
    if (!s->missing.empty()) j["missing"] = s->missing;
    if (!s->untrusted_pins.empty()) j["untrusted_pins"] = s->untrusted_pins;
    print_json(j);
    return s->running && !whole ? kExitCheckFailed : kExitOk;
  }
  if (!s->running) {
    print_line("no gate at {}", opt.pin_dir);
    return kExitOk;
  }
  if (!whole) {
    print_line("gate NOT WHOLE at {}: {}", opt.pin_dir, s->missing.empty() ? s->untrusted_pins : s->missing);
  }
  const auto j = config_json(s->config);
  print_line("gate running at {}: mode {}, unsigned loads {}", opt.pin_dir, gate::mode_name(s->config.mode), j["unsigned_loads"].get<std::string>());
  print_line("  admitted keyrings: {}", j["keyring_serials"].dump());
  print_line("  program types: {}; map types: {}", j["program_types"].dump(), j["map_types"].dump());
  print_line("  scope: {}", s->config.scope_cgroup_id == 0 ? std::string("every task") : fmt::format("cgroup id {}", s->config.scope_cgroup_id));
  for (const auto& p : s->pinned) print_line("  pinned {}", p);
  return whole ? kExitOk : kExitCheckFailed;
}

// CLOCK_MONOTONIC nanoseconds (bpf_ktime_get_ns) as a UTC time.
std::string wall_time(std::uint64_t monotonic_ns) {
  timespec mono{}, real{};
  clock_gettime(CLOCK_MONOTONIC, &mono);
  clock_gettime(CLOCK_REALTIME, &real);
  const auto now_mono = static_cast<std::int64_t>(mono.tv_sec) * 1000000000 + mono.tv_nsec;
  const auto now_real = static_cast<std::int64_t>(real.tv_sec) * 1000000000 + real.tv_nsec;
  const std::int64_t t = now_real - (now_mono - static_cast<std::int64_t>(monotonic_ns));
  const std::time_t secs = static_cast<std::time_t>(t / 1000000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06}Z", buf, (t % 1000000000) / 1000);
}

std::string fixed_string(const char (&s)[16]) { return std::string(s, strnlen(s, sizeof s)); }

volatile std::sig_atomic_t g_stop = 0;

int run_log(const GateOptions& opt) {
  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });
  // Records are numbered from 0 as the gate writes them: a gap means some
  // were lost (the buffer was full, or someone moved its reader position).
  std::optional<std::uint64_t> last_seq;
  auto each = [&last_seq](const gate::GateEvent& e) {
    if (last_seq && e.seq != *last_seq + 1) {
      fmt::print(stderr, "bpfsign: gate log: {} record(s) lost before record {}\n", e.seq - *last_seq - 1, e.seq);
    }
    last_seq = e.seq;
    const bool program = e.kind == gate::Kind::Program;
    nlohmann::json j{{"seq", e.seq},
                     {"time", wall_time(e.time_ns)},
                     {"tgid", e.tgid},
                     {"pid", e.pid},
                     {"comm", fixed_string(e.comm)},
                     {"cgroup_id", e.cgroup_id},
                     {"kind", gate::kind_name(e.kind)},
                     {"name", fixed_string(e.name)},
                     {"type", program ? abi::prog_type_name(e.type) : abi::map_type_name(e.type)},
                     {"inner", e.inner != 0},
                     {"signature_given", e.signature_given != 0},
                     {"verdict", e.verdict == gate::kVerdictNone ? "no-verdict-field"
                                 : e.verdict == gate::kVerdictVerified ? "verified"
                                 : e.verdict == 0                      ? "unsigned"
                                                                        : "other"},
                     {"keyring_serial", e.keyring_serial},
                     {"decision", gate::decision_name(e.decision)},
                     {"rule", gate::rule_name(e.rule)}};
    if (e.kind == gate::Kind::Btf) j.erase("type");
    if (e.kind == gate::Kind::Self) {
      // A refused fd to the gate's own objects: no signature is involved.
      for (const char* key : {"verdict", "keyring_serial", "signature_given", "inner"}) j.erase(key);
    }
    // comm and name are whatever the task chose: bytes that are not UTF-8
    // are replaced, never a reason to stop reading.
    fmt::print("{}\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    std::fflush(stdout);
  };
  if (auto s = gate::read_log(opt.pin_dir, opt.follow, each, [] { return g_stop == 0; }); !s) return report(s.error());
  return kExitOk;
}

int run_stop(const GateOptions& opt) {
  auto before = gate::gate_status(opt.pin_dir);
  if (!before) return report(before.error());
  if (auto s = gate::stop_gate(opt.pin_dir); !s) return report(s.error());
  if (before->running) {
    print_line("gate stopped (it was in {} mode): nothing pinned at {}", gate::mode_name(before->config.mode), opt.pin_dir);
  } else {
    print_line("no gate was running at {}: nothing to stop", opt.pin_dir);
  }
  return kExitOk;
}

// Per generation: whether the whole load would go through, and if not the
// first refusal (the loader stops there; what follows is never asked).
struct GenerationOutcome {
  bool loads = true;
  const gate::DryRunDecision* first_refusal = nullptr;
};
std::vector<std::pair<std::string, GenerationOutcome>> outcomes(const gate::DryRun& d) {
  std::vector<std::pair<std::string, GenerationOutcome>> out;
  for (const auto& x : d.decisions) {
    if (out.empty() || out.back().first != x.generation) out.emplace_back(x.generation, GenerationOutcome{});
    auto& o = out.back().second;
    if (x.decision == gate::Decision::Admitted) continue;
    if (o.first_refusal == nullptr) o.first_refusal = &x;
    if (x.decision == gate::Decision::Refused) o.loads = false;
  }
  return out;
}

std::string what_of(const gate::DryRunDecision& x) {
  if (x.loader) return "the signed loader";
  return fmt::format("{} {}", gate::kind_name(x.kind), x.name.empty() ? x.type : x.name + " (" + x.type + ")");
}

int run_dry_run(const GateOptions& opt) {
  auto policy = gate::read_policy(opt.policy);
  if (!policy) return report(policy.error());
  auto bytes = read_file(opt.bundle);
  if (!bytes) return report(bytes.error());
  auto b = bundle::parse_bundle(*bytes, opt.bundle);
  if (!b) return report(b.error());
  std::optional<std::string> keyring;
  if (!opt.keyring.empty()) keyring = opt.keyring;
  auto d = gate::dry_run(*policy, *b, keyring);
  if (!d) return report(d.error().with_context(opt.bundle));
  if (opt.json) {
    nlohmann::json j{{"bundle", opt.bundle}, {"policy", opt.policy}, {"mode", gate::mode_name(policy->mode)}, {"decisions", nlohmann::json::array()}};
    for (const auto& x : d->decisions) {
      j["decisions"].push_back({{"generation", x.generation}, {"kind", gate::kind_name(x.kind)}, {"name", x.name}, {"loader", x.loader},
                                {"type", x.type}, {"decision", gate::decision_name(x.decision)}, {"rule", gate::rule_name(x.rule)}});
    }
    for (const auto& [g, text] : d->guarantees) j["guarantees"][g] = text;
    for (const auto& [g, o] : outcomes(*d)) {
      nlohmann::json r{{"loads", o.loads}};
      if (o.first_refusal != nullptr) r["first_refusal"] = {{"what", what_of(*o.first_refusal)}, {"rule", gate::rule_name(o.first_refusal->rule)}};
      j["outcome"][g] = r;
    }
    print_json(j);
    return kExitOk;
  }
  std::string generation;
  for (const auto& x : d->decisions) {
    if (x.generation != generation) {
      generation = x.generation;
      print_line("kernels {}:", generation);
    }
    print_line("  {:<13} {} [{}]", gate::decision_name(x.decision), what_of(x), gate::rule_name(x.rule));
  }
  for (const auto& [g, o] : outcomes(*d)) {
    if (o.first_refusal == nullptr) {
      print_line("on {}: the load goes through", g);
    } else {
      print_line("on {}: {}, at the first refusal: {} [{}]", g, o.loads ? "the load goes through (audit), logged" : "the load fails", what_of(*o.first_refusal),
                 gate::rule_name(o.first_refusal->rule));
    }
  }
  if (keyring.has_value() == false &&
      std::any_of(policy->signers.begin(), policy->signers.end(), [](const gate::Signer& s) { return s.certificate.empty(); })) {
    print_line("note: no --keyring given: the policy's keyring signers admit nothing here");
  }
  for (const auto& [g, text] : d->guarantees) print_line("what an admission proves on {}: {}", g, text);
  return kExitOk;
}

}  // namespace

void register_gate(CLI::App& app, Action& action) {
  auto opt = std::make_shared<GateOptions>();
  auto* gate_cmd = app.add_subcommand("gate", "The load gate: a BPF LSM policy admitting only signed BPF (docs/gate.md)");
  gate_cmd->require_subcommand(1);
  auto pin = [&](CLI::App* c) { c->add_option("--pin-dir", opt->pin_dir, "Where the gate is pinned")->capture_default_str(); };

  auto* start = gate_cmd->add_subcommand("start", "Load the gate with a policy, attach it and pin it (idempotent)");
  start->add_option("--policy", opt->policy, "The policy file (JSON, docs/gate.md#policy)")->required();
  pin(start);
  start->add_flag("--json", opt->json, "Machine-readable output");
  start->callback([&action, opt] { action = [opt] { return run_start(*opt); }; });

  auto* status = gate_cmd->add_subcommand("status", "Whether the gate runs, and its policy");
  pin(status);
  status->add_flag("--json", opt->json, "Machine-readable output");
  status->callback([&action, opt] { action = [opt] { return run_status(*opt); }; });

  auto* log = gate_cmd->add_subcommand("log", "The gate's decisions since the last read, as JSON lines");
  pin(log);
  log->add_flag("--follow", opt->follow, "Keep printing decisions as they come, until interrupted");
  log->callback([&action, opt] { action = [opt] { return run_log(*opt); }; });

  auto* stop = gate_cmd->add_subcommand("stop", "Unpin the gate: its programs detach");
  pin(stop);
  stop->callback([&action, opt] { action = [opt] { return run_stop(*opt); }; });

  auto* dry = gate_cmd->add_subcommand("dry-run", "What the gate would decide for a bundle's load, on each kernel generation");
  dry->add_option("--policy", opt->policy, "The policy file (JSON)")->required();
  dry->add_option("bundle", opt->bundle, "Bundle made by 'bpfsign sign'")->required();
  dry->add_option("--keyring", opt->keyring, "The keyring the load will name (a name as in the policy, or a serial)");
  dry->add_flag("--json", opt->json, "Machine-readable output");
  dry->callback([&action, opt] { action = [opt] { return run_dry_run(*opt); }; });
}

}  // namespace bpfsign::cli
