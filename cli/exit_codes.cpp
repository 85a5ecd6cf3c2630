#include "exit_codes.hpp"

#include <fmt/core.h>

#include "bpfsign/common/printable.hpp"

namespace bpfsign::cli {

int report(const Error& error) {
  // The message may quote names from input files: never raw to a terminal.
  fmt::print(stderr, "bpfsign: error: {}\n", printable(error.message));
  switch (error.kind) {
    case ErrorKind::BadInput: return kExitBadInput;
    case ErrorKind::Usage: return kExitUsage;
    case ErrorKind::Refused: return kExitCheckFailed;
    case ErrorKind::Io: return kExitUsage;
    case ErrorKind::Kernel: return kExitKernel;
    case ErrorKind::Internal: return kExitInternal;
  }
  return kExitInternal;
}

}  // namespace bpfsign::cli
