// Checkpoint serialisation: the crystals use report.json's crystal schema (io/report).
#include "scan/scan_checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "io/report.hpp"

namespace polscan {

using nlohmann::json;

namespace {
constexpr const char* kFormat = "polscan-scan-checkpoint";
constexpr int kVersion = 1;
}  // namespace

bool ScanCheckpoint::done(int tile_index) const {
  return std::any_of(tiles.begin(), tiles.end(),
                     [&](const TileResult& t) { return t.index == tile_index; });
}

json checkpointToJson(const ScanCheckpoint& c) {
  const ScanRequest& r = c.request;
  const ScanAcquisition& a = c.acquisition;
  json j;
  j["format"] = kFormat;
  j["version"] = kVersion;
  j["request"] = {{"x_mm", r.x_mm},
                  {"y_mm", r.y_mm},
                  {"width_mm", r.width_mm},
                  {"height_mm", r.height_mm},
                  {"pixel_um", r.pixel_um},
                  {"image_width_px", r.image_width_px},
                  {"image_height_px", r.image_height_px},
                  {"overlap", r.overlap},
                  {"chamber_depth_um", r.chamber_depth_um},
                  {"backlash_um", r.backlash_um}};
  j["acquisition"] = {{"angles", a.angles},           {"mode", a.mode},
                      {"exposure_us", a.exposure_us}, {"strobe", a.strobe},
                      {"autofocus", a.autofocus},     {"focus_z_um", a.focus_z_um},
                      {"sample", a.sample},           {"slide", a.slide}};
  if (!a.calibration.empty()) {
    j["acquisition"]["calibration"] = {{"file", a.calibration}, {"created", a.calibration_created}};
  }
  json focus = json::array();
  for (const auto& p : c.focus_points) focus.push_back({p.x_um, p.y_um, p.z_um});
  j["focus_points_um"] = focus;
  json tiles = json::array();
  for (const TileResult& t : c.tiles) {
    Report rep;
    json border = json::array();
    for (const FieldCrystal& fc : t.crystals) {
      rep.crystals.push_back(fc.record);
      if (fc.touches_border) border.push_back(fc.record.id);
      if (fc.needs_review) rep.needs_review.push_back(fc.record.id);
    }
    const json cj = reportToJson(rep);
    tiles.push_back({{"index", t.index},
                     {"z_um", t.z_um},
                     {"focus_metric", t.focus_metric},
                     {"crystals", cj["crystals"]},
                     {"needs_review", cj["needs_review"]},
                     {"touching_border", border}});
    if (!t.fallback.empty()) tiles.back()["fallback"] = t.fallback;
    if (t.channels > 0) tiles.back()["channels"] = t.channels;
  }
  j["tiles"] = tiles;
  j["complete"] = c.complete;
  return j;
}

ScanCheckpoint checkpointFromJson(const json& j) {
  try {
    if (j.at("format").get<std::string>() != kFormat) {
      throw CheckpointError("not a polscan scan checkpoint (format " + j.at("format").dump() + ")");
    }
    if (j.at("version").get<int>() != kVersion) {
      throw CheckpointError("checkpoint version " + j.at("version").dump() + " is not " +
                            std::to_string(kVersion));
    }
    ScanCheckpoint c;
    const json& r = j.at("request");
    c.request.x_mm = r.at("x_mm");
    c.request.y_mm = r.at("y_mm");
    c.request.width_mm = r.at("width_mm");
    c.request.height_mm = r.at("height_mm");
    c.request.pixel_um = r.at("pixel_um");
    c.request.image_width_px = r.at("image_width_px");
    c.request.image_height_px = r.at("image_height_px");
    c.request.overlap = r.at("overlap");
    c.request.chamber_depth_um = r.at("chamber_depth_um");
    c.request.backlash_um = r.at("backlash_um");
    const json& a = j.at("acquisition");
    c.acquisition.angles = a.at("angles");
    c.acquisition.mode = a.at("mode");
    c.acquisition.exposure_us = a.at("exposure_us");
    c.acquisition.strobe = a.at("strobe");
    c.acquisition.autofocus = a.at("autofocus");
    c.acquisition.focus_z_um = a.at("focus_z_um");
    c.acquisition.sample = a.at("sample");
    c.acquisition.slide = a.at("slide");
    if (a.contains("calibration")) {
      c.acquisition.calibration = a.at("calibration").at("file");
      c.acquisition.calibration_created = a.at("calibration").at("created");
    }
    for (const json& p : j.at("focus_points_um")) {
      c.focus_points.push_back(
          {p.at(0).get<double>(), p.at(1).get<double>(), p.at(2).get<double>()});
    }
    for (const json& t : j.at("tiles")) {
      TileResult tr;
      tr.index = t.at("index");
      tr.z_um = t.at("z_um");
      tr.focus_metric = t.at("focus_metric");
      tr.fallback = t.value("fallback", std::string());
      tr.channels = t.value("channels", 0);
      const Report rep = reportFromJson({{"sample", ""},
                                         {"fields", 1},
                                         {"crystals", t.at("crystals")},
                                         {"needs_review", t.at("needs_review")}});
      const auto border = t.at("touching_border").get<std::vector<int>>();
      for (const CrystalRecord& rec : rep.crystals) {
        FieldCrystal fc{rec, false, false};
        fc.touches_border = std::find(border.begin(), border.end(), rec.id) != border.end();
        fc.needs_review = std::find(rep.needs_review.begin(), rep.needs_review.end(), rec.id) !=
                          rep.needs_review.end();
        tr.crystals.push_back(fc);
      }
      if (c.done(tr.index)) {
        throw CheckpointError("tile " + std::to_string(tr.index) + " is listed twice");
      }
      c.tiles.push_back(std::move(tr));
    }
    c.complete = j.at("complete");
    return c;
  } catch (const json::exception& e) {
    throw CheckpointError(std::string("malformed checkpoint: ") + e.what());
  }
}

void writeFileAtomically(const std::filesystem::path& file, const std::string& text) {
  const std::string tmp = file.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw CheckpointError("cannot write " + tmp + ": " + std::strerror(errno));
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = std::strerror(errno);
      ::close(fd);
      throw CheckpointError("cannot write " + tmp + ": " + why);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    throw CheckpointError("cannot flush " + tmp + ": " + std::strerror(errno));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, file, ec);
  if (ec)
    throw CheckpointError("cannot rename " + tmp + " to " + file.string() + ": " + ec.message());
}

void writeCheckpoint(const ScanCheckpoint& c, const std::filesystem::path& file) {
  writeFileAtomically(file, checkpointToJson(c).dump(1) + "\n");
}

ScanCheckpoint readCheckpoint(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw CheckpointError(file.string() + ": no scan checkpoint here (cannot open it)");
  json j;
  try {
    j = json::parse(in);
  } catch (const json::exception& e) {
    throw CheckpointError(file.string() + ": not valid JSON: " + e.what());
  }
  try {
    return checkpointFromJson(j);
  } catch (const CheckpointError& e) {
    throw CheckpointError(file.string() + ": " + e.what());
  }
}

}  // namespace polscan
