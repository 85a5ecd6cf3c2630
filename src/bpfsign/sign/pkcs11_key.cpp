// The ENGINE API is deprecated in OpenSSL 3 but is the only PKCS#11 route
// Debian 12 packages (no pkcs11 provider before bookworm-backports).
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "bpfsign/sign/pkcs11_key.hpp"

#include <openssl/engine.h>

#include "bpfsign/sign/openssl_handles.hpp"

namespace bpfsign::sign {

Result<evp_pkey_st*> load_pkcs11_key(const std::string& uri, const std::string& module, const std::string& pin) {
  ENGINE* engine = ENGINE_by_id("pkcs11");
  if (engine == nullptr) {
    return openssl_error(ErrorKind::Io, "PKCS#11 key " + uri + ": OpenSSL's pkcs11 engine is not installed (libengine-pkcs11-openssl)");
  }
  struct Release {
    ENGINE* e;
    bool initialised = false;
    ~Release() {
      if (initialised) ENGINE_finish(e);
      ENGINE_free(e);
    }
  } release{engine};
  if (!module.empty() && ENGINE_ctrl_cmd_string(engine, "MODULE_PATH", module.c_str(), 0) != 1) {
    return openssl_error(ErrorKind::Io, "PKCS#11 module " + module);
  }
  if (ENGINE_init(engine) != 1) return openssl_error(ErrorKind::Io, "PKCS#11 engine initialisation (module " + module + ")");
  release.initialised = true;
  if (!pin.empty() && ENGINE_ctrl_cmd_string(engine, "PIN", pin.c_str(), 0) != 1) {
    return openssl_error(ErrorKind::BadInput, "PKCS#11 PIN refused by the engine");
  }
  EVP_PKEY* key = ENGINE_load_private_key(engine, uri.c_str(), nullptr, nullptr);
  if (key == nullptr) return openssl_error(ErrorKind::BadInput, "PKCS#11 key " + uri + ": not found or not usable");
  return key;
}

}  // namespace bpfsign::sign
