#include "bpfsign/load/loader_runtime.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include <unistd.h>

#include "bpfsign/abi/bpf_attr.hpp"
#include "bpfsign/abi/bpf_enums.hpp"
#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/load/kernel_config.hpp"
#include "bpfsign/load/possible_cpus.hpp"
#include "bpfsign/bundle/bundle.hpp"
#include "bpfsign/loader/manifest.hpp"
#include "bpfsign/loader/metadata_check.hpp"
#include "bpfsign/common/sha256.hpp"
#include "bpfsign/common/value_area.hpp"

namespace bpfsign::load {

namespace {


// The loader's answer to a setting outside its bounds.
Error refused_setting(const loader::LoaderProgram& loader, const std::string& name, const std::vector<std::uint8_t>& ctx) {
  for (std::uint32_t k = 0; k < loader.settings.size(); ++k) {
    const loader::Setting& s = loader.settings[k];
    if (s.name != name || s.kind == loader::Setting::Kind::OptionalProgram) continue;
    std::uint64_t v = 0;
    std::memcpy(&v, ctx.data() + loader.context.setting_value(k), 8);
    return Error{ErrorKind::Kernel, fmt::format("the signed loader refused {} '{}' = {}: outside what the signer allows ({}) (ERANGE); "
                                                "nothing was loaded",
                                                loader::setting_kind_name(s.kind), name, s.value_text(v), s.allowed_text())};
  }
  return Error{ErrorKind::Kernel, fmt::format("the signed loader refused setting '{}' (ERANGE); nothing was loaded", name)};
}

// The optional programs the loader skipped, from the outcomes it wrote.
std::vector<SkippedProgram> skipped_programs(const loader::LoaderProgram& loader, const std::vector<std::uint8_t>& ctx, const LoadedObject& out) {
  std::vector<SkippedProgram> skipped;
  for (std::uint32_t k = 0; k < loader.settings.size(); ++k) {
    const loader::Setting& s = loader.settings[k];
    if (s.kind != loader::Setting::Kind::OptionalProgram || s.target >= out.programs.size() || static_cast<bool>(out.programs[s.target])) continue;
    std::uint32_t outcome = 0;
    std::memcpy(&outcome, ctx.data() + loader.context.setting_outcome(k), 4);
    SkippedProgram p;
    p.name = s.name;
    p.why = outcome <= 3 ? static_cast<loader::ProgramOutcome>(outcome) : loader::ProgramOutcome::Loaded;
    if (s.target < loader.program_summaries.size()) p.target = loader.program_summaries[s.target].attach_target;
    if (s.fallback_for && *s.fallback_for < loader.programs.size()) p.primary = loader.programs[*s.fallback_for];
    skipped.push_back(std::move(p));
  }
  return skipped;
}

}  // namespace

namespace {

struct Attempt {
  loader::ContextHeader header;
  std::vector<std::uint8_t> ctx;
  std::vector<char> log;
};

// What the context carries in besides its header: the .kconfig values from
// the running kernel's configuration, the runtime settings, the CPU count.
struct ContextInputs {
  std::vector<std::uint8_t> kconfig;
  std::vector<std::uint8_t> settings;
  Result<std::uint32_t> cpus = 0u;
};

Result<ContextInputs> context_inputs(const loader::LoaderProgram& loader, const RunOptions& options) {
  ContextInputs in;
  if (loader.context.kconfig_size != 0) {
    auto sources = running_kconfig_sources(loader.kconfig);
    if (!sources) return sources.error();
    auto bytes = encode_kconfig(loader.kconfig, *sources, loader.context.kconfig_size);
    if (!bytes) return bytes.error();
    in.kconfig = std::move(bytes).value();
  }
  in.cpus = possible_cpus();
  auto settings = encode_settings(loader, options.settings, options.check_settings);
  if (!settings) return settings.error();
  in.settings = std::move(settings).value();
  return in;
}

// One BPF_PROG_RUN of the loader over a fresh context; the header it
// leaves says whether the loader succeeded.
Result<Attempt> run_once(const KernelLoader& kernel_loader, const loader::LoaderProgram& loader, const ContextInputs& in,
                         std::uint32_t log_level, std::size_t log_size) {
  Attempt a;
  a.log.assign(log_level != 0 ? log_size : 0, '\0');
  a.ctx.assign(loader.context.size(), 0);
  a.header.size = loader.context.size();
  a.header.page_size = static_cast<std::uint32_t>(::sysconf(_SC_PAGESIZE));
  a.header.possible_cpus = in.cpus ? *in.cpus : 0;  // the loader refuses 0 where it needs the count
  a.header.log_level = log_level;
  a.header.log_size = static_cast<std::uint32_t>(a.log.size());
  a.header.log_buf = log_level != 0 ? reinterpret_cast<std::uintptr_t>(a.log.data()) : 0;
  std::memcpy(a.ctx.data(), &a.header, sizeof a.header);
  if (!in.kconfig.empty()) std::memcpy(a.ctx.data() + loader.context.kconfig(), in.kconfig.data(), in.kconfig.size());
  if (!in.settings.empty()) std::memcpy(a.ctx.data() + loader.context.settings_area(), in.settings.data(), in.settings.size());
  auto run = kernel::prog_test_run(kernel_loader.program.get(), a.ctx);
  if (!run) return run.error().with_context("running the loader");
  std::memcpy(&a.header, a.ctx.data(), sizeof a.header);
  return a;
}

// The error a failed run reports, from the step it failed at.
Error loader_failure(const loader::LoaderProgram& loader, const Attempt& a, const Result<std::uint32_t>& cpus) {
  const loader::ContextHeader& header = a.header;
  const std::uint32_t step = header.failed_step;
  if (step == loader::kStepMetadataCheck) {
    return Error{ErrorKind::Kernel,
                 header.error == loader::kErrMetadataNotExclusive
                     ? std::string("the loader refused its metadata map: not exclusive to it (EPERM); nothing was loaded")
                     : std::string("the loader refused its metadata: its SHA-256 is not the one in the signed instructions "
                                   "(EKEYREJECTED); nothing was loaded")};
  }
  const std::string what = step < loader.steps.size()
                               ? fmt::format("{} '{}'", loader::step_kind_name(loader.steps[step].kind), loader.steps[step].object)
                               : fmt::format("step {}", step);
  if (step < loader.steps.size() && loader.steps[step].kind == loader::LoaderStep::Kind::SettingBound) {
    return refused_setting(loader, loader.steps[step].object, a.ctx);
  }
  if (step < loader.steps.size() && loader.steps[step].kind == loader::LoaderStep::Kind::ContextBound) {
    return Error{ErrorKind::Kernel,
                 fmt::format("the loader refused to size perf event array '{}' by {} possible CPUs (it accepts 1 to {}){}; nothing was loaded",
                             loader.steps[step].object, header.possible_cpus, loader::kMaxPossibleCpus,
                             cpus ? std::string() : "; " + cpus.error().message)};
  }
  std::string msg = fmt::format("loader failed to {}: {} (errno {})", what, std::strerror(-header.error), -header.error);
  const std::string tail = kernel::verifier_reason(std::string_view(a.log.data(), strnlen(a.log.data(), a.log.size())));
  if (!tail.empty()) msg += fmt::format("; verifier: {}", tail);
  return Error{ErrorKind::Kernel, msg};
}

// The fds a successful run handed back in the context: the BTF, every map,
// every program (0 for an optional program the loader skipped).
LoadedObject loaded_object(const loader::LoaderProgram& loader, const std::vector<std::uint8_t>& ctx) {
  auto fd_at = [&](std::uint32_t off) {
    std::int32_t fd = 0;
    std::memcpy(&fd, ctx.data() + off, 4);
    return fd;
  };
  loader::ContextHeader header;
  std::memcpy(&header, ctx.data(), sizeof header);
  LoadedObject out;
  out.btf = UniqueFd(header.btf_fd > 0 ? header.btf_fd : -1);
  for (std::uint32_t i = 0; i < loader.context.maps; ++i) out.maps.emplace_back(fd_at(loader.context.map_fd(i)));
  for (std::uint32_t i = 0; i < loader.context.programs; ++i) {
    const std::int32_t fd = fd_at(loader.context.prog_fd(i));
    out.programs.emplace_back(fd > 0 ? fd : -1);  // 0: an optional program skipped
  }
  out.skipped = skipped_programs(loader, ctx, out);
  out.map_names = loader.maps;
  out.program_names = loader.programs;
  return out;
}

}  // namespace

Result<KernelLoader> load_loader(const LoadPlan& plan, const RunOptions& options) {
  // The metadata map: one array element holding the blob.
  if (plan.metadata.empty() || plan.metadata.size() > bundle::kMaxMetadata) {
    return bad_input("metadata of {} bytes: a metadata map holds 1 to {} bytes", plan.metadata.size(), bundle::kMaxMetadata);
  }
  abi::MapCreateAttr attr;
  attr.map_type = abi::map_type::kArray;
  attr.key_size = 4;
  attr.value_size = static_cast<std::uint32_t>(plan.metadata.size());
  attr.max_entries = 1;
  std::memcpy(attr.map_name, "bpfsign_meta", 12);
  // The loader's digest: its instructions as they are (they refer to maps
  // by fd_array index, whose immediates the kernel does not zero).
  const Sha256 loader_digest = sha256(plan.loader_code);
  if (plan.scheme && options.exclusive_metadata) {
    attr.excl_prog_hash = reinterpret_cast<std::uintptr_t>(loader_digest.data());
    attr.excl_prog_hash_size = static_cast<std::uint32_t>(loader_digest.size());
  }
  auto meta = kernel::map_create(attr);
  if (!meta) return meta.error().with_context("metadata map");
  KernelLoader out;
  out.metadata_map = std::move(meta).value();
  const int meta_fd = out.metadata_map.get();
  const std::uint32_t key = 0;
  auto filled = kernel::map_update(meta_fd, &key, plan.metadata.data());
  if (!filled) return filled.error().with_context("metadata map");
  if (plan.scheme && options.freeze_metadata) {
    auto frozen = kernel::map_freeze(meta_fd);
    if (!frozen) return frozen.error().with_context("freezing the metadata map");
    // Asking for the frozen map's info makes the kernel compute and keep
    // its SHA-256, which the loader-checked loader compares (the kernel
    // refuses to hash a map that is not frozen).
    std::array<std::uint8_t, abi::kSha256Size> hash{};
    auto info = kernel::map_info(meta_fd, &hash);
    if (!info) return info.error().with_context("hashing the metadata map");
  }

  kernel::ProgLoadRequest req;
  req.prog_type = abi::prog_type::kSyscall;
  req.prog_flags = abi::kProgFlagSleepable;
  req.insns = plan.loader_code;
  req.name = "bpfsign_loader";
  const int fd_array[] = {meta_fd};
  req.fd_array = fd_array;
  req.signature = plan.signature;  // owned by the plan, alive for the call
  req.keyring_id = plan.keyring_id;
  req.set_fd_array_cnt = plan.scheme && sign::scheme_info(*plan.scheme).sets_fd_array_cnt;
  auto prog = kernel::prog_load(req);
  if (!prog) return prog.error().with_context("loader program");
  out.program = std::move(prog).value();
  return out;
}

Result<loader::LoaderProgram> authenticated_loader(const LoadPlan& plan) {
  if (plan.generated) return *plan.generated;  // generated here from the user's own object
  if (!plan.scheme || (!plan.kernel_verifies_signature && !plan.offline_verified)) {
    internal_error("authenticated_loader: a bundle plan that nothing authenticates");
  }
  // Loader-checked schemes: the kernel verified the instructions only; the
  // metadata is the signed one when its hash is the one they check.
  if (sign::loader_checks_metadata(*plan.scheme)) {
    if (!plan.embedded_metadata_hash || value_area_hash(plan.metadata) != *plan.embedded_metadata_hash) {
      return bad_input("the metadata's SHA-256 is not the one the signed loader checks: metadata altered; nothing was loaded");
    }
  }
  // The manifest: its digest ends the (now authenticated) metadata; checked
  // before the manifest is parsed.
  if (!loader::manifest_digest_matches(plan.metadata, plan.manifest)) {
    return bad_input("the manifest's SHA-256 is not the one at the end of the metadata: manifest or metadata altered; nothing was loaded");
  }
  loader::LoaderProgram out;
  if (auto ok = loader::parse_manifest(plan.manifest, out); !ok) return ok.error();
  out.code = plan.loader_code;
  out.blob = plan.metadata;
  return out;
}

Result<LoadedPlan> execute_plan(const LoadPlan& plan, const RunOptions& options) {
  auto kernel_loader = load_loader(plan, options);
  if (!kernel_loader) return kernel_loader.error();
  auto loader = authenticated_loader(plan);
  if (!loader) return loader.error();
  auto loaded = run_loaded(*kernel_loader, *loader, options);
  if (!loaded) return loaded.error();
  return LoadedPlan{std::move(loader).value(), std::move(loaded).value()};
}

Result<LoadedObject> run_loader(const loader::LoaderProgram& loader, const RunOptions& options) {
  auto done = execute_plan(plan_object_load(loader), options);
  if (!done) return done.error();
  return std::move(done->object);
}

Result<LoadedObject> run_loaded(const KernelLoader& kernel_loader, const loader::LoaderProgram& loader, const RunOptions& options) {
  auto inputs = context_inputs(loader, options);
  if (!inputs) return inputs.error();
  // Program loads run without a verifier log (an overflowing log fails a
  // good load with ENOSPC); a failed run is repeated with the log on, so the
  // error names the verifier's reason. The loader closes everything it
  // opened before it returns an error, so a rerun starts clean.
  auto first = run_once(kernel_loader, loader, *inputs, 0, options.log_size);
  if (!first) return first.error();
  if (first->header.error != 0 && options.log_level != 0) {
    // The repeated run is the one that counts: if it succeeded (a first
    // failure that did not recur), its fds are the loaded object's.
    auto again = run_once(kernel_loader, loader, *inputs, options.log_level, options.log_size);
    if (again) first = std::move(again);
  }
  if (first->header.error != 0) return loader_failure(loader, *first, inputs->cpus);
  return loaded_object(loader, first->ctx);
}

std::string SkippedProgram::reason() const {
  switch (why) {
    case loader::ProgramOutcome::SkippedAsAsked: return "skipped as asked";
    case loader::ProgramOutcome::TargetMissing: return fmt::format("its attach target '{}' is missing from the running kernel", target);
    case loader::ProgramOutcome::PrimaryLoaded: return fmt::format("it is the fallback for '{}', which loaded", primary);
    case loader::ProgramOutcome::Loaded: break;
  }
  return "the loader reported no reason";
}

}  // namespace bpfsign::load
