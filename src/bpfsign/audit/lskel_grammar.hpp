// The whole of a light skeleton header, line by line, against the grammar
// of what bpftool writes (its gen.c light-skeleton templates, in the forms
// of bpftool 7.1 and of later versions): every line must be one bpftool
// writes at that place, with only names, sizes, attach targets and literal
// bytes varying. Data structs hold data declarations only (no parentheses,
// no initialisers), so a header cannot hide a function, a constructor or a
// call anywhere: what the compiler builds is what bpftool would have
// generated. Refusals name the line and what bpftool writes there.
#pragma once

#include <string>
#include <string_view>

#include "bpfsign/common/error.hpp"

namespace bpfsign::audit {

// `name` is the object name the header declares (struct NAME).
Status check_light_skeleton_grammar(std::string_view text, const std::string& name, const std::string& what);

}  // namespace bpfsign::audit
