// findStackFolders and ReportBuilder: glue between stack folders and the analysis library.
#include "app/analysis_job.hpp"

#include <algorithm>
#include <optional>

#include "io/stack_file.hpp"

namespace polscan {

namespace fs = std::filesystem;

std::vector<fs::path> findStackFolders(const fs::path& dir) {
  return findStacks(dir);
}

void ReportBuilder::addField(const Stack& stack) {
  std::optional<Stack> blank;
  if (stack.blank) blank = readStack(*stack.blank);
  const analysis::FieldResult& result =
      analyzer_.analyze(stack, blank ? &*blank : nullptr, fields_, 1);
  std::vector<FieldCrystal> field;
  for (const CrystalRecord& c : result.crystals) {
    FieldCrystal fc{c, false, false};
    fc.touches_border = std::find(result.touching_border.begin(), result.touching_border.end(),
                                  c.id) != result.touching_border.end();
    fc.needs_review = std::find(result.needs_review.begin(), result.needs_review.end(), c.id) !=
                      result.needs_review.end();
    field.push_back(fc);
  }
  mergeField(crystals_, field);
  ++fields_;
}

Report ReportBuilder::report() const {
  Report r;
  r.sample = sample_;
  r.fields = fields_;
  for (const FieldCrystal& c : crystals_) {
    r.crystals.push_back(c.record);
    r.crystals.back().id = static_cast<int>(r.crystals.size());
    if (c.needs_review) r.needs_review.push_back(r.crystals.back().id);
  }
  return r;
}

}  // namespace polscan
