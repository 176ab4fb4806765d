// The stack folder format: stack.json + one 16-bit PNG or TIFF per angle (see README.md).
#pragma once

#include <filesystem>
#include <stdexcept>

#include "common/stack.hpp"

namespace polscan {

// A stack folder could not be read or written; the message names the file and the problem.
class StackFormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Writes stack.json and frame_NNN.png into dir (created if needed). Throws StackFormatError.
void writeStackFolder(const Stack& stack, const std::filesystem::path& dir);

// Reads a stack folder written by polscan or by another tool following the format.
Stack readStackFolder(const std::filesystem::path& dir);

}  // namespace polscan
