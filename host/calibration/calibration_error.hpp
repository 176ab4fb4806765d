// Errors of the calibration: bad inputs, and set-ups that are out of spec.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace polscan::calibration {

// An input is missing or unusable (the message names it).
class CalibrationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The instrument is out of spec: each problem names the figure, its value, the limit and what
// to adjust. Nothing is stored when this is thrown.
class CalibrationRefused : public CalibrationError {
 public:
  explicit CalibrationRefused(std::vector<std::string> problems)
      : CalibrationError(join(problems)), problems_(std::move(problems)) {}
  const std::vector<std::string>& problems() const { return problems_; }

 private:
  static std::string join(const std::vector<std::string>& p) {
    std::string s = "calibration refused, the instrument is out of spec:";
    for (const auto& x : p) s += "\n  - " + x;
    return s;
  }
  std::vector<std::string> problems_;
};

}  // namespace polscan::calibration
