#include "bpfsign/common/strict_json.hpp"

#include <optional>
#include <set>
#include <vector>

namespace bpfsign {

Result<nlohmann::json> parse_json_strict(Bytes bytes, const std::string& what) {
  using nlohmann::json;
  std::vector<std::set<std::string>> open_objects;
  std::optional<std::string> repeated;
  auto watch = [&](int, json::parse_event_t event, json& parsed) {
    if (event == json::parse_event_t::object_start) open_objects.emplace_back();
    if (event == json::parse_event_t::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == json::parse_event_t::key && !open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second &&
        !repeated) {
      repeated = parsed.get<std::string>();
    }
    return true;
  };
  json doc;
  try {
    doc = json::parse(bytes.begin(), bytes.end(), watch);
  } catch (const json::exception& e) {
    std::string message = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
    if (const auto close = message.find("] "); message.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
      message.erase(0, close + 2);
    }
    return bad_input("{}: not JSON: {}", what, message);
  }
  if (repeated) return bad_input("{}: key '{}' appears twice in one object", what, *repeated);
  return doc;
}

}  // namespace bpfsign
