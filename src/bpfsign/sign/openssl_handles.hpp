// Owning handles for the OpenSSL objects the signing code passes around,
// and the one place that turns OpenSSL's error queue into an Error.
// Internal to sign/: public headers name only the opaque key and
// certificate classes.
#pragma once

#include <memory>
#include <string>

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "bpfsign/common/error.hpp"

namespace bpfsign::sign {

template <typename T, void (*Free)(T*)>
struct OsslDeleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using OsslPtr = std::unique_ptr<T, OsslDeleter<T, Free>>;

inline void free_bio(BIO* b) { BIO_free_all(b); }
inline void free_x509_stack(STACK_OF(X509)* s) { sk_X509_free(s); }

using BioPtr = OsslPtr<BIO, free_bio>;
using CmsPtr = OsslPtr<CMS_ContentInfo, CMS_ContentInfo_free>;
using PkeyCtxPtr = OsslPtr<EVP_PKEY_CTX, EVP_PKEY_CTX_free>;
using X509StorePtr = OsslPtr<X509_STORE, X509_STORE_free>;
using X509StoreCtxPtr = OsslPtr<X509_STORE_CTX, X509_STORE_CTX_free>;
using X509StackPtr = OsslPtr<STACK_OF(X509), free_x509_stack>;
using NamePtr = OsslPtr<X509_NAME, X509_NAME_free>;
using Asn1IntPtr = OsslPtr<ASN1_INTEGER, ASN1_INTEGER_free>;
using BignumPtr = OsslPtr<BIGNUM, BN_free>;

// "what: <OpenSSL's reasons>", draining the thread's error queue so that a
// later failure does not report a stale reason.
Error openssl_error(ErrorKind kind, const std::string& what);

}  // namespace bpfsign::sign
