// Whether a file or directory may be trusted as configuration written by the
// administrator: what a boot-time service reads its trust anchors from. Like
// sshd's StrictModes: the path must belong to root (or to the user running
// bpfsign) and must not be writable by its group or by others, or anyone
// with that access could add a certificate the kernel then trusts.
#pragma once

#include <filesystem>

#include "bpfsign/common/error.hpp"

namespace bpfsign {

enum class AdminPathKind { Directory, RegularFile };

// Checks the path itself (trailing slashes aside), not what a symbolic link
// points to: a link is refused (its target could be anywhere). The
// directories above it are not checked. The error names the path and what
// is wrong (a usage error: the machine's configuration, not an input's
// content).
Status check_admin_path(const std::filesystem::path& path, AdminPathKind kind);

}  // namespace bpfsign
