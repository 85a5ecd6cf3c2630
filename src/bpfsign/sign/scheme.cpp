#include "bpfsign/sign/scheme.hpp"

#include <algorithm>

#include "bpfsign/common/value_area.hpp"

namespace bpfsign::sign {

namespace {

Sha256 sha_of_pair(const Sha256& a, const Sha256& b) {
  std::uint8_t buf[64];
  std::copy(a.begin(), a.end(), buf);
  std::copy(b.begin(), b.end(), buf + 32);
  return sha256(buf);
}

}  // namespace

const SchemeInfo& scheme_info(Scheme scheme) {
  for (const SchemeInfo& row : kSchemes) {
    if (row.scheme == scheme) return row;
  }
  internal_error("scheme_info: a scheme without a row");
}

std::vector<Scheme> schemes_in_try_order() {
  std::vector<const SchemeInfo*> rows;
  for (const SchemeInfo& row : kSchemes) {
    if (row.try_rank != 0) rows.push_back(&row);
  }
  std::sort(rows.begin(), rows.end(), [](const SchemeInfo* a, const SchemeInfo* b) { return a->try_rank < b->try_rank; });
  std::vector<Scheme> out;
  for (const SchemeInfo* row : rows) out.push_back(row->scheme);
  return out;
}

Result<Scheme> parse_scheme(std::uint32_t raw) {
  for (const SchemeInfo& row : kSchemes) {
    if (static_cast<std::uint32_t>(row.scheme) == raw) return row.scheme;
  }
  return bad_input("unknown signature scheme {}", raw);
}

Result<Scheme> scheme_from_name(std::string_view name) {
  for (const SchemeInfo& row : kSchemes) {
    if (name == row.name) return row.scheme;
  }
  return usage_error("unknown scheme '{}' (expected one of: {})", name, scheme_names(", "));
}

std::string scheme_names(std::string_view separator) {
  std::string names;
  for (const SchemeInfo& row : kSchemes) {
    if (!names.empty()) names += separator;
    names += row.name;
  }
  return names;
}

Sha256 chain_top(const Sha256& insns, std::span<const Sha256> map_hashes) {
  if (map_hashes.empty()) return insns;  // no maps: the patchset signs the instructions
  Sha256 h = map_hashes.back();
  for (std::size_t k = map_hashes.size() - 1; k-- > 0;) h = sha_of_pair(h, map_hashes[k]);
  return sha_of_pair(insns, h);
}

ChainLinks hash_chain(Bytes insns, std::span<const Bytes> map_values) { return hash_chain(sha256(insns), map_values); }

ChainLinks hash_chain(const Sha256& insns_hash, std::span<const Bytes> map_values) {
  ChainLinks links;
  links.insns = insns_hash;
  for (Bytes v : map_values) links.maps.push_back(value_area_hash(v));  // each value area, unjoined
  links.chain.resize(links.maps.size());
  if (!links.maps.empty()) {
    links.chain.back() = links.maps.back();
    for (std::size_t k = links.maps.size() - 1; k-- > 0;) links.chain[k] = sha_of_pair(links.chain[k + 1], links.maps[k]);
  }
  links.top = chain_top(links.insns, links.maps);
  return links;
}

std::vector<std::uint8_t> signed_payload(Scheme scheme, Bytes insns, std::span<const Bytes> map_values) {
  switch (scheme_info(scheme).content) {
    case SignedContent::Instructions:
      return {insns.begin(), insns.end()};
    case SignedContent::InstructionsThenMaps: {
      std::size_t total = insns.size();
      for (Bytes v : map_values) total += v.size() + value_area_padding(v).size();
      std::vector<std::uint8_t> out;
      out.reserve(total);
      out.insert(out.end(), insns.begin(), insns.end());
      for (Bytes v : map_values) {  // each value area: the value, then its padding
        out.insert(out.end(), v.begin(), v.end());
        const Bytes pad = value_area_padding(v);
        out.insert(out.end(), pad.begin(), pad.end());
      }
      return out;
    }
    case SignedContent::ChainTop: {
      if (map_values.empty()) return {insns.begin(), insns.end()};  // the patchset's fallback
      const Sha256 top = hash_chain(insns, map_values).top;
      return {top.begin(), top.end()};
    }
  }
  internal_error("signed_payload: unknown scheme");
}

}  // namespace bpfsign::sign
