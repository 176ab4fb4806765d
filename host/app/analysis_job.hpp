// Analyses stack folders into one report (shared by `polscan analyze` and `polscan demo`).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/stack.hpp"
#include "io/report.hpp"

namespace polscan {

// Finds stack folders: dir itself if it holds stack.json, else its sub-folders that do (sorted).
std::vector<std::filesystem::path> findStackFolders(const std::filesystem::path& dir);

// Analyses each stack (with its blank, if the stack names one) and numbers crystals 1..n.
// Throws with the folder's name on bad input.
class ReportBuilder {
 public:
  explicit ReportBuilder(std::string sample) { report_.sample = std::move(sample); }
  void addField(const Stack& stack);
  const Report& report() const { return report_; }

 private:
  Report report_;
};

}  // namespace polscan
