#include "bpfsign/common/file_io.hpp"

#include <fcntl.h>
#include <stdio.h>
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

Result<InputFile> open_input_file(const std::filesystem::path& path) {
  // Non-blocking, so that opening a FIFO (or a device) put where a file
  // was expected returns at once and is refused below, instead of waiting
  // for a writer forever.
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd) return io_error("{}: cannot open: {}", path.string(), errno_text(errno));
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return io_error("{}: cannot stat: {}", path.string(), errno_text(errno));
  if (!S_ISREG(st.st_mode)) return io_error("{}: not a regular file", path.string());
  const int flags = ::fcntl(fd.get(), F_GETFL);
  if (flags < 0 || ::fcntl(fd.get(), F_SETFL, flags & ~O_NONBLOCK) != 0) {
    return io_error("{}: cannot read in blocking mode: {}", path.string(), errno_text(errno));
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size > kMaxInputFileSize) {
    return io_error("{}: {} bytes is larger than the {} bytes bpfsign reads", path.string(), size, kMaxInputFileSize);
  }
  return InputFile{std::move(fd), size};
}

Result<std::vector<std::uint8_t>> read_file(const std::filesystem::path& path) {
  auto file = open_input_file(path);
  if (!file) return file.error();
  const UniqueFd& fd = file->fd;
  const std::uint64_t size = file->size;
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

Result<StagedFile> StagedFile::write(const std::filesystem::path& path, std::span<const std::uint8_t> data, unsigned mode) {
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
  StagedFile staged(path, std::string(name.data()));
  auto fail = [&](const std::string& what) -> Error {
    const int err = errno;
    return io_error("{}: {}: {}", path.string(), what, errno_text(err));  // ~StagedFile removes the temporary
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
  return staged;
}

StagedFile::StagedFile(std::filesystem::path path, std::string tmp) : path_(std::move(path)), tmp_(std::move(tmp)) {}

StagedFile::StagedFile(StagedFile&& other) noexcept : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)) { other.tmp_.clear(); }

StagedFile::~StagedFile() {
  if (!tmp_.empty()) ::unlink(tmp_.c_str());
}

Status StagedFile::commit(Existing existing) {
  if (tmp_.empty()) internal_error("StagedFile::commit: nothing staged");
  if (existing == Existing::Replace) {
    if (::rename(tmp_.c_str(), path_.c_str()) != 0) return io_error("{}: rename failed: {}", path_.string(), errno_text(errno));
    tmp_.clear();
    return Ok{};
  }
  // Never replace: the kernel refuses atomically if the path exists
  // (RENAME_NOREPLACE; where a file system lacks it, link(2) refuses likewise).
  int rc = ::renameat2(AT_FDCWD, tmp_.c_str(), AT_FDCWD, path_.c_str(), RENAME_NOREPLACE);
  if (rc != 0 && errno == EINVAL) {
    rc = ::link(tmp_.c_str(), path_.c_str());
    if (rc == 0) ::unlink(tmp_.c_str());
  }
  if (rc != 0) {
    if (errno == EEXIST) return usage_error("{}: exists; not replaced (--force replaces it)", path_.string());
    return io_error("{}: cannot put the file in place: {}", path_.string(), errno_text(errno));
  }
  tmp_.clear();
  return Ok{};
}

Status write_file_atomic(const std::filesystem::path& path, std::span<const std::uint8_t> data, unsigned mode, Existing existing) {
  auto staged = StagedFile::write(path, data, mode);
  if (!staged) return staged.error();
  return staged->commit(existing);
}

}  // namespace bpfsign
