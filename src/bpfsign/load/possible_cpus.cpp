#include "bpfsign/load/possible_cpus.hpp"

#include <charconv>
#include <fstream>
#include <string>

namespace bpfsign::load {

namespace {

Result<std::uint32_t> read_possible_cpus() {
  constexpr const char* kPath = "/sys/devices/system/cpu/possible";
  std::ifstream f(kPath);
  std::string line;
  if (!f || !std::getline(f, line)) return io_error("{}: cannot read the machine's possible CPUs", kPath);
  auto n = count_cpu_list(line);
  if (!n) return n.error().with_context(kPath);
  return n;
}

}  // namespace

Result<std::uint32_t> count_cpu_list(std::string_view list) {
  while (!list.empty() && (list.back() == '\n' || list.back() == ' ')) list.remove_suffix(1);
  if (list.empty()) return bad_input("an empty CPU list");
  std::uint64_t count = 0;
  std::string_view rest = list;
  while (true) {
    std::uint32_t first = 0, last = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), first);
    if (ec != std::errc{}) return bad_input("CPU list '{}' is not a list of CPU numbers", list);
    last = first;
    rest.remove_prefix(static_cast<std::size_t>(end - rest.data()));
    if (!rest.empty() && rest.front() == '-') {
      rest.remove_prefix(1);
      auto [end2, ec2] = std::from_chars(rest.data(), rest.data() + rest.size(), last);
      if (ec2 != std::errc{} || last < first) return bad_input("CPU list '{}' has a range that is not 'low-high'", list);
      rest.remove_prefix(static_cast<std::size_t>(end2 - rest.data()));
    }
    count += std::uint64_t{last} - first + 1;
    if (count > UINT32_MAX) return bad_input("CPU list '{}' names more CPUs than can be counted", list);
    if (rest.empty()) break;
    if (rest.front() != ',') return bad_input("CPU list '{}' is not a list of CPU numbers", list);
    rest.remove_prefix(1);
  }
  return static_cast<std::uint32_t>(count);
}

Result<std::uint32_t> possible_cpus() {
  static const Result<std::uint32_t> cached = read_possible_cpus();
  return cached;
}

}  // namespace bpfsign::load
