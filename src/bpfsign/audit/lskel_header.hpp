// The loader and metadata inside a light skeleton header written by bpftool
// (`bpftool gen skeleton -L`), read as the compiler reads them or refused.
//
// The header is first held to bpftool's form as a whole (lskel_form.hpp);
// then its load function must be, character for character, one of the forms
// bpftool writes, with only the literals and their declared sizes differing:
//   - literals assigned inline, with numeric sizes (bpftool 7.1, Debian 12);
//   - literals in static arrays, sizes by sizeof (later bpftool), optionally
//     with the signature and the exclusive-map hash of `gen skeleton -L -S`.
// Every literal must be written as bpftool writes it: "\ then \0 or \xNN
// escapes (two lowercase hex digits) with line continuations, and nothing
// else. Errors name the line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "bpfsign/common/error.hpp"

namespace bpfsign::audit {

struct LightSkeleton {
  std::string object_name;
  std::vector<std::uint8_t> insns;
  std::vector<std::uint8_t> data;
  // Only in headers from `bpftool gen skeleton -L -S`: the PKCS#7 signature
  // of the loader and the SHA-256 of the metadata map the loader is bound to.
  std::vector<std::uint8_t> signature;
  std::vector<std::uint8_t> excl_prog_hash;
};

// Whether `text` is meant to be a light skeleton (it names bpftool's loader
// API), so that a damaged one is refused as a light skeleton, not as a bundle.
bool is_light_skeleton(std::string_view text);
Result<LightSkeleton> parse_light_skeleton(std::string_view text, const std::string& what);

}  // namespace bpfsign::audit
