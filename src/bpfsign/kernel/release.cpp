#include "bpfsign/kernel/release.hpp"

#include <sys/utsname.h>

namespace bpfsign::kernel {

namespace {

KernelRelease read_release() {
  KernelRelease r;
  struct utsname u {};
  if (::uname(&u) != 0) return r;
  r.known = true;
  r.release = u.release;
  r.version = u.version;
  return r;
}

}  // namespace

const KernelRelease& running_release() {
  static const KernelRelease release = read_release();  // initialised once, thread-safe
  return release;
}

}  // namespace bpfsign::kernel
