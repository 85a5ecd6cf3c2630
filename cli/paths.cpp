#include "paths.hpp"

#include <system_error>

namespace bpfsign::cli {

namespace {

// Two paths name one file: the same file on disk, or, for a path that does
// not exist yet, the same absolute path once "..", "." and symbolic links of
// its existing part are resolved.
bool same_file(const std::filesystem::path& a, const std::filesystem::path& b) {
  std::error_code ea, eb;
  if (std::filesystem::exists(a, ea) && std::filesystem::exists(b, eb)) {
    std::error_code e;
    return std::filesystem::equivalent(a, b, e);
  }
  // Absolute first: weakly_canonical leaves a relative path whose first
  // part does not exist relative ("y.pem"), but resolves "./y.pem".
  std::error_code ca, cb;
  const auto na = std::filesystem::weakly_canonical(std::filesystem::absolute(a, ca), ca);
  const auto nb = std::filesystem::weakly_canonical(std::filesystem::absolute(b, cb), cb);
  return !ca && !cb && na == nb;
}

}  // namespace

Status distinct_files(const std::vector<std::pair<std::string, std::string>>& named) {
  for (std::size_t i = 0; i < named.size(); ++i) {
    for (std::size_t j = i + 1; j < named.size(); ++j) {
      if (named[i].second.empty() || named[j].second.empty()) continue;
      if (same_file(named[i].second, named[j].second)) {
        return usage_error("{} and {} name the same file ({}): refusing to overwrite it", named[i].first, named[j].first, named[i].second);
      }
    }
  }
  return Ok{};
}

}  // namespace bpfsign::cli
