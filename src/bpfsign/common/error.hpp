// Errors and results for library code that parses input or talks to the
// kernel. Library functions return Result<T>; exceptions are reserved for
// broken invariants (our own bugs).
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>

#include <fmt/core.h>

namespace bpfsign {

// What kind of failure this is decides the CLI's exit code
// (docs/cli.md#exit-codes), so keep the kinds few and meaningful.
enum class ErrorKind {
  BadInput,  // the input is not what it claims to be, or malformed
  Usage,     // the options given cannot be carried out as given
  Refused,   // the input is well-formed, and the answer is "no" (a check failed)
  Io,        // a file could not be read or written
  Kernel,    // the kernel refused a request (errno is in the message)
  Internal,  // a bug of ours
};

// What the kernel answered a request with, kept as data on the errors
// kernel/ makes (kind Kernel), so that callers decide on the errno, not on
// the message.
struct KernelFailure {
  std::string command;       // "BPF_PROG_LOAD", "BPF_OBJ_GET /sys/fs/bpf/x"
  int err = 0;               // errno
  std::string verifier_log;  // for a refused load: the verifier's reason
};

struct Error {
  Error() = default;
  Error(ErrorKind k, std::string m, std::optional<KernelFailure> refusal = std::nullopt)
      : kind(k), message(std::move(m)), kernel(std::move(refusal)) {}

  ErrorKind kind = ErrorKind::BadInput;
  std::string message;
  std::optional<KernelFailure> kernel;  // set when the kernel refused

  // Prepends context ("file.o: section .text: ") to an error from deeper down.
  Error with_context(const std::string& context) const {
    return Error{kind, context + ": " + message, kernel};
  }
  // The kernel's errno, 0 when the kernel did not refuse.
  int kernel_errno() const { return kernel ? kernel->err : 0; }
};

template <typename... Args>
Error bad_input(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::BadInput, fmt::format(f, std::forward<Args>(args)...)};
}

template <typename... Args>
Error usage_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::Usage, fmt::format(f, std::forward<Args>(args)...)};
}

template <typename... Args>
Error refusal(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::Refused, fmt::format(f, std::forward<Args>(args)...)};
}

template <typename... Args>
Error io_error(fmt::format_string<Args...> f, Args&&... args) {
  return Error{ErrorKind::Io, fmt::format(f, std::forward<Args>(args)...)};
}

// A value or an error, in the spirit of std::expected (C++23).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}           // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}       // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<Error>(v_); }
  // What the kernel answered, when this is the kernel's refusal; else null.
  const KernelFailure* kernel_failure() const {
    const Error* e = std::get_if<Error>(&v_);
    return e != nullptr && e->kernel ? &*e->kernel : nullptr;
  }

 private:
  std::variant<T, Error> v_;
};

// Result for operations that produce nothing but may fail.
struct Ok {};
using Status = Result<Ok>;

// Thrown only for violated internal invariants.
[[noreturn]] void internal_error(const std::string& what);

}  // namespace bpfsign
