#include "bpfsign/load/global_data.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace bpfsign::load {

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)), length_(std::exchange(other.length_, 0)),
      value_size_(std::exchange(other.value_size_, 0)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, length_);
    base_ = std::exchange(other.base_, nullptr);
    length_ = std::exchange(other.length_, 0);
    value_size_ = std::exchange(other.value_size_, 0);
  }
  return *this;
}

MappedRegion::~MappedRegion() {
  if (base_ != nullptr) ::munmap(base_, length_);
}

Result<std::vector<GlobalData>> map_global_data(const loader::LoaderProgram& loader, const LoadedObject& loaded) {
  // The kernel's page size, asked at run time (never the build host's).
  const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<GlobalData> out;
  for (std::size_t i = 0; i < loader.map_summaries.size(); ++i) {
    const loader::MapSummary& m = loader.map_summaries[i];
    if (!m.mmapable) continue;
    const std::size_t length = (m.value_size + page - 1) / page * page;
    const int prot = m.read_only ? PROT_READ : PROT_READ | PROT_WRITE;
    void* base = ::mmap(nullptr, length, prot, MAP_SHARED, loaded.maps.at(i).get(), 0);
    if (base == MAP_FAILED) return Error{ErrorKind::Kernel, fmt::format("map '{}': mmap failed: {}", m.name, std::strerror(errno))};
    out.push_back({m.name, MappedRegion(base, length, m.value_size)});
  }
  return out;
}

}  // namespace bpfsign::load
