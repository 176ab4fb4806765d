// `polscan history`: list, search and export the samples recorded by analyze / demo.
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <regex>

#include "app/commands.hpp"
#include "common/crystal_class.hpp"
#include "history/sample_history.hpp"
#include "io/report_csv.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {
struct HistoryOptions {
  std::string db;
  std::string search;
  std::string since;
  std::string export_csv;
};

void printRows(const std::vector<SampleRecord>& rows, std::ostream& out) {
  out << std::left << std::setw(16) << "sample id" << std::setw(16) << "type" << std::setw(22)
      << "date (UTC)" << std::setw(14) << "operator" << std::right << std::setw(7) << "fields"
      << "  counts\n";
  for (const SampleRecord& r : rows) {
    out << std::left << std::setw(16) << r.sample_id << std::setw(16) << r.sample_type
        << std::setw(22) << r.date << std::setw(14) << r.operator_name << std::right << std::setw(7)
        << r.fields << " ";
    for (CrystalClass c : kAllCrystalClasses) {
      const auto it = r.counts.find(std::string(crystalClassName(c)));
      if (it != r.counts.end() && it->second > 0) out << " " << it->first << " " << it->second;
    }
    out << "\n";
    if (!r.html_path.empty()) out << "    " << r.html_path << "\n";
  }
  out << rows.size() << " sample" << (rows.size() == 1 ? "" : "s") << "\n";
}
}  // namespace

void addHistoryCommand(CLI::App& app, GlobalOptions&) {
  auto opt = std::make_shared<HistoryOptions>();
  auto* cmd = app.add_subcommand(
      "history",
      "List and search the sample history: every `polscan analyze` / `polscan demo` run given a "
      "--sample-id (sample id, type, date, operator, counts per class, report paths)");
  cmd->add_option("--history-db", opt->db,
                  "Sample history database (SQLite; default " + defaultHistoryDb().string() + ")");
  cmd->add_option("--search", opt->search,
                  "Only samples whose id, type, operator, name or paths contain TEXT "
                  "(case-insensitive)");
  cmd->add_option("--since", opt->since, "Only samples analysed on or after DATE (YYYY-MM-DD, UTC)")
      ->check([](const std::string& s) {
        static const std::regex date(R"(\d{4}-\d{2}-\d{2}(T[0-9:]+Z?)?)");
        return std::regex_match(s, date) ? std::string()
                                         : "expected a date YYYY-MM-DD, got \"" + s + "\"";
      });
  cmd->add_option("--export-csv", opt->export_csv,
                  "Write the listed samples to this CSV file (one row per sample, one column "
                  "per crystal class)");
  cmd->callback([opt] {
    const fs::path db = opt->db.empty() ? defaultHistoryDb() : fs::path(opt->db);
    if (!fs::exists(db)) {
      throw HistoryError("sample history " + db.string() +
                         ": no such file (record a sample with `polscan analyze DIR "
                         "--sample-id ID`, or give --history-db)");
    }
    const SampleHistory history(db);
    const auto rows = history.find({opt->search, opt->since});
    printRows(rows, std::cout);
    if (!opt->export_csv.empty()) {
      writeTextFile(historyCsv(rows), opt->export_csv, "history export");
      std::cout << "Exported " << rows.size() << " samples to " << opt->export_csv << "\n";
    }
  });
}

}  // namespace polscan
