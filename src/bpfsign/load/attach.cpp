#include "bpfsign/load/attach.hpp"

#include <fcntl.h>
#include <net/if.h>

#include <fstream>
#include <optional>

#include "bpfsign/kernel/bpf_syscall.hpp"
#include "bpfsign/abi/bpf_enums.hpp"

namespace bpfsign::load {

namespace {

using object::AttachMethod;

Result<UniqueFd> kernel_result(Result<UniqueFd> r, const std::string& what) {
  if (!r) return r.error().with_context(what);
  return std::move(r).value();
}

// A tracepoint "category/name" through tracefs: its id, a perf event, a link.
Result<UniqueFd> attach_tracepoint(int prog_fd, const std::string& target, const AttachOptions& options) {
  const std::string id_path = options.tracefs + "/events/" + target + "/id";
  std::ifstream f(id_path);
  std::uint64_t id = 0;
  if (!(f >> id)) {
    return io_error("tracepoint '{}': cannot read {} (is tracefs mounted at {}?)", target, id_path, options.tracefs);
  }
  auto event = kernel_result(kernel::tracepoint_perf_event(id), fmt::format("tracepoint '{}'", target));
  if (!event) return event.error();
  auto link = kernel_result(kernel::link_create(prog_fd, event->get(), abi::attach_type::kPerfEvent), fmt::format("tracepoint '{}'", target));
  return link;  // the link holds the perf event; our fd to it may close
}

// The kprobe PMU's type and the config bit of return probes, from sysfs;
// nullopt when the kernel has no kprobes.
std::optional<std::pair<std::uint32_t, unsigned>> kprobe_pmu() {
  std::ifstream type_file("/sys/bus/event_source/devices/kprobe/type");
  std::uint32_t type = 0;
  if (!(type_file >> type)) return std::nullopt;
  std::ifstream format("/sys/bus/event_source/devices/kprobe/format/retprobe");
  std::string spec;  // "config:0"
  unsigned bit = 0;
  if (format >> spec && spec.rfind("config:", 0) == 0) bit = static_cast<unsigned>(std::stoul(spec.substr(7)));
  return std::pair{type, bit};
}

// "function" or "function+offset" (libbpf's kprobe section syntax).
Result<UniqueFd> attach_kprobe(int prog_fd, const std::string& target, bool retprobe, std::uint32_t pmu, unsigned bit) {
  std::string symbol = target;
  std::uint64_t offset = 0;
  if (const auto plus = target.find('+'); plus != std::string::npos) {
    symbol = target.substr(0, plus);
    try {
      offset = std::stoull(target.substr(plus + 1), nullptr, 0);
    } catch (const std::exception&) {
      return bad_input("kprobe target '{}': bad offset", target);
    }
  }
  const std::string what = fmt::format("{} '{}'", retprobe ? "kretprobe" : "kprobe", target);
  auto event = kernel_result(kernel::kprobe_perf_event(pmu, symbol, offset, retprobe, bit), what);
  if (!event) return event.error();
  return kernel_result(kernel::link_create(prog_fd, event->get(), abi::attach_type::kPerfEvent), what);
}

}  // namespace

Result<std::vector<Attachment>> attach_programs(const std::vector<loader::ProgramSummary>& programs,
                                                const LoadedObject& loaded, const AttachOptions& options) {
  std::vector<Attachment> out;
  for (std::size_t i = 0; i < programs.size(); ++i) {
    const loader::ProgramSummary& p = programs[i];
    if (!loaded.programs.at(i)) continue;  // an optional program the loader skipped (LoadedObject::skipped)
    const int fd = loaded.programs.at(i).get();
    const std::string& target = p.attach_target;
    Attachment a;
    a.program = p.name;
    Result<UniqueFd> link = UniqueFd{};
    switch (p.attach) {
      case AttachMethod::RawTracepoint:
        link = kernel_result(kernel::raw_tracepoint_open(fd, target), fmt::format("raw tracepoint '{}'", target));
        a.how = "raw_tracepoint " + target;
        break;
      case AttachMethod::Tracepoint:
        link = attach_tracepoint(fd, target, options);
        a.how = "tracepoint " + target;
        break;
      case AttachMethod::Kprobe:
      case AttachMethod::Kretprobe: {
        const bool ret = p.attach == AttachMethod::Kretprobe;
        const auto pmu = kprobe_pmu();
        if (!pmu) {
          a.how = "not attached: this kernel has no kprobes (no kprobe PMU in sysfs, CONFIG_KPROBES off)";
          break;
        }
        link = attach_kprobe(fd, target, ret, pmu->first, pmu->second);
        a.how = (ret ? "kretprobe " : "kprobe ") + target;
        break;
      }
      case AttachMethod::Trace:
      case AttachMethod::Lsm:
      case AttachMethod::Iter:
        link = kernel_result(kernel::link_create(fd, 0, p.expected_attach_type),
                             fmt::format("{} '{}'", abi::attach_type_name(p.expected_attach_type), target));
        a.how = abi::attach_type_name(p.expected_attach_type) + " " + target;
        break;
      case AttachMethod::Xdp:
      case AttachMethod::Tcx: {
        if (options.iface.empty()) {
          a.how = fmt::format("not attached: {} programs need an interface (--iface)", object::attach_method_name(p.attach));
          break;
        }
        const unsigned ifindex = if_nametoindex(options.iface.c_str());
        if (ifindex == 0) return usage_error("--iface: interface '{}' does not exist", options.iface);
        link = kernel_result(kernel::link_create(fd, static_cast<int>(ifindex), p.expected_attach_type),
                             fmt::format("{} on {}", abi::attach_type_name(p.expected_attach_type), options.iface));
        a.how = abi::attach_type_name(p.expected_attach_type) + " on " + options.iface;
        break;
      }
      case AttachMethod::Cgroup: {
        if (options.cgroup.empty()) {
          a.how = "not attached: cgroup programs need a cgroup (--cgroup)";
          break;
        }
        UniqueFd cg(::open(options.cgroup.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
        if (!cg) return io_error("cgroup '{}': cannot open", options.cgroup);
        link = kernel_result(kernel::link_create(fd, cg.get(), p.expected_attach_type),
                             fmt::format("{} on {}", abi::attach_type_name(p.expected_attach_type), options.cgroup));
        a.how = abi::attach_type_name(p.expected_attach_type) + " on " + options.cgroup;
        break;
      }
      case AttachMethod::None:
        a.how = "not attached: its section names no attach point (socket filters, tc classifiers, syscall programs, ...)";
        break;
      default:
        a.how = fmt::format("not attached: {} attachment is not implemented yet", object::attach_method_name(p.attach));
        break;
    }
    if (!link) return link.error().with_context(fmt::format("attaching program '{}'", p.name));
    a.link = std::move(link).value();
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace bpfsign::load
