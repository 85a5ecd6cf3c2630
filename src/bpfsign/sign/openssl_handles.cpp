#include "bpfsign/sign/openssl_handles.hpp"

#include <openssl/err.h>

namespace bpfsign::sign {

Error openssl_error(ErrorKind kind, const std::string& what) {
  std::string reasons;
  unsigned long code = 0;
  while ((code = ERR_get_error()) != 0) {
    char buf[256];
    ERR_error_string_n(code, buf, sizeof buf);
    if (!reasons.empty()) reasons += "; ";
    reasons += buf;
  }
  return Error{kind, reasons.empty() ? what : what + ": " + reasons};
}

}  // namespace bpfsign::sign
