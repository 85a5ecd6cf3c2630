#include "bpfsign/common/strict_json.hpp"

#include <algorithm>
#include <optional>
#include <set>
#include <vector>

namespace bpfsign {

namespace {

using nlohmann::json;

// A SAX pass that only watches keys: one set of keys per open object, the
// first key seen twice kept. (The parser callback of nlohmann_json costs
// time quadratic in the number of objects; this pass is linear.)
class RepeatedKeys : public nlohmann::json_sax<json> {
 public:
  std::optional<std::string> repeated;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override {
    open_.emplace_back();
    return true;
  }
  bool key(string_t& k) override {
    if (!open_.empty() && !open_.back().insert(k).second && !repeated) repeated = k;
    return true;
  }
  bool end_object() override {
    if (!open_.empty()) open_.pop_back();
    return true;
  }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

 private:
  std::vector<std::set<std::string>> open_;
};

std::string without_prefix(std::string message) {
  // "[json.exception.parse_error.101] parse error at line 1, ..." -> "parse error at line 1, ..."
  if (const auto close = message.find("] "); message.rfind("[json.exception.", 0) == 0 && close != std::string::npos) {
    message.erase(0, close + 2);
  }
  return message;
}

}  // namespace

Result<nlohmann::json> parse_json_strict(Bytes bytes, const std::string& what) {
  json doc;
  try {
    doc = json::parse(bytes.begin(), bytes.end());
  } catch (const json::exception& e) {
    return bad_input("{}: not JSON: {}", what, without_prefix(e.what()));
  }
  RepeatedKeys keys;
  (void)json::sax_parse(bytes.begin(), bytes.end(), &keys);  // the text parsed above: no error here
  if (keys.repeated) return bad_input("{}: key '{}' appears twice in one object", what, *keys.repeated);
  return doc;
}

Status json_only_keys(const nlohmann::json& obj, std::initializer_list<const char*> allowed, const std::string& where) {
  for (const auto& [key, value] : obj.items()) {
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* k) { return key == k; })) {
      std::string list;
      for (const char* k : allowed) list += (list.empty() ? "" : ", ") + std::string(k);
      return bad_input("{}: unknown key '{}' (expected {})", where, key, list);
    }
  }
  return Ok{};
}

}  // namespace bpfsign
