// Text from input files (object, section, map and program names, a bundle's
// source name) made safe to show on a terminal: a name must never move the
// cursor, change colours or start a line of its own. Control characters
// (C0, DEL, C1) and bytes that are not valid UTF-8 are shown as \xNN; a
// backslash as \\, so that the escaped form reads back unambiguously.
#pragma once

#include <string>
#include <string_view>

namespace bpfsign {

std::string printable(std::string_view text);

}  // namespace bpfsign
