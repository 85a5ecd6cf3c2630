// What the running kernel supports for signed BPF loading, found by trying
// each feature (never from the version string). These are the low-level
// facts; load/kernel_probe.hpp adds the signature scheme and runs the whole
// probe once per process.
#pragma once

#include <string>
#include <vector>

namespace bpfsign::kernel {

enum class Support { Yes, No, Unknown };

struct ProbeItem {
  std::string id;      // stable key for --json
  std::string what;    // a person's name for the feature
  Support state = Support::Unknown;
  std::string detail;  // what the kernel answered (errno, values seen)
};

struct FeatureProbe {
  std::string release;  // uname -r (kernel/release.hpp), for the record only
  std::vector<ProbeItem> items;
  bool checks_signatures = false;
  std::string summary;  // what this kernel will and will not check, in plain words

  const ProbeItem* find(const std::string& id) const;
};

FeatureProbe probe_features();

const char* to_string(Support s);

}  // namespace bpfsign::kernel
