// The sample history in a real SQLite file: insert, search, date filter, CSV export, and clear
// errors for damaged or foreign files.
#include <gtest/gtest.h>

#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "history/sample_history.hpp"

using namespace polscan;
namespace fs = std::filesystem;

namespace {

fs::path tempDb(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_history_" + std::to_string(::getpid())) / name;
  fs::create_directories(d.parent_path());
  fs::remove(d);
  return d;
}

SampleRecord record(const std::string& id, const std::string& type, const std::string& date,
                    const std::string& op, int cppd, int msu) {
  SampleRecord r;
  r.sample_id = id;
  r.sample_type = type;
  r.date = date;
  r.operator_name = op;
  r.sample_name = "name of " + id;
  r.fields = 4;
  r.scanned_area_mm2 = 0.43;
  r.counts = {{"CPPD", cppd}, {"MSU", msu}};
  r.report_path = "/data/" + id + "/report.json";
  r.html_path = "/data/" + id + "/report.html";
  r.data_path = "/data/" + id;
  return r;
}

std::string errorOpening(const fs::path& f) {
  try {
    SampleHistory h(f);
    h.find();
  } catch (const HistoryError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(SampleHistory, InsertFindSearchAndSince) {
  const fs::path db = tempDb("a.sqlite");
  {
    SampleHistory h(db);
    EXPECT_EQ(h.add(record("SF-1", "synovial-fluid", "2026-11-20T10:00:00Z", "Alice", 3, 0)), 1);
    EXPECT_EQ(h.add(record("U-2", "urine", "2026-11-25T09:00:00Z", "Bob", 0, 0)), 2);
    h.add(record("SF-3", "synovial-fluid", "2026-11-27T08:00:00Z", "alice", 0, 5));
  }
  const SampleHistory h(db);  // reopened: rows persisted
  auto all = h.find();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].sample_id, "SF-1");
  EXPECT_EQ(all[0].counts.at("CPPD"), 3);
  EXPECT_EQ(all[2].counts.at("MSU"), 5);
  EXPECT_EQ(all[1].sample_type, "urine");
  EXPECT_DOUBLE_EQ(all[1].scanned_area_mm2, 0.43);
  EXPECT_EQ(all[1].html_path, "/data/U-2/report.html");

  auto alice = h.find({"ALICE", ""});  // case-insensitive, operator
  ASSERT_EQ(alice.size(), 2u);
  EXPECT_EQ(alice[1].sample_id, "SF-3");
  EXPECT_EQ(h.find({"urine", ""}).size(), 1u);
  EXPECT_EQ(h.find({"/data/SF-3", ""}).size(), 1u);  // paths too
  EXPECT_EQ(h.find({"nobody", ""}).size(), 0u);
  auto recent = h.find({"", "2026-11-25"});
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(recent[0].sample_id, "U-2");
  EXPECT_EQ(h.find({"sf", "2026-11-26"}).size(), 1u);
  fs::remove(db);
}

TEST(SampleHistory, CsvExportHasOneColumnPerClassAndQuotes) {
  auto r = record("SF-9", "synovial-fluid", "2026-11-27T08:00:00Z", "Doe, Jane \"JD\"", 2, 1);
  const std::string csv = historyCsv({r});
  const std::string header = csv.substr(0, csv.find('\n'));
  EXPECT_EQ(header,
            "sample_id,sample_type,date (UTC),operator,sample_name,fields,scanned area (mm2),CPPD,"
            "MSU,CaOx-monohydrate,CaOx-dihydrate,uric-acid,cholesterol,non-birefringent,artefact,"
            "unknown,report,html report,data");
  EXPECT_NE(csv.find("SF-9,synovial-fluid,2026-11-27T08:00:00Z,\"Doe, Jane \"\"JD\"\"\",name of "
                     "SF-9,4,0.4300,2,1,0,0,0,0,0,0,0,/data/SF-9/report.json"),
            std::string::npos)
      << csv;
}

TEST(SampleHistory, ASampleIdIsRequired) {
  const fs::path db = tempDb("b.sqlite");
  SampleHistory h(db);
  SampleRecord r;
  EXPECT_THROW(h.add(r), HistoryError);
  EXPECT_TRUE(h.find().empty());
  fs::remove(db);
}

TEST(SampleHistory, DamagedOrForeignFilesGiveErrorsNamingTheFile) {
  const fs::path db = tempDb("corrupt.sqlite");
  std::ofstream(db) << std::string(8192, 'x');
  std::string e = errorOpening(db);
  EXPECT_NE(e.find("sample history " + db.string()), std::string::npos) << e;
  EXPECT_NE(e.find("not a database"), std::string::npos) << e;
  EXPECT_EQ(fs::file_size(db), 8192u);  // left as it was

  // A real SQLite database written by a newer polscan.
  const fs::path newer = tempDb("newer.sqlite");
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(newer.c_str(), &raw), SQLITE_OK);
  sqlite3_exec(raw, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
  sqlite3_close(raw);
  e = errorOpening(newer);
  EXPECT_NE(e.find(newer.string()), std::string::npos) << e;
  EXPECT_NE(e.find("schema version 99"), std::string::npos) << e;

  // A valid database whose header page was overwritten mid-file.
  const fs::path damaged = tempDb("damaged.sqlite");
  {
    SampleHistory h(damaged);
    for (int i = 0; i < 50; ++i) h.add(record("S" + std::to_string(i), "urine", "2026", "x", i, 0));
  }
  {
    std::fstream f(damaged, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(0);
    f << std::string(100, '\xff');  // the 100-byte database header
  }
  e = errorOpening(damaged);
  EXPECT_NE(e.find(damaged.string()), std::string::npos) << e;
  fs::remove(db);
  fs::remove(newer);
  fs::remove(damaged);
}

TEST(SampleHistory, DefaultLocationFollowsXdgDataHome) {
  const char* old = std::getenv("XDG_DATA_HOME");
  const std::string saved = old != nullptr ? old : "";
  const char* old_home = std::getenv("HOME");
  const std::string saved_home = old_home != nullptr ? old_home : "";
  ::setenv("XDG_DATA_HOME", "/srv/lab-data", 1);
  EXPECT_EQ(defaultHistoryDb(), fs::path("/srv/lab-data/polscan/history.sqlite"));
  ::unsetenv("XDG_DATA_HOME");
  ::setenv("HOME", "/home/tech", 1);
  EXPECT_EQ(defaultHistoryDb(), fs::path("/home/tech/.local/share/polscan/history.sqlite"));
  if (old != nullptr) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  if (old_home != nullptr) ::setenv("HOME", saved_home.c_str(), 1);
}
