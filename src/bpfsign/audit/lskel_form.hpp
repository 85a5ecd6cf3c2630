// The form a light skeleton header must have for bpfsign to read what the
// compiler reads. A header is C: a preprocessor conditional, a macro, a line
// continuation or a comment can make the compiler see a loader other than the
// one a text search finds. So the whole header is lexed as C is and held to
// the form bpftool writes: only bpftool's directives and comments, no line
// continuation outside its string literals, no trigraphs, digraphs, string
// prefixes or non-ASCII bytes, and calls only to functions a bpftool light
// skeleton calls. Anything else is refused by name and line.
#pragma once

#include <string>
#include <string_view>

#include "bpfsign/common/error.hpp"

namespace bpfsign::audit {

struct LightSkeletonForm {
  std::string object_name;  // the NAME of struct NAME and NAME__load
};

// Checks the whole header; returns the object name it declares.
Result<LightSkeletonForm> check_light_skeleton_form(std::string_view text, const std::string& what);

// The 1-based line of text[pos], for error messages.
std::size_t line_at(std::string_view text, std::size_t pos);

}  // namespace bpfsign::audit
