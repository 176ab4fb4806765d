// The one exception type thrown at the analysis API boundary; its message names what was wrong.
#pragma once

#include <stdexcept>

namespace polscan::analysis {

class AnalysisError : public std::runtime_error {
  using runtime_error::runtime_error;
};

}  // namespace polscan::analysis
