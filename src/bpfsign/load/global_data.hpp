// Global data in memory: each mmapable map of a loaded object (.data,
// .bss, .rodata, ... with BPF_F_MMAPABLE) mapped into this process, so that
// the caller reads and writes the variables the programs see. Frozen maps
// (.rodata, .kconfig) are mapped read-only.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bpfsign/common/error.hpp"
#include "bpfsign/load/loader_runtime.hpp"
#include "bpfsign/loader/loader_program.hpp"

namespace bpfsign::load {

class MappedRegion {
 public:
  MappedRegion() = default;
  MappedRegion(void* base, std::size_t length, std::size_t value_size) : base_(base), length_(length), value_size_(value_size) {}
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;
  ~MappedRegion();

  std::uint8_t* data() const { return static_cast<std::uint8_t*>(base_); }
  std::size_t size() const { return value_size_; }  // the map value, not the page-rounded mapping

 private:
  void* base_ = nullptr;
  std::size_t length_ = 0;
  std::size_t value_size_ = 0;
};

struct GlobalData {
  std::string map;  // ".bss", ".data", ...
  MappedRegion region;
};

// Maps every mmapable map of `loaded` (model order), page size from the
// running kernel.
Result<std::vector<GlobalData>> map_global_data(const loader::LoaderProgram& loader, const LoadedObject& loaded);

}  // namespace bpfsign::load
