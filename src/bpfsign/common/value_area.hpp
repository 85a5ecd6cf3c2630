// An array map's value area as the kernel hashes it: round_up(value_size, 8)
// bytes per element, the padding zeroed. It is what BPF_OBJ_GET_INFO_BY_FD
// reports as a frozen map's hash and what 7.3's kernel hashes after the
// instructions. bpfsign's metadata maps hold one element, so the area is the
// value and its padding. Every scheme, loader check and verifier takes the
// area from here, so that they cannot disagree on it.
#pragma once

#include <cstdint>
#include <vector>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/sha256.hpp"

namespace bpfsign {

// The zero bytes that follow `value` in its area (0 to 7), for hashing the
// area in parts without building it.
Bytes value_area_padding(Bytes value);
// The area itself: `value`, then its padding.
std::vector<std::uint8_t> value_area(Bytes value);
// SHA-256 of the area: what the kernel reports for a frozen one-element
// array map holding `value`.
Sha256 value_area_hash(Bytes value);

}  // namespace bpfsign
