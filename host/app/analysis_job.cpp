// findStackFolders and ReportBuilder: glue between stack folders and the analysis library.
#include "app/analysis_job.hpp"

#include <algorithm>
#include <optional>

#include "analysis/field_analysis.hpp"
#include "io/stack_folder.hpp"

namespace polscan {

namespace fs = std::filesystem;

std::vector<fs::path> findStackFolders(const fs::path& dir) {
  if (!fs::is_directory(dir)) {
    throw StackFormatError(dir.string() + ": no such folder");
  }
  if (fs::exists(dir / "stack.json")) return {dir};
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.is_directory() && fs::exists(entry.path() / "stack.json")) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) {
    throw StackFormatError(dir.string() + ": no stack.json here or in its sub-folders");
  }
  return found;
}

void ReportBuilder::addField(const Stack& stack) {
  std::optional<Stack> blank;
  if (stack.blank) blank = readStackFolder(*stack.blank);
  const int first_id = static_cast<int>(report_.crystals.size()) + 1;
  analysis::FieldResult result =
      analysis::analyzeField(stack, blank ? &*blank : nullptr, report_.fields, first_id);
  for (auto& c : result.crystals) report_.crystals.push_back(c);
  for (int id : result.needs_review) report_.needs_review.push_back(id);
  ++report_.fields;
}

}  // namespace polscan
