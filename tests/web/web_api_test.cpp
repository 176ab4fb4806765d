// The web UI's server over a real loopback socket (Beast client): page, status, token rule,
// bind rule, request validation, over-limit and malformed requests, results, history, report
// downloads, a scan that fails.
#include <gtest/gtest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "history/sample_history.hpp"
#include "io/report.hpp"
#include "web/http_server.hpp"
#include "web/scan_job.hpp"
#include "web/web_api.hpp"

namespace fs = std::filesystem;
namespace http = boost::beast::http;
using nlohmann::json;
using namespace polscan;
using namespace polscan::web;

namespace {

fs::path tempDir(const std::string& name) {
  const fs::path d =
      fs::temp_directory_path() / ("polscan_web_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}

// The instrument is absent: opening it fails as InstrumentSession does without a device.
std::unique_ptr<OpenedInstrument> noInstrument(const ScanCheckpoint&) {
  throw std::runtime_error("cannot open serial:/dev/ttyACM9: no such device");
}

struct Reply {
  unsigned status = 0;
  std::string body;
  std::string content_type, disposition;
  json j() const { return json::parse(body); }
};

// One request over a fresh loopback connection.
Reply call(unsigned short port, http::verb verb, const std::string& target,
           const std::string& body = "",
           const std::vector<std::pair<std::string, std::string>>& headers = {}) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::tcp_stream stream(io);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  boost::beast::error_code ec;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
  return Reply{res.result_int(), res.body(), std::string(res[http::field::content_type]),
               std::string(res[http::field::content_disposition])};
}

// Raw bytes over a fresh loopback connection, as a broken or hostile client sends them: the
// answer, and whether the server then closed the connection (end of stream within 5 s).
struct RawReply {
  Reply reply;
  bool closed = false;
};
RawReply callRaw(unsigned short port, const std::string& bytes) {
  boost::asio::io_context io;
  boost::asio::ip::tcp::resolver resolver(io);
  boost::beast::tcp_stream stream(io);
  stream.connect(resolver.resolve("127.0.0.1", std::to_string(port)));
  boost::asio::write(stream.socket(), boost::asio::buffer(bytes));
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  RawReply r;
  r.reply = Reply{res.result_int(), res.body(), std::string(res[http::field::content_type]), ""};
  char more[64];
  stream.expires_after(std::chrono::seconds(5));
  stream.async_read_some(boost::asio::buffer(more), [&](boost::beast::error_code ec, std::size_t) {
    r.closed = ec == boost::asio::error::eof;
  });
  io.run();
  return r;
}

class WebServerTest : public ::testing::Test {
 protected:
  void serve(const std::string& token = "",
             std::optional<calibration::AnalysisCalibration> cal = std::nullopt) {
    dir_ = tempDir(::testing::UnitTest::GetInstance()->current_test_info()->name());
    job_ = std::make_unique<ScanJob>(dir_ / "scans", noInstrument, dir_ / "history.sqlite",
                                     ScanOptions{}, std::move(cal));
    WebConfig config;
    config.token = token;
    config.history_db = dir_ / "history.sqlite";
    config.defaults.request.pixel_um = 0.4;
    api_ = std::make_unique<WebApi>(*job_, config);
    server_ = std::make_unique<HttpServer>("127.0.0.1", 0,
                                           [this](const Request& r) { return api_->handle(r); });
    server_->start();
  }
  void TearDown() override {
    server_.reset();
    api_.reset();
    job_.reset();
    fs::remove_all(dir_);
  }
  unsigned short port() const { return server_->port(); }

  // A finished scan folder as the runner leaves it: scan.json and report.json.
  std::string makeScanFolder(int crystals) {
    const std::string id = "scan-20260101-000000";
    const fs::path d = dir_ / "scans" / id;
    fs::create_directories(d);
    ScanCheckpoint cp;
    cp.request.pixel_um = 0.4;
    cp.request.width_mm = 0.5;
    cp.request.height_mm = 0.35;
    cp.complete = true;
    writeCheckpoint(cp, d / "scan.json");
    Report r;
    r.sample = "synovial-fluid";
    r.fields = 4;
    for (int i = 0; i < crystals; ++i) {
      CrystalRecord c;
      c.id = i + 1;
      c.cls = i % 2 ? CrystalClass::MSU : CrystalClass::CPPD;
      r.crystals.push_back(c);
    }
    writeReport(r, d / "report.json");
    return id;
  }

  fs::path dir_;
  std::unique_ptr<ScanJob> job_;
  std::unique_ptr<WebApi> api_;
  std::unique_ptr<HttpServer> server_;
};

TEST_F(WebServerTest, ServesThePageAndAnIdleStatus) {
  serve();
  const Reply page = call(port(), http::verb::get, "/");
  EXPECT_EQ(page.status, 200u);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("id=\"start\""), std::string::npos);
  EXPECT_NE(page.body.find("id=\"live\""), std::string::npos);
  EXPECT_EQ(page.body.find("http://"), std::string::npos) << "the page loads nothing from outside";

  const Reply s = call(port(), http::verb::get, "/api/status");
  ASSERT_EQ(s.status, 200u);
  EXPECT_EQ(s.j().at("state"), "idle");
  EXPECT_EQ(s.j().at("fields_total"), 0);
  EXPECT_TRUE(s.j().at("eta_s").is_null());
}

TEST_F(WebServerTest, TokenIsRequiredWhenSet) {
  serve("s3cret");
  const Reply none = call(port(), http::verb::get, "/api/status");
  EXPECT_EQ(none.status, 401u);
  EXPECT_NE(none.j().at("error").get<std::string>().find("token"), std::string::npos);
  EXPECT_EQ(call(port(), http::verb::get, "/").status, 401u) << "the page too";
  const Reply wrong =
      call(port(), http::verb::get, "/api/status", "", {{"X-Polscan-Token", "guess"}});
  EXPECT_EQ(wrong.status, 401u);
  EXPECT_EQ(wrong.j().at("error"), "wrong token");
  EXPECT_EQ(call(port(), http::verb::get, "/api/status?token=guess").status, 401u);

  EXPECT_EQ(
      call(port(), http::verb::get, "/api/status", "", {{"X-Polscan-Token", "s3cret"}}).status,
      200u);
  EXPECT_EQ(
      call(port(), http::verb::get, "/api/status", "", {{"Authorization", "Bearer s3cret"}}).status,
      200u);
  EXPECT_EQ(call(port(), http::verb::get, "/?token=s3cret").status, 200u);
  EXPECT_EQ(call(port(), http::verb::get, "/api/status?x=1&token=s3cr%65t").status, 200u);
}

TEST(WebBindRule, LoopbackFreeElsewhereOnlyWithToken) {
  EXPECT_NO_THROW(checkBindAddress("127.0.0.1", ""));
  EXPECT_NO_THROW(checkBindAddress("::1", ""));
  try {
    checkBindAddress("0.0.0.0", "");
    FAIL() << "0.0.0.0 without a token was accepted";
  } catch (const ServeError& e) {
    EXPECT_NE(std::string(e.what()).find("--token"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("0.0.0.0"), std::string::npos) << e.what();
  }
  EXPECT_THROW(checkBindAddress("192.168.1.20", ""), ServeError);
  EXPECT_NO_THROW(checkBindAddress("0.0.0.0", "tok"));
  EXPECT_THROW(checkBindAddress("lab-pc", "tok"), ServeError);
}

TEST_F(WebServerTest, StartRequestErrorsNameTheFieldAndStartNothing) {
  serve();
  const Reply not_json = call(port(), http::verb::post, "/api/scan/start", "{width");
  EXPECT_EQ(not_json.status, 400u);
  EXPECT_NE(not_json.j().at("error").get<std::string>().find("not JSON"), std::string::npos);
  const Reply type = call(port(), http::verb::post, "/api/scan/start", R"({"width_mm":"wide"})");
  EXPECT_EQ(type.status, 400u);
  EXPECT_NE(type.j().at("error").get<std::string>().find("width_mm"), std::string::npos);
  const Reply unknown = call(port(), http::verb::post, "/api/scan/start", R"({"colour":1})");
  EXPECT_EQ(unknown.status, 400u);
  EXPECT_NE(unknown.j().at("error").get<std::string>().find("colour"), std::string::npos);
  const Reply region = call(port(), http::verb::post, "/api/scan/start", R"({"width_mm":-1})");
  EXPECT_EQ(region.status, 400u) << region.body;
  EXPECT_FALSE(fs::exists(dir_ / "scans") && !fs::is_empty(dir_ / "scans"))
      << "a refused request left a scan folder";
  EXPECT_EQ(job_->status().state, JobState::Idle);
}

TEST(WebStartRequest, OverridesOnlyTheGivenFields) {
  ScanJobSettings d;
  d.request.pixel_um = 0.4;
  d.acquisition.angles = 6;
  const ScanJobSettings s = parseStartRequest(
      R"({"x_mm":0.2,"width_mm":0.5,"autofocus":false,"sample_id":"S-7","sample_type":"urine"})",
      d);
  EXPECT_DOUBLE_EQ(s.request.x_mm, 0.2);
  EXPECT_DOUBLE_EQ(s.request.width_mm, 0.5);
  EXPECT_DOUBLE_EQ(s.request.height_mm, d.request.height_mm);
  EXPECT_DOUBLE_EQ(s.request.pixel_um, 0.4);
  EXPECT_EQ(s.acquisition.angles, 6);
  EXPECT_FALSE(s.acquisition.autofocus);
  EXPECT_EQ(s.sample_id, "S-7");
  EXPECT_EQ(s.sample_type, "urine");
  EXPECT_THROW(parseStartRequest(R"({"sample_type":"blood"})", d), std::invalid_argument);
  EXPECT_THROW(parseStartRequest("[1]", d), std::invalid_argument);
}

TEST_F(WebServerTest, WrongMethodUnknownRouteAndNothingToStop) {
  serve();
  const Reply get_start = call(port(), http::verb::get, "/api/scan/start");
  EXPECT_EQ(get_start.status, 405u);
  EXPECT_NE(get_start.j().at("error").get<std::string>().find("POST"), std::string::npos);
  const Reply nope = call(port(), http::verb::get, "/api/nope");
  EXPECT_EQ(nope.status, 404u);
  EXPECT_NE(nope.j().at("error").get<std::string>().find("/api/nope"), std::string::npos);
  const Reply stop = call(port(), http::verb::post, "/api/scan/stop", "{}");
  EXPECT_EQ(stop.status, 409u);
  EXPECT_EQ(stop.j().at("error"), "no scan is running");
  EXPECT_EQ(call(port(), http::verb::post, "/api/scan/resume", R"({"scan_id":"../etc"})").status,
            404u);
  EXPECT_EQ(call(port(), http::verb::post, "/api/scan/resume", R"({"scan":"x"})").status, 400u);
  const Reply live = call(port(), http::verb::get, "/api/live.png");
  EXPECT_EQ(live.status, 404u);
  EXPECT_EQ(live.content_type, "application/json");
}

TEST_F(WebServerTest, OverLimitAndMalformedRequestsGetAJsonErrorAndAClose) {
  serve();
  constexpr std::size_t limit = 1 << 20;  // 1 MB of body
  // One byte over: 413 naming the size and the limit, sent while the body is still arriving (the
  // server reads the rest and drops it, so the answer is not lost to a reset connection).
  const RawReply big =
      callRaw(port(),
              "POST /api/scan/start HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
              "application/json\r\nContent-Length: " +
                  std::to_string(limit + 1) + "\r\n\r\n" + std::string(limit + 1, ' '));
  EXPECT_EQ(big.reply.status, 413u) << big.reply.body;
  EXPECT_EQ(big.reply.content_type, "application/json");
  const std::string too_big = big.reply.j().at("error");
  EXPECT_NE(too_big.find(std::to_string(limit + 1) + " bytes"), std::string::npos) << too_big;
  EXPECT_NE(too_big.find("limit of " + std::to_string(limit)), std::string::npos) << too_big;
  EXPECT_TRUE(big.closed);
  // At the limit the body is read and reaches the API (which names the unknown field).
  const std::string padded = R"({"colour":1})";
  const Reply at_limit = call(port(), http::verb::post, "/api/scan/start",
                              padded + std::string(limit - padded.size(), ' '));
  EXPECT_EQ(at_limit.status, 400u);
  EXPECT_NE(at_limit.j().at("error").get<std::string>().find("colour"), std::string::npos);

  const RawReply length = callRaw(
      port(), "POST /api/scan/stop HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ten\r\n\r\n");
  EXPECT_EQ(length.reply.status, 400u);
  EXPECT_NE(length.reply.j().at("error").get<std::string>().find("Content-Length"),
            std::string::npos)
      << length.reply.body;
  EXPECT_TRUE(length.closed);
  const RawReply method = callRaw(port(), "G(T / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  EXPECT_EQ(method.reply.status, 400u);
  EXPECT_NE(method.reply.j().at("error").get<std::string>().find("method"), std::string::npos)
      << method.reply.body;
  const RawReply header =
      callRaw(port(), "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(10000, 'a') +
                          "\r\n\r\n");
  EXPECT_EQ(header.reply.status, 431u);
  EXPECT_NE(header.reply.j().at("error").get<std::string>().find("header"), std::string::npos)
      << header.reply.body;

  // The server goes on serving, and nothing was started.
  EXPECT_EQ(call(port(), http::verb::get, "/api/status").status, 200u);
  EXPECT_EQ(job_->status().state, JobState::Idle);
}

TEST_F(WebServerTest, ResultsListAScanAndItsReportDownloads) {
  serve();
  const std::string id = makeScanFolder(5);
  const Reply list = call(port(), http::verb::get, "/api/results");
  ASSERT_EQ(list.status, 200u);
  ASSERT_EQ(list.j().at("scans").size(), 1u);
  const json scan = list.j().at("scans").at(0);
  EXPECT_EQ(scan.at("id"), id);
  EXPECT_EQ(scan.at("crystals"), 5);
  EXPECT_EQ(scan.at("counts").at("CPPD"), 3);
  EXPECT_EQ(scan.at("complete"), true);

  const Reply report = call(port(), http::verb::get, "/api/report/" + id + "/report.json");
  ASSERT_EQ(report.status, 200u);
  std::ifstream in(dir_ / "scans" / id / "report.json");
  std::stringstream file;
  file << in.rdbuf();
  EXPECT_EQ(report.body, file.str());
  EXPECT_EQ(report.disposition, "attachment; filename=\"" + id + "-report.json\"");

  const Reply csv = call(port(), http::verb::get, "/api/report/" + id + "/crystals.csv");
  EXPECT_EQ(csv.status, 404u);
  EXPECT_NE(csv.j().at("error").get<std::string>().find("crystals.csv"), std::string::npos);
  EXPECT_EQ(call(port(), http::verb::get, "/api/report/" + id + "/scan.json").status, 404u);
  EXPECT_EQ(call(port(), http::verb::get, "/api/report/..%2F..%2Fetc/report.json").status, 400u);
  EXPECT_EQ(call(port(), http::verb::get, "/api/report/scan-1999/report.json").status, 404u);
}

TEST_F(WebServerTest, HistoryListsTheDatabaseRows) {
  serve();
  EXPECT_EQ(call(port(), http::verb::get, "/api/history").j().at("samples").size(), 0u);
  {
    SampleHistory db(dir_ / "history.sqlite");
    SampleRecord r;
    r.sample_id = "SF-12";
    r.sample_type = "synovial-fluid";
    r.date = "2026-11-27T08:00:00Z";
    r.fields = 6;
    r.counts = {{"CPPD", 4}};
    db.add(r);
  }
  const json rows = call(port(), http::verb::get, "/api/history").j().at("samples");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].at("sample_id"), "SF-12");
  EXPECT_EQ(rows[0].at("fields"), 6);
  EXPECT_EQ(rows[0].at("counts").at("CPPD"), 4);
}

// A calibration as `serve --calibration` loads it; only its file and measurement stamp matter to
// the resume rule.
calibration::AnalysisCalibration calibrationCreated(const std::string& created) {
  calibration::AnalysisCalibration cal;
  cal.file = "/var/lib/polscan/bench-" + created + "/calibration.json";
  cal.figures.created = created;
  return cal;
}

// A resumed scan keeps the calibration it was started with: a server with another one, or with
// one for a scan started without, refuses to resume it (409 naming both) and starts nothing.
TEST_F(WebServerTest, AResumeWithAnotherCalibrationIsRefusedNamingBoth) {
  serve("", calibrationCreated("2031-01-02T03:04:05Z"));
  const auto incomplete = [this](const std::string& id, const std::string& cal_created) {
    ScanCheckpoint cp;
    cp.request.pixel_um = 0.4;
    cp.request.width_mm = 0.5;
    cp.request.height_mm = 0.35;
    if (!cal_created.empty()) {
      cp.acquisition.calibration = "/var/lib/polscan/bench-1/calibration.json";
      cp.acquisition.calibration_created = cal_created;
    }
    fs::create_directories(dir_ / "scans" / id);
    writeCheckpoint(cp, dir_ / "scans" / id / "scan.json");
  };
  incomplete("scan-a", "2026-11-27T09:15:00Z");
  const Reply other = call(port(), http::verb::post, "/api/scan/resume", R"({"scan_id":"scan-a"})");
  EXPECT_EQ(other.status, 409u) << other.body;
  const std::string why = other.j().at("error");
  EXPECT_NE(why.find("2026-11-27T09:15:00Z"), std::string::npos) << why;
  EXPECT_NE(why.find("2031-01-02T03:04:05Z"), std::string::npos) << why;
  incomplete("scan-b", "");
  const Reply late = call(port(), http::verb::post, "/api/scan/resume", R"({"scan_id":"scan-b"})");
  EXPECT_EQ(late.status, 409u) << late.body;
  EXPECT_NE(late.j().at("error").get<std::string>().find("started without a calibration"),
            std::string::npos)
      << late.body;
  EXPECT_EQ(call(port(), http::verb::get, "/api/status").j().at("state"), "idle");
}

TEST_F(WebServerTest, AScanWhoseInstrumentIsMissingFailsWithTheReason) {
  serve();
  const Reply start = call(port(), http::verb::post, "/api/scan/start",
                           R"({"width_mm":0.5,"height_mm":0.35,"autofocus":false})");
  ASSERT_EQ(start.status, 202u) << start.body;
  const std::string id = start.j().at("scan_id");
  EXPECT_EQ(start.j().at("fields_total"), 4);
  job_->wait();
  const json s = call(port(), http::verb::get, "/api/status").j();
  EXPECT_EQ(s.at("state"), "failed");
  EXPECT_EQ(s.at("scan_id"), id);
  EXPECT_NE(s.at("message").get<std::string>().find("/dev/ttyACM9"), std::string::npos) << s.dump();
  EXPECT_FALSE(fs::exists(dir_ / "scans" / id)) << "nothing was acquired: no folder is left";
  EXPECT_EQ(call(port(), http::verb::get, "/api/results").j().at("scans").size(), 0u);
}

}  // namespace
