// DER surgery for tests (the unit tests and tests/vm/sig_forms): the
// elements of a DER structure, found by their path, read with OpenSSL's
// ASN1_get_object; and a re-encoding of the same values with one length in
// a non-minimal long form. Test code only: the library never edits DER.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <stdexcept>
#include <vector>

#include <openssl/asn1.h>

namespace bpfsign::test {

struct DerNode {
  std::vector<int> path;  // child indices from the outermost element: {} is the outermost
  std::size_t offset = 0;  // of the identifier octet
  std::size_t header = 0;  // identifier and length octets
  std::size_t length = 0;  // of the content
  bool constructed = false;
};

namespace der_detail {

struct Element {
  int tag = 0;
  bool constructed = false;
  std::size_t header = 0;
  std::size_t length = 0;
};

inline Element read_element(std::span<const std::uint8_t> in) {
  const unsigned char* p = in.data();
  long length = 0;
  int tag = 0;
  int tag_class = 0;
  const int ret = ASN1_get_object(&p, &length, &tag, &tag_class, static_cast<long>(in.size()));
  if ((ret & 0x80) != 0 || (ret & 0x01) != 0 || tag >= 31) throw std::runtime_error("der_edit: not DER this code handles");
  const auto header = static_cast<std::size_t>(p - in.data());
  if (length < 0 || static_cast<std::size_t>(length) > in.size() - header) throw std::runtime_error("der_edit: element too long");
  return {tag, (ret & V_ASN1_CONSTRUCTED) != 0, header, static_cast<std::size_t>(length)};
}

inline void collect(std::span<const std::uint8_t> der, std::size_t base, std::vector<int> path, std::vector<DerNode>& out) {
  std::size_t at = 0;
  for (int index = 0; at < der.size(); ++index) {
    const Element e = read_element(der.subspan(at));
    std::vector<int> here = path;
    here.push_back(index);
    out.push_back({here, base + at, e.header, e.length, e.constructed});
    if (e.constructed) collect(der.subspan(at + e.header, e.length), base + at + e.header, here, out);
    at += e.header + e.length;
  }
}

inline void append_length(std::vector<std::uint8_t>& out, std::size_t length, bool long_form) {
  if (!long_form && length < 0x80) {
    out.push_back(static_cast<std::uint8_t>(length));
    return;
  }
  std::vector<std::uint8_t> octets;
  for (std::size_t n = length; n != 0; n >>= 8) octets.insert(octets.begin(), static_cast<std::uint8_t>(n & 0xff));
  if (long_form) octets.insert(octets.begin(), 0x00);  // one leading zero octet: never minimal
  out.push_back(static_cast<std::uint8_t>(0x80 | octets.size()));
  out.insert(out.end(), octets.begin(), octets.end());
}

inline void reencode(std::span<const std::uint8_t> der, std::size_t target, std::size_t& counter, std::vector<std::uint8_t>& out) {
  std::size_t at = 0;
  while (at < der.size()) {
    const Element e = read_element(der.subspan(at));
    const bool this_one = counter++ == target;
    const auto content = der.subspan(at + e.header, e.length);
    std::vector<std::uint8_t> body;
    if (e.constructed) {
      reencode(content, target, counter, body);
    } else {
      body.assign(content.begin(), content.end());
    }
    out.push_back(der[at]);  // the identifier octet (low tag numbers only)
    append_length(out, body.size(), this_one);
    out.insert(out.end(), body.begin(), body.end());
    at += e.header + e.length;
  }
}

}  // namespace der_detail

// Every element of `der`, outermost first (pre-order).
inline std::vector<DerNode> der_tree(std::span<const std::uint8_t> der) {
  std::vector<DerNode> out;
  der_detail::collect(der, 0, {}, out);
  for (auto& n : out) n.path.erase(n.path.begin());  // the outermost element is {}
  return out;
}

inline std::optional<DerNode> der_find(std::span<const std::uint8_t> der, const std::vector<int>& path) {
  for (const auto& n : der_tree(der)) {
    if (n.path == path) return n;
  }
  return std::nullopt;
}

// The same values, with the length of element number `index` (pre-order, as
// der_tree lists them) in long form with a leading zero octet, and the
// lengths around it grown to match.
inline std::vector<std::uint8_t> der_with_long_length(std::span<const std::uint8_t> der, std::size_t index) {
  std::vector<std::uint8_t> out;
  std::size_t counter = 0;
  der_detail::reencode(der, index, counter, out);
  return out;
}

// Paths in a PKCS#7 SignedData as sign_detached writes it (no certificates).
namespace pkcs7_path {
inline const std::vector<int> kContentType = {0};
inline const std::vector<int> kSignedDataVersion = {1, 0, 0};
inline const std::vector<int> kDigestAlgorithmsOid = {1, 0, 1, 0, 0};
inline const std::vector<int> kEContentType = {1, 0, 2, 0};
inline const std::vector<int> kSignerInfoVersion = {1, 0, 3, 0, 0};
inline const std::vector<int> kSignerInfoSid = {1, 0, 3, 0, 1};
inline const std::vector<int> kSignerInfoDigestOid = {1, 0, 3, 0, 2, 0};
inline const std::vector<int> kSignatureAlgorithmOid = {1, 0, 3, 0, 3, 0};
}  // namespace pkcs7_path

// `der` with the last content octet of the element at `path` replaced by `value`.
inline std::vector<std::uint8_t> der_with_last_octet(std::span<const std::uint8_t> der, const std::vector<int>& path, std::uint8_t value) {
  const auto node = der_find(der, path);
  if (!node || node->length == 0) throw std::runtime_error("der_edit: no such element");
  std::vector<std::uint8_t> out(der.begin(), der.end());
  out[node->offset + node->header + node->length - 1] = value;
  return out;
}

}  // namespace bpfsign::test
