// The web UI's page, embedded in the executable (kept apart from Beast: quick to compile).
#pragma once

#include <string>

namespace polscan::web {

// The page: HTML, CSS and JS in one document, no external resources.
const std::string& webPage();

}  // namespace polscan::web
