// Private keys held by a PKCS#11 token, reached through OpenSSL's pkcs11
// engine (Debian's libengine-pkcs11-openssl): signing happens inside the
// token; the key never enters this process.
#pragma once

#include <string>

#include "bpfsign/common/error.hpp"

struct evp_pkey_st;

namespace bpfsign::sign {

// `uri` is an RFC 7512 PKCS#11 URI; `module` the token's PKCS#11 library
// (empty: the engine's default, p11-kit); `pin` the user PIN (empty: taken
// from the URI's pin-value, if any). The PIN is handed to the engine only.
Result<evp_pkey_st*> load_pkcs11_key(const std::string& uri, const std::string& module, const std::string& pin);

}  // namespace bpfsign::sign
