// Routing and JSON of the web UI; the scan itself is the ScanJob's.
#include "web/web_api.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <nlohmann/json.hpp>

#include "history/sample_history.hpp"
#include "scan/scan_plan.hpp"

namespace polscan::web {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// An HTTP status together with the message the client sees.
struct HttpError : std::runtime_error {
  HttpError(http::status s, const std::string& what) : std::runtime_error(what), status(s) {}
  http::status status;
};

Response makeResponse(const Request& req, http::status status, std::string content_type,
                      std::string body) {
  Response res{status, req.version()};
  res.set(http::field::server, "polscan");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

Response jsonResponse(const Request& req, http::status status, const json& j) {
  return makeResponse(req, status, "application/json", j.dump());
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX and '+' of a query parameter.
std::string percentDecode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && hexValue(s[i + 1]) >= 0 &&
               hexValue(s[i + 2]) >= 0) {
      out += static_cast<char>(hexValue(s[i + 1]) * 16 + hexValue(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::optional<std::string> queryParameter(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const std::size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string() : percentDecode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

json statusJson(const JobStatus& s) {
  json j = {{"state", jobStateName(s.state)},
            {"scan_id", s.scan_id},
            {"fields_done", s.fields_done},
            {"fields_total", s.fields_total},
            {"crystals", s.crystals},
            {"elapsed_s", std::round(s.elapsed_s * 10.0) / 10.0},
            {"message", s.message}};
  j["eta_s"] = s.eta_s ? json(std::round(*s.eta_s * 10.0) / 10.0) : json(nullptr);
  return j;
}

json readJsonFile(const fs::path& f) {
  std::ifstream in(f);
  if (!in) throw std::runtime_error("cannot open " + f.string());
  try {
    return json::parse(in);
  } catch (const json::exception& e) {
    throw std::runtime_error(f.string() + ": " + e.what());
  }
}

std::string readFile(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  if (!in) throw HttpError(http::status::not_found, "no file " + f.filename().string());
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// One scan folder as the results page lists it.
json scanSummary(const fs::path& dir) {
  json j = {{"id", dir.filename().string()}};
  try {
    const ScanCheckpoint cp = readCheckpoint(dir / "scan.json");
    j["complete"] = cp.complete;
    j["fields_done"] = cp.tiles.size();
    j["fields_total"] =
        planScan(cp.request, StageTravel{{-1e12, 1e12}, {-1e12, 1e12}}).tiles.size();
    j["region_mm"] = {cp.request.x_mm, cp.request.y_mm, cp.request.width_mm, cp.request.height_mm};
    if (fs::exists(dir / "report.json")) {
      const json report = readJsonFile(dir / "report.json");
      j["crystals"] = report.at("crystals").size();
      j["counts"] = report.at("counts");
    }
    j["report_html"] = fs::exists(dir / "report.html");
    j["sample_id"] = "";
    if (fs::exists(dir / "sample.json")) {
      j["sample_id"] = readJsonFile(dir / "sample.json").value("sample_id", "");
    }
  } catch (const std::exception& e) {
    j["error"] = e.what();  // a damaged folder is listed with its problem, not hidden
  }
  return j;
}

template <typename T>
T field(const json& j, const char* name, const char* unit) {
  try {
    return j.get<T>();
  } catch (const json::exception&) {
    throw std::invalid_argument(std::string("\"") + name + "\" must be " + unit + ", got " +
                                j.dump());
  }
}

}  // namespace

Response errorResponse(const Request& req, http::status status, const std::string& message) {
  return jsonResponse(req, status, json{{"error", message}});
}

void checkBindAddress(const std::string& address, const std::string& token) {
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(address, ec);
  if (ec) {
    throw ServeError("--bind " + address + ": not an IP address (" + ec.message() + ")");
  }
  if (!ip.is_loopback() && token.empty()) {
    throw ServeError("--bind " + address +
                     " would let other machines start scans: give --token TOKEN as well "
                     "(every request must then carry it), or bind to 127.0.0.1");
  }
}

ScanJobSettings parseStartRequest(const std::string& body, const ScanJobSettings& defaults) {
  ScanJobSettings s = defaults;
  if (body.empty()) return s;
  json j;
  try {
    j = json::parse(body);
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("the request body is not JSON: ") + e.what());
  }
  if (!j.is_object()) throw std::invalid_argument("the request body must be a JSON object");
  for (const auto& [key, v] : j.items()) {
    if (key == "x_mm") {
      s.request.x_mm = field<double>(v, "x_mm", "a number in mm");
    } else if (key == "y_mm") {
      s.request.y_mm = field<double>(v, "y_mm", "a number in mm");
    } else if (key == "width_mm") {
      s.request.width_mm = field<double>(v, "width_mm", "a number in mm");
    } else if (key == "height_mm") {
      s.request.height_mm = field<double>(v, "height_mm", "a number in mm");
    } else if (key == "overlap") {
      s.request.overlap = field<double>(v, "overlap", "a fraction 0-0.5");
    } else if (key == "chamber_depth_um") {
      s.request.chamber_depth_um = field<double>(v, "chamber_depth_um", "a number in um");
    } else if (key == "autofocus") {
      s.acquisition.autofocus = field<bool>(v, "autofocus", "true or false");
    } else if (key == "focus_z_um") {
      s.acquisition.focus_z_um = field<double>(v, "focus_z_um", "a number in um");
    } else if (key == "sample_id") {
      s.sample_id = field<std::string>(v, "sample_id", "text");
    } else if (key == "sample_type") {
      s.sample_type = field<std::string>(v, "sample_type", "text");
      if (!s.sample_type.empty() && s.sample_type != "synovial-fluid" && s.sample_type != "urine") {
        throw std::invalid_argument("\"sample_type\" must be synovial-fluid or urine, got \"" +
                                    s.sample_type + "\"");
      }
    } else if (key == "operator") {
      s.operator_name = field<std::string>(v, "operator", "text");
    } else {
      throw std::invalid_argument("unknown field \"" + key +
                                  "\" (known: x_mm, y_mm, width_mm, height_mm, overlap, "
                                  "chamber_depth_um, autofocus, focus_z_um, sample_id, "
                                  "sample_type, operator)");
    }
  }
  return s;
}

WebApi::WebApi(ScanJob& job, WebConfig config) : job_(job), config_(std::move(config)) {}

Response WebApi::handle(const Request& req) const {
  const std::string_view target(req.target().data(), req.target().size());
  const std::size_t q = target.find('?');
  const std::string path(target.substr(0, q));
  const std::string_view query = q == std::string_view::npos ? "" : target.substr(q + 1);
  if (!config_.token.empty()) {
    std::optional<std::string> given;
    if (const auto it = req.find("X-Polscan-Token"); it != req.end()) {
      given = std::string(it->value());
    } else if (const auto auth = req.find(http::field::authorization); auth != req.end()) {
      const std::string_view v(auth->value().data(), auth->value().size());
      if (v.substr(0, 7) == "Bearer ") given = std::string(v.substr(7));
    }
    if (!given) given = queryParameter(query, "token");
    if (!given) {
      return errorResponse(req, http::status::unauthorized,
                           "this server needs a token: send the header X-Polscan-Token or open "
                           "the page as /?token=TOKEN");
    }
    if (*given != config_.token) {
      return errorResponse(req, http::status::unauthorized, "wrong token");
    }
  }
  try {
    return route(req, path);
  } catch (const HttpError& e) {
    return errorResponse(req, e.status, e.what());
  } catch (const JobConflict& e) {
    return errorResponse(req, http::status::conflict, e.what());
  } catch (const UnknownScan& e) {
    return errorResponse(req, http::status::not_found, e.what());
  } catch (const std::invalid_argument& e) {  // ScanPlanError too
    return errorResponse(req, http::status::bad_request, e.what());
  } catch (const std::exception& e) {
    return errorResponse(req, http::status::internal_server_error, e.what());
  }
}

Response WebApi::route(const Request& req, const std::string& path) const {
  const auto method = req.method();
  auto need = [&](http::verb v) {
    if (method != v) {
      throw HttpError(http::status::method_not_allowed,
                      path + " takes " + std::string(http::to_string(v)) + ", not " +
                          std::string(req.method_string()));
    }
  };
  if (path == "/" || path == "/index.html") {
    need(http::verb::get);
    return makeResponse(req, http::status::ok, "text/html; charset=utf-8", webPage());
  }
  if (path == "/api/status") {
    need(http::verb::get);
    return jsonResponse(req, http::status::ok, statusJson(job_.status()));
  }
  if (path == "/api/scan/start") {
    need(http::verb::post);
    return startScan(req);
  }
  if (path == "/api/scan/stop") {
    need(http::verb::post);
    job_.stop();
    return jsonResponse(req, http::status::accepted, statusJson(job_.status()));
  }
  if (path == "/api/scan/resume") {
    need(http::verb::post);
    return resumeScan(req);
  }
  if (path == "/api/results") {
    need(http::verb::get);
    return results(req);
  }
  if (path == "/api/history") {
    need(http::verb::get);
    return history(req);
  }
  if (path == "/api/live.png") {
    need(http::verb::get);
    return liveImage(req);
  }
  const std::string prefix = "/api/report/";
  if (path.rfind(prefix, 0) == 0) {
    need(http::verb::get);
    const std::string rest = path.substr(prefix.size());
    const std::size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      throw HttpError(http::status::not_found,
                      "expected /api/report/<scan id>/report.html|report.json|crystals.csv|"
                      "mosaic.png");
    }
    return reportFile(req, rest.substr(0, slash), rest.substr(slash + 1));
  }
  throw HttpError(http::status::not_found, "no such page or API route: " + path);
}

Response WebApi::startScan(const Request& req) const {
  const ScanJobSettings s = parseStartRequest(req.body(), config_.defaults);
  const std::string id = job_.start(s);
  json j = statusJson(job_.status());
  j["scan_id"] = id;
  return jsonResponse(req, http::status::accepted, j);
}

Response WebApi::resumeScan(const Request& req) const {
  std::string id;
  try {
    id = json::parse(req.body()).at("scan_id").get<std::string>();
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("resume needs a JSON body {\"scan_id\": \"...\"}: ") +
                                e.what());
  }
  job_.resume(id);
  return jsonResponse(req, http::status::accepted, statusJson(job_.status()));
}

Response WebApi::results(const Request& req) const {
  json scans = json::array();
  std::vector<fs::path> dirs;
  std::error_code ec;
  if (fs::exists(job_.scansDir())) {
    for (const auto& e : fs::directory_iterator(job_.scansDir(), ec)) {
      if (e.is_directory() && fs::exists(e.path() / "scan.json")) dirs.push_back(e.path());
    }
  }
  if (ec) throw std::runtime_error("cannot list " + job_.scansDir().string() + ": " + ec.message());
  std::sort(dirs.rbegin(), dirs.rend());  // newest first (ids carry the start time)
  for (const fs::path& d : dirs) scans.push_back(scanSummary(d));
  return jsonResponse(req, http::status::ok, json{{"scans", scans}});
}

Response WebApi::history(const Request& req) const {
  json rows = json::array();
  if (!config_.history_db.empty() && fs::exists(config_.history_db)) {
    const SampleHistory db(config_.history_db);
    for (const SampleRecord& r : db.find()) {
      rows.push_back({{"row", r.row},
                      {"sample_id", r.sample_id},
                      {"sample_type", r.sample_type},
                      {"date", r.date},
                      {"operator", r.operator_name},
                      {"fields", r.fields},
                      {"scanned_area_mm2", r.scanned_area_mm2},
                      {"counts", r.counts},
                      {"report_path", r.report_path}});
    }
  }
  return jsonResponse(req, http::status::ok,
                      json{{"history_db", config_.history_db.string()}, {"samples", rows}});
}

Response WebApi::reportFile(const Request& req, const std::string& id,
                            const std::string& file) const {
  if (!validScanId(id)) {
    throw HttpError(http::status::bad_request,
                    "bad scan id \"" + id + "\": letters, digits, '-' and '_' only");
  }
  static const std::vector<std::pair<std::string, std::string>> kFiles = {
      {"report.html", "text/html; charset=utf-8"},
      {"report.json", "application/json"},
      {"crystals.csv", "text/csv; charset=utf-8"},
      {"mosaic.png", "image/png"}};
  const auto it =
      std::find_if(kFiles.begin(), kFiles.end(), [&](const auto& f) { return f.first == file; });
  if (it == kFiles.end()) {
    throw HttpError(http::status::not_found,
                    "no report file \"" + file +
                        "\" (offered: report.html, report.json, crystals.csv, mosaic.png)");
  }
  const fs::path dir = job_.scansDir() / id;
  if (!fs::exists(dir / "scan.json")) throw UnknownScan("no scan \"" + id + "\"");
  if (!fs::exists(dir / file)) {
    throw HttpError(http::status::not_found,
                    "scan " + id + " has no " + file + " yet (written when the scan ends)");
  }
  Response res = makeResponse(req, http::status::ok, it->second, readFile(dir / file));
  if (file == "report.json" || file == "crystals.csv") {
    res.set(http::field::content_disposition, "attachment; filename=\"" + id + "-" + file + "\"");
  }
  return res;
}

Response WebApi::liveImage(const Request& req) const {
  const std::optional<LiveField> live = job_.liveField();
  if (!live) {
    throw HttpError(http::status::not_found, "no field analysed yet: start a scan");
  }
  Response res = makeResponse(req, http::status::ok, "image/png",
                              std::string(live->png.begin(), live->png.end()));
  res.set("X-Polscan-Field", std::to_string(live->field));
  res.set("X-Polscan-Scan", live->scan_id);
  return res;
}

}  // namespace polscan::web
