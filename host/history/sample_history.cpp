// Sample history on SQLite: prepared statements only, counts in a child table.
#include "history/sample_history.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <memory>

#include "common/crystal_class.hpp"

namespace polscan {

namespace fs = std::filesystem;

namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS samples (
  row INTEGER PRIMARY KEY,
  sample_id TEXT NOT NULL,
  sample_type TEXT NOT NULL DEFAULT '',
  date TEXT NOT NULL,
  operator TEXT NOT NULL DEFAULT '',
  sample_name TEXT NOT NULL DEFAULT '',
  fields INTEGER NOT NULL DEFAULT 0,
  scanned_area_mm2 REAL NOT NULL DEFAULT 0,
  report_path TEXT NOT NULL DEFAULT '',
  html_path TEXT NOT NULL DEFAULT '',
  data_path TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS sample_counts (
  sample_row INTEGER NOT NULL REFERENCES samples(row) ON DELETE CASCADE,
  class TEXT NOT NULL,
  count INTEGER NOT NULL,
  PRIMARY KEY (sample_row, class)
);
CREATE INDEX IF NOT EXISTS samples_date ON samples(date);
)sql";

using Statement = std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)>;

std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t != nullptr ? reinterpret_cast<const char*>(t) : "";
}

}  // namespace

SampleHistory::SampleHistory(fs::path file) : file_(std::move(file)) {
  std::error_code ec;
  if (file_.has_parent_path()) fs::create_directories(file_.parent_path(), ec);
  if (ec) {
    throw HistoryError("sample history " + file_.string() +
                       ": cannot create its folder: " + ec.message());
  }
  if (sqlite3_open_v2(file_.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    const std::string why = db_ != nullptr ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    throw HistoryError("sample history " + file_.string() + ": cannot open: " + why);
  }
  sqlite3_busy_timeout(db_, 5000);  // another polscan writing at the same moment waits
  try {
    // The first read of the schema is where a file that is not a database is found out.
    int version = 0;
    {
      sqlite3_stmt* raw = nullptr;
      if (sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &raw, nullptr) != SQLITE_OK) {
        fail("cannot read the schema");
      }
      Statement st(raw, sqlite3_finalize);
      if (sqlite3_step(st.get()) != SQLITE_ROW) fail("cannot read the schema");
      version = sqlite3_column_int(st.get(), 0);
    }
    if (version > kSchemaVersion) {
      throw HistoryError("sample history " + file_.string() + ": schema version " +
                         std::to_string(version) + " is newer than this polscan understands (" +
                         std::to_string(kSchemaVersion) + ")");
    }
    exec("PRAGMA foreign_keys = ON");
    exec(kSchema);
    exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

SampleHistory::~SampleHistory() {
  sqlite3_close(db_);
}

void SampleHistory::fail(const std::string& what) const {
  const int code = sqlite3_extended_errcode(db_);
  std::string why = sqlite3_errmsg(db_);
  if ((code & 0xff) == SQLITE_NOTADB || (code & 0xff) == SQLITE_CORRUPT) {
    why += " (the file is damaged or not a polscan history; move it aside to start a new one)";
  }
  throw HistoryError("sample history " + file_.string() + ": " + what + ": " + why);
}

void SampleHistory::exec(const char* sql) const {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    sqlite3_free(err);
    fail("cannot update the schema");
  }
}

std::int64_t SampleHistory::add(const SampleRecord& r) {
  if (r.sample_id.empty()) {
    throw HistoryError("sample history " + file_.string() + ": a sample id is required");
  }
  exec("BEGIN IMMEDIATE");
  try {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO samples (sample_id, sample_type, date, operator, "
                           "sample_name, fields, scanned_area_mm2, report_path, html_path, "
                           "data_path) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                           -1, &raw, nullptr) != SQLITE_OK) {
      fail("cannot record sample " + r.sample_id);
    }
    Statement st(raw, sqlite3_finalize);
    int i = 1;
    for (const std::string* s :
         {&r.sample_id, &r.sample_type, &r.date, &r.operator_name, &r.sample_name}) {
      sqlite3_bind_text(st.get(), i++, s->c_str(), -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(st.get(), i++, r.fields);
    sqlite3_bind_double(st.get(), i++, r.scanned_area_mm2);
    for (const std::string* s : {&r.report_path, &r.html_path, &r.data_path}) {
      sqlite3_bind_text(st.get(), i++, s->c_str(), -1, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st.get()) != SQLITE_DONE) fail("cannot record sample " + r.sample_id);
    const std::int64_t row = sqlite3_last_insert_rowid(db_);

    raw = nullptr;
    if (sqlite3_prepare_v2(
            db_, "INSERT INTO sample_counts (sample_row, class, count) VALUES (?1, ?2, ?3)", -1,
            &raw, nullptr) != SQLITE_OK) {
      fail("cannot record the counts of sample " + r.sample_id);
    }
    Statement counts(raw, sqlite3_finalize);
    for (const auto& [cls, n] : r.counts) {
      sqlite3_reset(counts.get());
      sqlite3_bind_int64(counts.get(), 1, row);
      sqlite3_bind_text(counts.get(), 2, cls.c_str(), -1, SQLITE_TRANSIENT);
      sqlite3_bind_int(counts.get(), 3, n);
      if (sqlite3_step(counts.get()) != SQLITE_DONE) {
        fail("cannot record the counts of sample " + r.sample_id);
      }
    }
    exec("COMMIT");
    return row;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

std::vector<SampleRecord> SampleHistory::find(const HistoryQuery& q) const {
  std::string sql =
      "SELECT row, sample_id, sample_type, date, operator, sample_name, fields, scanned_area_mm2, "
      "report_path, html_path, data_path FROM samples WHERE date >= ?1";
  if (!q.search.empty()) {
    sql +=
        " AND (instr(lower(sample_id), lower(?2)) OR instr(lower(sample_type), lower(?2)) OR "
        "instr(lower(operator), lower(?2)) OR instr(lower(sample_name), lower(?2)) OR "
        "instr(lower(report_path), lower(?2)) OR instr(lower(data_path), lower(?2)))";
  }
  sql += " ORDER BY date, row";
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
    fail("cannot search");
  }
  Statement st(raw, sqlite3_finalize);
  sqlite3_bind_text(st.get(), 1, q.since.c_str(), -1, SQLITE_TRANSIENT);
  if (!q.search.empty()) sqlite3_bind_text(st.get(), 2, q.search.c_str(), -1, SQLITE_TRANSIENT);
  std::vector<SampleRecord> rows;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    SampleRecord r;
    r.row = sqlite3_column_int64(st.get(), 0);
    r.sample_id = text(st.get(), 1);
    r.sample_type = text(st.get(), 2);
    r.date = text(st.get(), 3);
    r.operator_name = text(st.get(), 4);
    r.sample_name = text(st.get(), 5);
    r.fields = sqlite3_column_int(st.get(), 6);
    r.scanned_area_mm2 = sqlite3_column_double(st.get(), 7);
    r.report_path = text(st.get(), 8);
    r.html_path = text(st.get(), 9);
    r.data_path = text(st.get(), 10);
    rows.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) fail("cannot search");

  raw = nullptr;
  if (sqlite3_prepare_v2(db_, "SELECT class, count FROM sample_counts WHERE sample_row = ?1", -1,
                         &raw, nullptr) != SQLITE_OK) {
    fail("cannot read counts");
  }
  Statement counts(raw, sqlite3_finalize);
  for (SampleRecord& r : rows) {
    sqlite3_reset(counts.get());
    sqlite3_bind_int64(counts.get(), 1, r.row);
    while ((rc = sqlite3_step(counts.get())) == SQLITE_ROW) {
      r.counts[text(counts.get(), 0)] = sqlite3_column_int(counts.get(), 1);
    }
    if (rc != SQLITE_DONE) fail("cannot read counts");
  }
  return rows;
}

std::string historyCsv(const std::vector<SampleRecord>& rows) {
  std::string out =
      "sample_id,sample_type,date (UTC),operator,sample_name,fields,scanned area (mm2)";
  for (CrystalClass c : kAllCrystalClasses) out += "," + std::string(crystalClassName(c));
  out += ",report,html report,data\n";
  for (const SampleRecord& r : rows) {
    char area[32];
    std::snprintf(area, sizeof(area), "%.4f", r.scanned_area_mm2);
    out += csvField(r.sample_id) + "," + csvField(r.sample_type) + "," + csvField(r.date) + "," +
           csvField(r.operator_name) + "," + csvField(r.sample_name) + "," +
           std::to_string(r.fields) + "," + area;
    for (CrystalClass c : kAllCrystalClasses) {
      const auto it = r.counts.find(std::string(crystalClassName(c)));
      out += "," + std::to_string(it != r.counts.end() ? it->second : 0);
    }
    out += "," + csvField(r.report_path) + "," + csvField(r.html_path) + "," +
           csvField(r.data_path) + "\n";
  }
  return out;
}

fs::path defaultHistoryDb() {
  if (const char* xdg = std::getenv("XDG_DATA_HOME"); xdg != nullptr && *xdg != '\0') {
    return fs::path(xdg) / "polscan" / "history.sqlite";
  }
  if (const char* home = std::getenv("HOME"); home != nullptr && *home != '\0') {
    return fs::path(home) / ".local" / "share" / "polscan" / "history.sqlite";
  }
  return fs::path("polscan-history.sqlite");
}

}  // namespace polscan
