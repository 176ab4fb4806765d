// The self-contained HTML report: one file, images embedded, no external resources.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "io/crystal_gallery.hpp"
#include "io/ome_tiff.hpp"
#include "io/report.hpp"

namespace polscan {

struct HtmlReportInput {
  const Report* report = nullptr;
  const Gallery* gallery = nullptr;   // crops by crystal id; crystals without one say so
  std::optional<MosaicImage> mosaic;  // marked with every crystal's position and id
  std::string instrument;             // free text, e.g. "polscan sim, firmware 0.1.0"
};

// Sample data, counts and concentrations per class, the mosaic with marks, a retardance
// histogram (inline SVG), the crystal gallery (red-compensator view and retardance, PNG as
// base64 data URIs), the needs-review list and the apatite statement.
std::string htmlReport(const HtmlReportInput& input);

// Writes atomically. Throws std::runtime_error naming the path.
void writeHtmlReport(const HtmlReportInput& input, const std::filesystem::path& file);

}  // namespace polscan
