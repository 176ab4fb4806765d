// The polscan executable as a user runs it: demo report contents, clear errors on bad input.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/support/cli_runner.hpp"

namespace fs = std::filesystem;

namespace {
using polscan::testing::CliResult;

CliResult runPolscan(const std::string& args) {
  return polscan::testing::runCli(POLSCAN_EXE, args);
}

fs::path tempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_cli_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  return d;
}
}  // namespace

TEST(Cli, DemoWritesAReportWithCppdAndCalciumOxalate) {
  const fs::path out = tempDir("demo");
  const CliResult r = runPolscan("demo --out " + out.string());
  ASSERT_EQ(r.status, 0) << r.output;
  std::ifstream in(out / "report.json");
  ASSERT_TRUE(in.good()) << r.output;
  const auto report = nlohmann::json::parse(in);
  EXPECT_EQ(report["fields"], 4);
  EXPECT_GE(report["counts"]["CPPD"].get<int>(), 1) << report.dump(1);
  EXPECT_GE(report["counts"]["CaOx-dihydrate"].get<int>() +
                report["counts"]["CaOx-monohydrate"].get<int>(),
            1)
      << report.dump(1);
  // The table printed on stdout carries units, and every field's stack was kept.
  EXPECT_NE(r.output.find("R [nm]"), std::string::npos);
  EXPECT_TRUE(fs::exists(out / "field_03" / "stack.json"));
  EXPECT_TRUE(fs::exists(out / "truth.json"));

  // `analyze` re-reads the saved stacks and finds the same crystals.
  const fs::path again = out / "again";
  const CliResult a = runPolscan("analyze " + out.string() + " --out " + again.string());
  ASSERT_EQ(a.status, 0) << a.output;
  std::ifstream in2(again / "report.json");
  const auto report2 = nlohmann::json::parse(in2);
  EXPECT_EQ(report2["counts"], report["counts"]);
  fs::remove_all(out);
}

TEST(Cli, AnalyzeOfAMissingFolderSaysSo) {
  const CliResult r = runPolscan("analyze /no/such/stack");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("/no/such/stack: no such folder"), std::string::npos) << r.output;
}

TEST(Cli, AcquireIntoAnUncreatableFolderIsAClearError) {
  const fs::path file = tempDir("notadir");
  std::ofstream(file) << "x";
  const CliResult r = runPolscan("acquire --angles 4 --out " + (file / "stack").string());
  EXPECT_EQ(r.status, 1) << r.output;
  EXPECT_NE(r.output.find("cannot create " + (file / "stack").string()), std::string::npos)
      << r.output;
  fs::remove(file);
}

TEST(Cli, HelpExplainsEverySubcommand) {
  for (const char* sub :
       {"device info", "device home", "acquire", "analyze", "demo", "slide make", "serve"}) {
    const CliResult r = runPolscan(std::string(sub) + " --help");
    EXPECT_EQ(r.status, 0) << sub;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << sub << ": " << r.output;
  }
  const CliResult bad = runPolscan("acquire --angles 2 --out x");
  EXPECT_NE(bad.status, 0);
  EXPECT_NE(bad.output.find("--angles"), std::string::npos) << bad.output;
}

TEST(Cli, ServeRefusesANonLoopbackAddressWithoutAToken) {
  const CliResult r = runPolscan("serve --bind 0.0.0.0 --port 0");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.output.find("--token"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find("web UI on"), std::string::npos) << "it must not serve: " << r.output;
}
