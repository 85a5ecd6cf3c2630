#include "bpfsign/common/admin_path.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace bpfsign {

Status check_admin_path(const std::filesystem::path& given, AdminPathKind kind) {
  // "dir/" or "dir/." would make lstat follow a link named dir: the name is
  // checked without "." components and trailing slashes. ".." could step
  // out of a link's target, so it is refused.
  for (const auto& part : given) {
    if (part == "..") return usage_error("{}: give the path without '..'", given.string());
  }
  std::string name = given.lexically_normal().string();
  while (name.size() > 1 && name.back() == '/') name.pop_back();
  const std::filesystem::path path(name);
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) {
    const int err = errno;
    return usage_error("{}: cannot stat: {} (errno {})", path.string(), std::strerror(err), err);
  }
  if (S_ISLNK(st.st_mode)) return usage_error("{}: is a symbolic link; configuration must be the file itself", path.string());
  if (kind == AdminPathKind::Directory && !S_ISDIR(st.st_mode)) return usage_error("{}: not a directory", path.string());
  if (kind == AdminPathKind::RegularFile && !S_ISREG(st.st_mode)) return usage_error("{}: not a regular file", path.string());
  if (st.st_uid != 0 && st.st_uid != ::geteuid()) {
    return usage_error("{}: owned by uid {}; only root (or the user running bpfsign) may own configuration", path.string(),
                       st.st_uid);
  }
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
    return usage_error("{}: writable by its group or by others (mode {:04o}); run chmod go-w", path.string(),
                       static_cast<unsigned>(st.st_mode & 07777));
  }
  return Ok{};
}

}  // namespace bpfsign
