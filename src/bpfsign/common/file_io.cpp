#include "bpfsign/common/file_io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "bpfsign/common/unique_fd.hpp"

namespace bpfsign {

namespace {
std::string errno_text(int err) { return fmt::format("{} (errno {})", std::strerror(err), err); }
}  // namespace

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return io_error("{}: cannot open: {}", path.string(), errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("{}: cannot stat: {}", path.string(), errno_text(errno));
  if (!S_ISREG(st.st_mode)) return io_error("{}: not a regular file", path.string());
  auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kMaxInputFileSize) {
    return io_error("{}: {} bytes is larger than the {} bytes bpfsign reads", path.string(), size,
                    kMaxInputFileSize);
  }
  std::vector<std::uint8_t> data(static_cast<std::size_t>(size));
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::read(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_error("{}: read failed: {}", path.string(), errno_text(errno));
    if (n == 0) return io_error("{}: file shrank while reading (at byte {})", path.string(), done);
    done += static_cast<std::size_t>(n);
  }
  return data;
}

Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data,
                         unsigned mode) {
  std::filesystem::path dir = path.parent_path().empty() ? "." : path.parent_path();
  // The temporary name, built by appending (g++ 12 at -O3 sees a false
  // memcpy overlap, -Wrestrict, in `"." + string`).
  std::string base = ".";
  base.append(path.filename().string()).append(".XXXXXX");
  const std::string tmpl = (dir / base).string();
  std::vector<char> name(tmpl.begin(), tmpl.end());
  name.push_back('\0');
  UniqueFd fd(::mkostemp(name.data(), O_CLOEXEC));
  if (!fd) return io_error("{}: cannot create temporary file: {}", path.string(), errno_text(errno));
  std::string tmp(name.data());
  auto fail = [&](const std::string& what) -> Status {
    int err = errno;
    ::unlink(tmp.c_str());
    return io_error("{}: {}: {}", path.string(), what, errno_text(err));
  };
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd.get(), data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail("write failed");
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd.get(), mode) != 0) return fail("chmod failed");
  if (::fsync(fd.get()) != 0) return fail("fsync failed");
  if (::close(fd.release()) != 0) return fail("close failed");
  if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("rename failed");
  return Ok{};
}

}  // namespace bpfsign
