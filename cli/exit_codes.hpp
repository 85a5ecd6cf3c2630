// Process exit codes, documented in docs/cli.md#exit-codes. Scripts rely on
// them: change them only with a new major version.
#pragma once

#include "bpfsign/common/error.hpp"

namespace bpfsign::cli {

enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // the command ran and its answer is "no" (verify, reproduce)
  kExitUsage = 2,        // bad command line, or an input file missing or unreadable
  kExitBadInput = 3,     // an input file is malformed
  kExitKernel = 4,       // the kernel refused a request
  kExitSomeFailed = 5,   // boot: some bundles failed, the others were loaded
  kExitInternal = 70,    // a bug in bpfsign (EX_SOFTWARE)
};

// What each code means, for the manual pages (docs/cli.md has the same table).
struct ExitCodeMeaning {
  int code;
  const char* meaning;
};
inline constexpr ExitCodeMeaning kExitCodeMeanings[] = {
    {kExitOk, "success"},
    {kExitCheckFailed, "the command ran and its answer is \"no\": verify found a failed check, reproduce a difference, load's offline "
                       "verification or the runtime's authentication refused a well-formed bundle, gate start found another policy or a gate "
                       "not whole, gate status a gate not whole"},
    {kExitUsage, "usage error (unknown command or option, missing argument, options that cannot go together), or an input file "
                 "that is missing or unreadable"},
    {kExitBadInput, "an input file is malformed"},
    {kExitKernel, "the kernel refused a request"},
    {kExitSomeFailed, "boot: at least one bundle failed to load; every other bundle was loaded"},
    {kExitInternal, "internal error: a bug in bpfsign"},
};

// Prints "bpfsign: error: <message>" on stderr and returns the exit code
// that matches the error's kind.
int report(const Error& error);

}  // namespace bpfsign::cli
