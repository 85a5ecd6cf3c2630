// JSON for the files people write (a settings declaration, a gate policy):
// nlohmann_json's parser, with a repeated key in one object refused (the
// parser keeps the last silently, so a reviewer could read one value while
// another is used) and its messages without the library's prefixes.
// Internal: not installed (it exposes nlohmann_json).
#pragma once

#include <initializer_list>
#include <string>

#include <nlohmann/json.hpp>

#include "bpfsign/common/byte_reader.hpp"
#include "bpfsign/common/error.hpp"

namespace bpfsign {

// `what` names the file in errors.
Result<nlohmann::json> parse_json_strict(Bytes bytes, const std::string& what);

// Refuses a key of object `obj` that is not in `allowed`, naming it, `where`
// and the keys expected.
Status json_only_keys(const nlohmann::json& obj, std::initializer_list<const char*> allowed, const std::string& where);

}  // namespace bpfsign
