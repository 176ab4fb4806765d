// The polscan executable as a user runs it: demo report contents, clear errors on bad input.
#include <gtest/gtest.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

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

namespace {
// The option lines of a help text that explain nothing. CLI11 writes an option as "  NAME" padded
// to 30 columns, then its explanation; a NAME of 28 characters or more gets the explanation on
// the next line, from the same column. Each subcommand's block is indented by 2 more.
std::vector<std::string> unexplainedOptions(const std::string& help) {
  std::vector<std::string> lines;
  std::istringstream in(help);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  std::vector<std::string> bare;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& l = lines[i];
    const std::size_t indent = l.find_first_not_of(' ');
    if (indent == std::string::npos || l[indent] != '-') continue;
    const std::size_t column = indent + 28;  // where the explanation starts
    const bool same_line = l.size() > column && l[column - 1] == ' ' && l[column] != ' ';
    const bool next_line = i + 1 < lines.size() && lines[i + 1].find_first_not_of(' ') == column &&
                           lines[i + 1][column] != '-';
    if (!same_line && !next_line) bare.push_back(l);
  }
  return bare;
}
}  // namespace

// One `--help-all` per level (4 starts of polscan, not one per subcommand): every subcommand is
// there with its description and every option with its explanation.
TEST(Cli, HelpExplainsEverySubcommand) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> levels = {
      {"",
       {"device", "acquire", "analyze", "demo", "slide", "eval", "scan", "camera", "calibrate",
        "history", "serve"}},
      {"device ", {"list", "info", "home"}},
      {"slide ", {"make"}},
      {"camera ", {"list", "snap"}}};
  for (const auto& [level, subcommands] : levels) {
    const CliResult r = runPolscan(level + "--help-all");
    EXPECT_EQ(r.status, 0) << level;
    EXPECT_NE(r.output.find("Usage"), std::string::npos) << level << ": " << r.output;
    for (const std::string& sub : subcommands) {
      // A section: the name on a line of its own, then its description, indented.
      const std::size_t at = r.output.find("\n" + sub + "\n  ");
      ASSERT_NE(at, std::string::npos) << level << sub << " missing: " << r.output;
      const std::size_t text = at + sub.size() + 4;
      EXPECT_TRUE(text < r.output.size() &&
                  std::isalpha(static_cast<unsigned char>(r.output[text])))
          << level << sub << " has no description: " << r.output.substr(at, 200);
    }
    EXPECT_EQ(unexplainedOptions(r.output), std::vector<std::string>{}) << level;
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
