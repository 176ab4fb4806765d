// `polscan scan` end to end on the firmware simulator and a virtual slide: an uninterrupted scan,
// and one whose host and link (the simulator) are SIGKILLed mid-scan and then resumed. The
// resumed scan must hold every tile exactly once and find the same crystals.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "app/fwsim_process.hpp"
#include "hardware/twin/slide.hpp"
#include "history/sample_history.hpp"
#include "io/ome_tiff.hpp"
#include "scan/mosaic.hpp"
#include "scan/scan_checkpoint.hpp"
#include "scan/scan_plan.hpp"
#include "scan/scan_report_files.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cli_runner.hpp"
#include "tests/support/scratch_files.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using polscan::testing::ChildProcess;
using polscan::testing::freshTempDir;
using polscan::testing::readJsonFile;
using polscan::testing::readTextFile;

// A slide crowded enough that each of the 6 tiles holds crystals, several on the overlaps.
fs::path makeSlideFile(const fs::path& dir) {
  polscan::twin::SlideRecipe r;
  r.width_mm = 2.4;
  r.height_mm = 2.0;
  r.per_mm2 = {{polscan::CrystalClass::CPPD, 60},
               {polscan::CrystalClass::MSU, 30},
               {polscan::CrystalClass::CaOxDihydrate, 20}};
  r.debris_per_mm2 = 10;
  const fs::path f = dir / "slide.json";
  polscan::twin::saveSlide(polscan::twin::makeSlide(r, 4242), f);
  return f;
}

// Region 0.05..0.95 mm x 0.05..0.6 mm: 3 x 2 fields of 409.6 x 307.2 um (20x, 8 um pixels).
std::string scanArgs(const fs::path& slide, const fs::path& out) {
  return "scan --slide " + slide.string() + " --out " + out.string() +
         " --x-mm 0.05 --y-mm 0.05 --width-mm 0.9 --height-mm 0.55 --no-autofocus"
         " --focus-z-um 1";
}

std::vector<pid_t> childrenOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) + "/children");
  std::vector<pid_t> kids;
  pid_t k;
  while (in >> k) kids.push_back(k);
  return kids;
}

int tilesDone(const fs::path& checkpoint) {
  try {
    return static_cast<int>(readJsonFile(checkpoint).at("tiles").size());
  } catch (...) {
    return 0;  // not written yet (the rename makes a half-written file impossible)
  }
}

// polscan in the background with args (words split at spaces), its output in log.
ChildProcess spawnPolscan(const std::string& args, const fs::path& log) {
  std::vector<std::string> argv{POLSCAN_EXE};
  std::istringstream words(args);
  for (std::string w; words >> w;) argv.push_back(w);
  return ChildProcess(std::move(argv), log);
}

// Waits (up to 60 s) until the checkpoint holds at least n tiles; returns how many it holds.
int waitForTiles(const fs::path& checkpoint, int n) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int done = 0;
  while ((done = tilesDone(checkpoint)) < n && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return done;
}

struct Crystal {
  std::string cls;
  double x, y;
};
std::vector<Crystal> crystalsOf(const json& report) {
  std::vector<Crystal> v;
  for (const auto& c : report.at("crystals")) {
    v.push_back({c.at("class"), c.at("x_um"), c.at("y_um")});
  }
  return v;
}

}  // namespace

TEST(ScanResume, KilledHostAndLinkResumeToTheSameCrystalsWithEveryTileOnce) {
  const fs::path dir = freshTempDir("scan_resume");
  const fs::path slide = makeSlideFile(dir);

  // Reference: the same scan, not interrupted.
  const fs::path ref = dir / "ref";
  const auto a = polscan::testing::runCli(POLSCAN_EXE, scanArgs(slide, ref));
  ASSERT_EQ(a.status, 0) << a.output;
  const json ref_report = readJsonFile(ref / "report.json");
  ASSERT_EQ(ref_report["scan"]["tiles_total"], 6);
  ASSERT_TRUE(ref_report["scan"]["complete"].get<bool>());
  ASSERT_GE(ref_report["crystals"].size(), 6u) << "the slide should give crystals to compare";
  EXPECT_TRUE(fs::exists(ref / "mosaic.png"));
  EXPECT_NE(a.output.find("tiles 6/6"), std::string::npos) << a.output;
  // Continuous fly-by took every tile: no stop-and-go fallback.
  EXPECT_TRUE(ref_report["scan"]["stop_and_go_fallback_tiles"].empty()) << a.output;

  // Interrupted: SIGKILL the host and the simulator (the link) once 2 tiles are checkpointed.
  const fs::path out = dir / "killed";
  ChildProcess host = spawnPolscan(scanArgs(slide, out) +
                                       " --sample-id SR-1 --sample-type synovial-fluid"
                                       " --operator kim --history-db " +
                                       (dir / "history.db").string(),
                                   dir / "killed.log");
  ASSERT_GT(host.pid(), 0);
  const int done = waitForTiles(out / "scan.json", 2);
  const std::vector<pid_t> sims = childrenOf(host.pid());
  ::kill(host.pid(), SIGKILL);
  for (pid_t s : sims) ::kill(s, SIGKILL);
  const int status = host.wait();
  ASSERT_TRUE(WIFSIGNALED(status)) << "the scan ended before it was killed";
  ASSERT_GE(done, 2);
  const int done_at_kill = tilesDone(out / "scan.json");
  const json at_kill = readJsonFile(out / "scan.json");
  ASSERT_LT(done_at_kill, 6) << "killed too late to test a resume";
  EXPECT_FALSE(fs::exists(out / "report.json"));  // it really died mid-scan

  const auto r = polscan::testing::runCli(POLSCAN_EXE, "scan --resume " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  EXPECT_NE(r.output.find(std::to_string(done_at_kill) + " tiles already done"), std::string::npos)
      << r.output;

  // Every tile exactly once, and the finished ones were not acquired again.
  const json cp = readJsonFile(out / "scan.json");
  std::vector<int> indices;
  for (const auto& t : cp["tiles"]) indices.push_back(t["index"]);
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_TRUE(cp["complete"].get<bool>());
  EXPECT_NE(r.output.find("tiles 6/6"), std::string::npos) << r.output;
  // This run acquired only the tiles that were missing (its progress counts them).
  const std::string left = std::to_string(6 - done_at_kill);
  EXPECT_NE(r.output.find("scan  " + left + "/" + left + " "), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("scan  1/6 "), std::string::npos) << r.output;

  // The tiles finished before the kill were kept as they were (not acquired or analysed again).
  for (const auto& before : at_kill["tiles"]) {
    const auto after = std::find_if(cp["tiles"].begin(), cp["tiles"].end(),
                                    [&](const json& t) { return t["index"] == before["index"]; });
    ASSERT_NE(after, cp["tiles"].end());
    EXPECT_EQ(*after, before) << "tile " << before["index"] << " changed on resume";
  }

  // The same crystals as the uninterrupted scan, each once. The tiles taken again after the kill
  // are new exposures (other camera noise, other polarizer phase), so a crystal at a class
  // boundary may be named differently or a faint one found in one run only: the positions must
  // agree to a fraction of a pixel for nearly all, and no class may gain or lose more than 2. A
  // tile counted twice (or lost) changes the counts by a whole tile's crystals (~15).
  const json report = readJsonFile(out / "report.json");
  const auto want = crystalsOf(ref_report);
  const auto got = crystalsOf(report);
  ASSERT_NEAR(static_cast<double>(got.size()), static_cast<double>(want.size()),
              0.03 * static_cast<double>(want.size()))
      << report["counts"].dump() << " vs " << ref_report["counts"].dump();
  std::size_t found = 0, same_class = 0;
  for (const Crystal& w : want) {
    const auto g = std::find_if(got.begin(), got.end(), [&](const Crystal& c) {
      return std::hypot(c.x - w.x, c.y - w.y) < 1.0;
    });
    if (g == got.end()) continue;
    ++found;
    if (g->cls == w.cls) ++same_class;
  }
  EXPECT_GE(static_cast<double>(found), 0.97 * static_cast<double>(want.size()));
  EXPECT_GE(static_cast<double>(same_class), 0.95 * static_cast<double>(want.size()));
  for (const auto& [cls, n] : ref_report["counts"].items()) {
    EXPECT_NEAR(report["counts"][cls].get<int>(), n.get<int>(), 2) << cls;
  }
  EXPECT_DOUBLE_EQ(report["scan"]["volume_ul"].get<double>(),
                   ref_report["scan"]["volume_ul"].get<double>());
  EXPECT_GT(report["concentration_per_ul"]["CPPD"].get<double>(), 0.0);
  // The tiles' stack channels survive the checkpoint: mono stacks throughout, and on synovial
  // fluid no mono caution (only the apatite statement).
  EXPECT_EQ(report["stack_channels"], 1) << report.dump(1).substr(0, 400);
  EXPECT_EQ(report["notes"].size(), 1u) << report["notes"].dump();

  // The sample given before the kill (kept in sample.json) is in the report, the CSV (one row
  // per crystal), the HTML and, once, in the history; the mosaic is also an OME-TIFF at its scale.
  EXPECT_EQ(report.value("sample_id", ""), "SR-1");
  EXPECT_EQ(report.value("operator", ""), "kim");
  const std::string csv = readTextFile(out / "crystals.csv");
  EXPECT_EQ(static_cast<std::size_t>(std::count(csv.begin(), csv.end(), '\n')),
            report["crystals"].size() + 1);
  EXPECT_NE(readTextFile(out / "report.html").find("SR-1"), std::string::npos);
  const std::vector<polscan::SampleRecord> rows = polscan::SampleHistory(dir / "history.db").find();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].sample_id, "SR-1");
  EXPECT_EQ(rows[0].counts.at("CPPD"), report["counts"]["CPPD"].get<int>());
  const polscan::MosaicImage mosaic = polscan::readOmeTiffMosaic(out / "mosaic.ome.tif");
  const cv::Mat png = cv::imread((out / "mosaic.png").string());
  EXPECT_EQ(mosaic.image.size(), png.size());
  const polscan::ScanPlan plan = polscan::planScan(
      polscan::checkpointFromJson(cp).request, polscan::StageTravel{{-1e12, 1e12}, {-1e12, 1e12}});
  EXPECT_DOUBLE_EQ(mosaic.pixel_um, polscan::mosaicScaleUm(plan));
  EXPECT_NE(r.output.find("Sample history: row"), std::string::npos) << r.output;
  // The folder holds exactly what `scan --out`'s help lists (ScanOptions checks that the help is
  // made from this list): nothing written goes unnamed, nothing named is missing.
  const std::vector<polscan::ScanFolderEntry>& listed = polscan::scanFolderEntries();
  for (const auto& entry : fs::directory_iterator(out)) {
    const std::string name = entry.path().filename().string() + (entry.is_directory() ? "/" : "");
    EXPECT_TRUE(std::any_of(listed.begin(), listed.end(),
                            [&](const polscan::ScanFolderEntry& e) { return e.name == name; }))
        << name << " is written but not in scanFolderEntries()";
  }
  for (const polscan::ScanFolderEntry& e : listed) {
    EXPECT_EQ(fs::exists(out / e.name), !e.save_stacks_only) << e.name;
  }
  // The reference scan had no sample id: nothing of it went into any history.
  EXPECT_EQ(readJsonFile(ref / "report.json").count("sample_id"), 0u);
  fs::remove_all(dir);
}

TEST(ScanResume, CtrlCStopsAfterTheCurrentTileWithEverythingSaved) {
  const fs::path dir = freshTempDir("scan_sigint");
  const fs::path slide = makeSlideFile(dir);
  const fs::path out = dir / "stopped";
  ChildProcess host = spawnPolscan(scanArgs(slide, out), dir / "stopped.log");
  ASSERT_GT(host.pid(), 0);
  ASSERT_GE(waitForTiles(out / "scan.json", 1), 1);
  const std::vector<pid_t> sims = childrenOf(host.pid());
  ASSERT_FALSE(sims.empty());
  const int status = host.stop(SIGINT);
  const std::string log = readTextFile(dir / "stopped.log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  EXPECT_EQ(WEXITSTATUS(status), 0) << log;
  EXPECT_NE(log.find("Stopped by Ctrl-C"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume " + out.string()), std::string::npos) << log;
  // The report and mosaic hold what was scanned; the checkpoint agrees with the report.
  const json report = readJsonFile(out / "report.json");
  const json cp = readJsonFile(out / "scan.json");
  EXPECT_FALSE(report["scan"]["complete"].get<bool>());
  const int done = report["scan"]["tiles_done"];
  EXPECT_GE(done, 1);
  EXPECT_LT(done, 6);
  EXPECT_EQ(static_cast<int>(cp["tiles"].size()), done);
  EXPECT_EQ(report["fields"].get<int>(), done);
  EXPECT_TRUE(fs::exists(out / "mosaic.png"));
  // The simulator did not see the Ctrl-C (its own process group) and polscan shut it down on
  // the way out: nothing is left behind.
  for (pid_t sim : sims) EXPECT_NE(::kill(sim, 0), 0) << "simulator " << sim << " still runs";
  fs::remove_all(dir);
}

namespace {
// A free TCP port on the loopback (bound and released; the simulator binds it with SO_REUSEADDR).
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a));
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}
}  // namespace

TEST(ScanResume, ALostLinkMidScanIsReconnectedAndTheTileRetried) {
  const fs::path dir = freshTempDir("scan_relink");
  const fs::path slide = makeSlideFile(dir);
  const fs::path out = dir / "scan";
  const std::string port = std::to_string(freePort());
  auto sim = std::make_unique<polscan::FwsimProcess>(std::vector<std::string>{"--port", port});
  ChildProcess host = spawnPolscan("--device tcp:127.0.0.1:" + port + " scan --slide " +
                                       slide.string() + " --out " + out.string() +
                                       " --x-mm 0.05 --y-mm 0.05 --width-mm 0.9 --height-mm 0.25"
                                       " --no-autofocus --focus-z-um 1",
                                   dir / "scan.log");
  ASSERT_GT(host.pid(), 0);
  ASSERT_GE(waitForTiles(out / "scan.json", 1), 1) << readTextFile(dir / "scan.log");
  // Pull the cable: the instrument goes away mid-scan and comes back (restarted, not homed).
  sim->kill();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  sim = std::make_unique<polscan::FwsimProcess>(std::vector<std::string>{"--port", port});
  const int status = host.wait();
  const std::string log = readTextFile(dir / "scan.log");
  ASSERT_TRUE(WIFEXITED(status)) << log;
  ASSERT_EQ(WEXITSTATUS(status), 0) << log;
  EXPECT_NE(log.find("link lost"), std::string::npos) << log;
  EXPECT_EQ(log.find("link recoveries 0"), std::string::npos) << log;
  const json cp = readJsonFile(out / "scan.json");
  std::vector<int> indices;
  for (const auto& t : cp["tiles"]) indices.push_back(t["index"]);
  std::sort(indices.begin(), indices.end());
  EXPECT_EQ(indices, (std::vector<int>{0, 1, 2}));
  EXPECT_TRUE(cp["complete"].get<bool>());
  if (::testing::Test::HasFailure()) return;  // keep the folder to look at
  fs::remove_all(dir);
}

TEST(ScanResume, ARegionBeyondTheStageIsRefusedNamingTheAxis) {
  const fs::path dir = freshTempDir("scan_travel");
  const auto r = polscan::testing::runCli(
      POLSCAN_EXE, "scan --out " + (dir / "s").string() + " --x-mm 74.8 --width-mm 1");
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("leaves the X stage's travel"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("0.0..75000.0 um"), std::string::npos) << r.output;
  EXPECT_FALSE(fs::exists(dir / "s" / "scan.json"));
  fs::remove_all(dir);
}

TEST(ScanResume, FocusMapFollowsATiltedSlide) {
  const fs::path dir = freshTempDir("scan_tilt");
  polscan::twin::SlideRecipe r;
  r.width_mm = 2.4;
  r.height_mm = 2.0;
  r.per_mm2 = {{polscan::CrystalClass::CPPD, 60}, {polscan::CrystalClass::CaOxDihydrate, 20}};
  r.debris_per_mm2 = 60;  // what the focus metric sees in one frame: absorbing debris, cells
  r.cells_per_mm2 = 100;
  polscan::twin::Slide slide = polscan::twin::makeSlide(r, 99);
  // Not level: best focus rises 12 um per mm along x and falls 8 um per mm along y.
  auto plane = [](double x, double y) { return 20.0 + 0.012 * x - 0.008 * y; };
  for (auto& o : slide.objects) o.z_um = plane(o.x_um, o.y_um);
  polscan::twin::saveSlide(slide, dir / "slide.json");
  const fs::path out = dir / "scan";
  const auto res = polscan::testing::runCli(
      POLSCAN_EXE, "scan --slide " + (dir / "slide.json").string() + " --out " + out.string() +
                       " --x-mm 0.05 --y-mm 0.05 --width-mm 0.7 --height-mm 0.5 --focus-z-um 20");
  ASSERT_EQ(res.status, 0) << res.output;
  const json report = readJsonFile(out / "report.json");
  ASSERT_GE(report["scan"]["focus_points_um"].size(), 3u) << res.output;
  // Every tile was taken at the focus the map predicts, close to the slide's plane (without the
  // map they would all sit at 20 um, up to 7 um off).
  const double fw = report["scan"]["field_um"][0], fh = report["scan"]["field_um"][1];
  const double px = report["scan"]["pitch_um"][0], py = report["scan"]["pitch_um"][1];
  const double x0 = 400.0 - 0.5 * (fw + px) + 0.5 * fw;  // 2 x 2 fields centred on the region
  const double y0 = 300.0 - 0.5 * (fh + py) + 0.5 * fh;
  const json cp = readJsonFile(out / "scan.json");
  ASSERT_EQ(cp["tiles"].size(), 4u);
  for (const auto& t : cp["tiles"]) {
    const int i = t["index"], row = i / 2, k = i % 2, col = row % 2 == 0 ? k : 1 - k;
    const double want = plane(x0 + col * px, y0 + row * py);
    EXPECT_NEAR(t["z_um"].get<double>(), want, 2.0) << "tile " << i;
  }
  fs::remove_all(dir);
}
