#include "bpfsign/common/error.hpp"

#include <stdexcept>

namespace bpfsign {

void internal_error(const std::string& what) {
  throw std::logic_error("bpfsign internal error: " + what);
}

}  // namespace bpfsign
