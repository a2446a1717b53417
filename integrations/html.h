// Text into HTML (the status page, email bodies): escaped, with bytes that are not UTF-8 (a
// Windows-1252 extract) shown as U+FFFD so a page or message is always valid UTF-8.
#pragma once

#include <string>
#include <string_view>

namespace casewatch {

std::string html_escape(std::string_view text);

}  // namespace casewatch
