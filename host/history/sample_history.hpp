// The lab's sample history: one row per analysed sample in an embedded SQLite database.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace polscan {

// The database could not be opened, read or written; the message names the file and the cause.
class HistoryError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct SampleRecord {
  std::int64_t row = 0;     // assigned by the database
  std::string sample_id;    // the lab's identifier
  std::string sample_type;  // "synovial-fluid" / "urine" / empty
  std::string date;         // ISO 8601 UTC ("2026-11-27T08:15:00Z")
  std::string operator_name;
  std::string sample_name;  // report's sample name
  int fields = 0;
  double scanned_area_mm2 = 0.0;
  std::map<std::string, int> counts;  // class name -> count
  std::string report_path;            // report.json
  std::string html_path;              // report.html (may be empty)
  std::string data_path;              // stacks analysed (folder or file)
};

struct HistoryQuery {
  std::string search;  // substring of sample id, type, operator, sample name or paths
  std::string since;   // ISO date or date-time; rows on or after it
};

class SampleHistory {
 public:
  // Opens (creating if needed, with its folder) the database. Throws HistoryError naming the file
  // when it is not an SQLite database, is damaged, or holds an unknown schema version.
  explicit SampleHistory(std::filesystem::path file);
  ~SampleHistory();
  SampleHistory(const SampleHistory&) = delete;
  SampleHistory& operator=(const SampleHistory&) = delete;

  std::int64_t add(const SampleRecord& record);
  // Matching rows, oldest first.
  std::vector<SampleRecord> find(const HistoryQuery& query = {}) const;

  const std::filesystem::path& file() const { return file_; }

 private:
  [[noreturn]] void fail(const std::string& what) const;
  void exec(const char* sql) const;

  std::filesystem::path file_;
  sqlite3* db_ = nullptr;
};

// CSV of the rows: one column per crystal class (counts), then dates, paths. RFC 4180 quoting.
std::string historyCsv(const std::vector<SampleRecord>& rows);

// $XDG_DATA_HOME/polscan/history.sqlite, or ~/.local/share/polscan/history.sqlite.
std::filesystem::path defaultHistoryDb();

}  // namespace polscan
