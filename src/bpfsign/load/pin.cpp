#include "bpfsign/load/pin.hpp"

#include <sys/stat.h>
#include <sys/vfs.h>

#include <cerrno>
#include <cstring>

#include "bpfsign/kernel/bpf_syscall.hpp"

namespace bpfsign::load {

namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;  // BPF_FS_MAGIC

class Pinner {
 public:
  ~Pinner() {
    if (committed_) return;
    for (auto it = pinned_.rbegin(); it != pinned_.rend(); ++it) {
      std::error_code ec;
      std::filesystem::remove(*it, ec);
    }
    for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
      std::error_code ec;
      std::filesystem::remove(*it, ec);
    }
  }

  Status directory(const std::filesystem::path& d) {
    std::error_code ec;
    if (std::filesystem::exists(d, ec)) return Ok{};
    if (!std::filesystem::create_directory(d, ec)) return io_error("{}: cannot create: {}", d.string(), ec.message());
    made_.push_back(d);
    // Whatever the umask, no one else may unpin (and so detach) what is
    // pinned here: group and others lose write, nothing is loosened.
    struct stat st {};
    if (::stat(d.c_str(), &st) != 0 || ::chmod(d.c_str(), st.st_mode & 07755) != 0) {
      return io_error("{}: cannot set its mode: {}", d.string(), std::strerror(errno));
    }
    return Ok{};
  }

  Status pin(int fd, const std::filesystem::path& path) {
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) return io_error("{}: already exists; not replaced", path.string());
    auto r = kernel::obj_pin(fd, path.string());
    if (!r) return r.error().with_context(path.string());
    pinned_.push_back(path);
    return Ok{};
  }

  std::vector<std::filesystem::path> commit() {
    committed_ = true;
    return pinned_;
  }

 private:
  std::vector<std::filesystem::path> pinned_;
  std::vector<std::filesystem::path> made_;
  bool committed_ = false;
};

// Names become file names: bpffs refuses '.' in them (as libbpf does, '_'
// stands in), and '/' cannot appear in any file name.
std::string file_name(std::string name) {
  for (char& c : name) {
    if (c == '/' || c == '.') c = '_';
  }
  return name;
}

}  // namespace

bool on_bpf_fs(const std::filesystem::path& path) {
  struct statfs fs {};
  return ::statfs(path.c_str(), &fs) == 0 && fs.f_type == kBpfFsMagic;
}

Result<std::vector<std::filesystem::path>> pin_object(const std::filesystem::path& dir, const LoadedObject& loaded,
                                                      const std::vector<Attachment>& links) {
  Pinner p;
  if (auto s = p.directory(dir); !s) return s.error();
  if (!on_bpf_fs(dir)) {
    return io_error("{}: not on a BPF file system (mount -t bpf bpf /sys/fs/bpf)", dir.string());
  }
  for (const char* sub : {"maps", "progs", "links"}) {
    if (auto s = p.directory(dir / sub); !s) return s.error();
  }
  for (std::size_t i = 0; i < loaded.maps.size(); ++i) {
    if (auto s = p.pin(loaded.maps[i].get(), dir / "maps" / file_name(loaded.map_names[i])); !s) return s.error();
  }
  for (std::size_t i = 0; i < loaded.programs.size(); ++i) {
    if (!loaded.programs[i]) continue;  // skipped by the loader: nothing to pin
    if (auto s = p.pin(loaded.programs[i].get(), dir / "progs" / file_name(loaded.program_names[i])); !s) return s.error();
  }
  for (const auto& a : links) {
    if (!a.attached()) continue;
    if (auto s = p.pin(a.link.get(), dir / "links" / file_name(a.program)); !s) return s.error();
  }
  return p.commit();
}

}  // namespace bpfsign::load
