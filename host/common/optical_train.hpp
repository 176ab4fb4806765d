// The analyser configurations the instrument can be built with (see ../shared/domain.md).
#pragma once

#include <optional>
#include <string_view>

namespace polscan {

enum class OpticalTrain {
  Circular,       // polarizer(theta) -> sample -> QWP at 45 deg -> analyser at 0 deg (default)
  Crossed,        // polarizer(theta) and analyser(theta + 90) rotated together
  FixedAnalyser,  // only the polarizer turns, analyser fixed at 90 deg
  Compensated,    // crossed polarizers + first-order red plate (530 nm) at 45 deg, white light
};

constexpr std::string_view opticalTrainName(OpticalTrain t) {
  switch (t) {
    case OpticalTrain::Circular:
      return "circular";
    case OpticalTrain::Crossed:
      return "crossed";
    case OpticalTrain::FixedAnalyser:
      return "fixed-analyser";
    case OpticalTrain::Compensated:
      return "compensated";
  }
  return "circular";
}

constexpr std::optional<OpticalTrain> opticalTrainFromName(std::string_view name) {
  for (OpticalTrain t : {OpticalTrain::Circular, OpticalTrain::Crossed, OpticalTrain::FixedAnalyser,
                         OpticalTrain::Compensated}) {
    if (opticalTrainName(t) == name) return t;
  }
  return std::nullopt;
}

}  // namespace polscan
