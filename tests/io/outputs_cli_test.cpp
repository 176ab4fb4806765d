// The lab outputs through the polscan executable: an OME-TIFF stack acquired on the virtual
// instrument, analysed back into report.json, crystals.csv, report.html and the sample history.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.hpp"

namespace fs = std::filesystem;
using polscan::testing::CliResult;

namespace {

CliResult runPolscan(const std::string& args) {
  return polscan::testing::runCli(POLSCAN_EXE, args);
}

std::string slurp(const fs::path& f) {
  std::ifstream in(f);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::size_t countOf(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + what.size())) ++n;
  return n;
}

fs::path tempDir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() /
                     ("polscan_outputs_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}

}  // namespace

// One test for the whole path: the acquisition is the slow part, and ctest runs every test in
// a process of its own.
TEST(OutputsCli, AcquireOmeTiffThenAnalyzeItIntoReportsAndTheHistory) {
  const fs::path dir = tempDir("path");
  const CliResult acquire =
      runPolscan("acquire --angles 8 --out " + (dir / "stacks" / "f0.ome.tif").string());
  ASSERT_EQ(acquire.status, 0) << acquire.output;
  const auto tf = polscan::testing::runCli(
      PYTHON3, std::string(READ_OME_TIFF_PY) + " " + (dir / "stacks" / "f0.ome.tif").string());
  ASSERT_EQ(tf.status, 0) << tf.output;
  const auto j = nlohmann::json::parse(tf.output);
  EXPECT_EQ(j["shape"], nlohmann::json::array({8, 768, 1024}));
  EXPECT_EQ(j["angles_deg"].size(), 8u);
  EXPECT_NEAR(j["angles_deg"][4].get<double>(), 90.0, 1.0);  // measured angles, near commanded
  EXPECT_DOUBLE_EQ(j["pixel_um"].get<double>(), 0.4);
  EXPECT_EQ(j["microscope"], "polscan sim");

  const fs::path out = dir / "analysis";
  const fs::path db = dir / "history" / "h.sqlite";
  const CliResult r = runPolscan("analyze " + (dir / "stacks").string() + " --out " + out.string() +
                                 " --sample-id S-001 --sample-type synovial-fluid" +
                                 " --operator 'A. Lab' --history-db " + db.string());
  ASSERT_EQ(r.status, 0) << r.output;
  const auto report = nlohmann::json::parse(slurp(out / "report.json"));
  const std::size_t n = report["crystals"].size();
  ASSERT_GE(n, 2u) << report.dump(1);
  EXPECT_EQ(report["sample_id"], "S-001");
  EXPECT_GT(report["scanned_area_mm2"].get<double>(), 0.1);

  const std::string csv = slurp(out / "crystals.csv");
  EXPECT_EQ(countOf(csv, "\n"), n + 1);

  const std::string html = slurp(out / "report.html");
  EXPECT_EQ(countOf(html, "<figure class=\"crystal\""), n);
  EXPECT_EQ(countOf(html, "class=\"crop-compensator\""), n);
  EXPECT_NE(html.find("cannot be confirmed by polarized light"), std::string::npos);
  EXPECT_NE(html.find("<td class=\"count\">" + std::to_string(report["counts"]["CPPD"].get<int>()) +
                      "</td>"),
            std::string::npos);
  EXPECT_EQ(html.find("http"), std::string::npos);

  // The history lists, searches and exports it.
  CliResult h = runPolscan("history --history-db " + db.string());
  ASSERT_EQ(h.status, 0) << h.output;
  EXPECT_NE(h.output.find("S-001"), std::string::npos) << h.output;
  EXPECT_NE(h.output.find("1 sample"), std::string::npos) << h.output;
  h = runPolscan("history --history-db " + db.string() + " --search nobody");
  EXPECT_NE(h.output.find("0 samples"), std::string::npos) << h.output;
  const fs::path csv_out = dir / "export.csv";
  h = runPolscan("history --history-db " + db.string() + " --search 'a. lab' --export-csv " +
                 csv_out.string());
  ASSERT_EQ(h.status, 0) << h.output;
  const std::string exported = slurp(csv_out);
  EXPECT_EQ(countOf(exported, "\n"), 2u) << exported;
  EXPECT_NE(exported.find("S-001,synovial-fluid,"), std::string::npos) << exported;

  // Without --html no HTML report; a second run adds a second history row. As urine from a
  // mono stack, its notes say what one wavelength cannot see.
  EXPECT_EQ(report["stack_channels"], 1);
  EXPECT_EQ(report["notes"].size(), 1u) << report["notes"].dump();
  const fs::path out2 = dir / "analysis2";
  ASSERT_EQ(runPolscan("analyze " + (dir / "stacks" / "f0.ome.tif").string() + " --out " +
                       out2.string() + " --no-html --sample-id S-002 --sample-type urine" +
                       " --history-db " + db.string())
                .status,
            0);
  const auto urine = nlohmann::json::parse(slurp(out2 / "report.json"));
  ASSERT_EQ(urine["notes"].size(), 2u) << urine["notes"].dump();
  EXPECT_NE(urine["notes"][1].get<std::string>().find("single-wavelength (mono)"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(out2 / "report.html"));
  h = runPolscan("history --history-db " + db.string());
  EXPECT_NE(h.output.find("2 samples"), std::string::npos) << h.output;
  fs::remove_all(dir);
}

TEST(OutputsCli, CorruptFilesGiveErrorsNamingThem) {
  const fs::path dir = tempDir("corrupt");
  const fs::path bad_db = dir / "corrupt.sqlite";
  fs::create_directories(dir);
  std::ofstream(bad_db) << std::string(4096, 'x');
  CliResult r = runPolscan("history --history-db " + bad_db.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("polscan: error: sample history " + bad_db.string()), std::string::npos)
      << r.output;
  EXPECT_NE(r.output.find("not a database"), std::string::npos) << r.output;

  const fs::path bad_tif = dir / "bad" / "x.ome.tif";
  fs::create_directories(bad_tif.parent_path());
  std::ofstream(bad_tif) << "II*\0garbage";
  r = runPolscan("analyze " + bad_tif.string());
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find(bad_tif.string()), std::string::npos) << r.output;
  fs::remove_all(dir);
}

TEST(OutputsCli, DemoWritesTheHtmlReportMosaicAndHistoryRow) {
  const fs::path dir = tempDir("demo");
  const fs::path db = dir / "h.sqlite";
  const CliResult r =
      runPolscan("demo --out " + dir.string() +
                 " --sample-id DEMO-1 --operator tester --history-db " + db.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find("HTML report written to"), std::string::npos) << r.output;
  const auto report = nlohmann::json::parse(slurp(dir / "report.json"));
  const std::size_t n = report["crystals"].size();
  ASSERT_GE(n, 10u);
  EXPECT_GT(report["chamber_depth_um"].get<double>(), 0.0);  // the virtual slide's
  const std::string html = slurp(dir / "report.html");
  EXPECT_EQ(countOf(html, "<figure class=\"crystal\""), n);
  EXPECT_EQ(countOf(html, "<img class=\"mosaic\""), 1u);
  // CPPD per uL is known here: count / (area x depth).
  const double per_ul =
      report["counts"]["CPPD"].get<int>() / (report["scanned_area_mm2"].get<double>() *
                                             report["chamber_depth_um"].get<double>() / 1000.0);
  char cell[64];
  std::snprintf(cell, sizeof(cell), "<td>%.1f</td></tr>", per_ul);
  EXPECT_NE(html.find(cell), std::string::npos) << cell;

  // The overview mosaic is an OME-TIFF image (2-D, pixel size) that tifffile opens.
  const auto tf = polscan::testing::runCli(
      PYTHON3, std::string(READ_OME_TIFF_PY) + " " + (dir / "mosaic.ome.tif").string());
  ASSERT_EQ(tf.status, 0) << tf.output;
  const auto j = nlohmann::json::parse(tf.output);
  EXPECT_EQ(j["shape"].size(), 2u);
  EXPECT_GT(j["pixel_um"].get<double>(), 0.4);

  const CliResult h = runPolscan("history --history-db " + db.string() + " --since 2000-01-01");
  EXPECT_NE(h.output.find("DEMO-1"), std::string::npos) << h.output;
  EXPECT_NE(h.output.find("synovial-fluid"), std::string::npos) << h.output;
  EXPECT_NE(h.output.find("tester"), std::string::npos) << h.output;
  fs::remove_all(dir);
}
