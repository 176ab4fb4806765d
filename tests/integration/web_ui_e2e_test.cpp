// The web UI end to end: `polscan serve --port 0` (firmware simulator + virtual camera) driven
// through its real page in headless Chromium over the DevTools protocol (Beast websocket): start
// a scan with a mouse click, stop it, resume it, follow the progress to N/N, open the result and
// the history, keep screenshots.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <boost/archive/iterators/binary_from_base64.hpp>
#include <boost/archive/iterators/transform_width.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "tests/support/child_process.hpp"
#include "tests/support/scratch_files.hpp"

namespace fs = std::filesystem;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using nlohmann::json;

namespace {

using polscan::testing::ChildProcess;
using polscan::testing::exitCode;
using polscan::testing::readTextFile;

constexpr int kViewWidth = 1000, kViewHeight = 900;

template <typename F>
bool waitFor(F&& ready, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

http::response<http::string_body> httpGet(unsigned short port, const std::string& target) {
  boost::asio::io_context io;
  beast::tcp_stream stream(io);
  stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
  http::request<http::string_body> req{http::verb::get, target, 11};
  req.set(http::field::host, "127.0.0.1:" + std::to_string(port));
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  http::read(stream, buffer, res);
  return res;
}

std::string decodeBase64(const std::string& text) {
  using namespace boost::archive::iterators;
  using Decoder = transform_width<binary_from_base64<std::string::const_iterator>, 8, 6>;
  std::string s = text;
  const std::size_t pad = std::count(s.begin(), s.end(), '=');
  std::replace(s.begin(), s.end(), '=', 'A');
  std::string out(Decoder(s.begin()), Decoder(s.end()));
  out.resize(out.size() - pad);
  return out;
}

// A DevTools protocol session with one page.
class DevTools {
 public:
  DevTools(unsigned short port, const std::string& path) : ws_(io_) {
    ws_.next_layer().connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
    ws_.handshake("127.0.0.1:" + std::to_string(port), path);
  }
  ~DevTools() {
    beast::error_code ec;
    ws_.close(beast::websocket::close_code::normal, ec);  // the browser may be gone already
  }

  json call(const std::string& method, const json& params = json::object()) {
    const int id = ++next_id_;
    ws_.write(boost::asio::buffer(json{{"id", id}, {"method", method}, {"params", params}}.dump()));
    for (;;) {
      beast::flat_buffer buffer;
      ws_.read(buffer);
      const json m = json::parse(beast::buffers_to_string(buffer.data()));
      if (!m.contains("id") || m.at("id") != id) continue;  // an event
      if (m.contains("error")) {
        throw std::runtime_error(method + " failed: " + m.at("error").dump());
      }
      return m.at("result");
    }
  }

  // The value of a JavaScript expression in the page.
  json eval(const std::string& expression) {
    const json r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
    if (r.contains("exceptionDetails")) {
      throw std::runtime_error("page script failed: " + r.at("exceptionDetails").dump());
    }
    return r.at("result").value("value", json());
  }

  // A real mouse click in the middle of the element (it must be visible to be hit).
  void click(const std::string& selector) {
    const json box = eval("(() => { const r = document.querySelector('" + selector +
                          "').getBoundingClientRect(); return [r.x + r.width / 2, r.y + "
                          "r.height / 2, r.width * r.height]; })()");
    ASSERT_GT(box.at(2).get<double>(), 0.0) << selector << " is not visible";
    const double x = box.at(0), y = box.at(1);
    call("Input.dispatchMouseEvent", {{"type", "mouseMoved"}, {"x", x}, {"y", y}});
    for (const char* type : {"mousePressed", "mouseReleased"}) {
      call("Input.dispatchMouseEvent",
           {{"type", type}, {"x", x}, {"y", y}, {"button", "left"}, {"clickCount", 1}});
    }
  }

  // Page.captureScreenshot as PNG bytes, also written to file.
  std::string screenshot(const fs::path& file) {
    const std::string png =
        decodeBase64(call("Page.captureScreenshot", {{"format", "png"}}).at("data"));
    std::ofstream(file, std::ios::binary) << png;
    return png;
  }

 private:
  boost::asio::io_context io_;
  beast::websocket::stream<tcp::socket> ws_;
  int next_id_ = 0;
};

void expectScreenshot(const std::string& png, const fs::path& file) {
  const std::vector<unsigned char> bytes(png.begin(), png.end());
  const cv::Mat img = cv::imdecode(bytes, cv::IMREAD_COLOR);
  ASSERT_FALSE(img.empty()) << file << " is not a PNG";
  EXPECT_EQ(img.cols, kViewWidth) << file;
  EXPECT_EQ(img.rows, kViewHeight) << file;
  EXPECT_EQ(fs::file_size(file), png.size());
}

TEST(WebUiEndToEnd, ScanFromTheBrowserToItsResult) {
  const fs::path dir =
      fs::temp_directory_path() / ("polscan_web_e2e_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "chrome");
  const fs::path output = fs::path(POLSCAN_TEST_OUTPUT_DIR) / "web_ui_e2e";
  fs::create_directories(output);

  ChildProcess serve({POLSCAN_EXE, "serve", "--port", "0", "--scans-dir", (dir / "scans").string(),
                      "--history-db", (dir / "history.sqlite").string()},
                     dir / "serve.log");
  ASSERT_GT(serve.pid(), 0);
  std::smatch m;
  const std::regex served(R"(web UI on http://127\.0\.0\.1:(\d+)/)");
  std::string log;
  ASSERT_TRUE(
      waitFor([&] { return std::regex_search(log = readTextFile(dir / "serve.log"), m, served); },
              std::chrono::seconds(20)))
      << log;
  const unsigned short port = static_cast<unsigned short>(std::stoi(m[1]));

  ChildProcess browser(
      {"chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
       "--no-first-run", "--disable-background-networking", "--disable-component-update",
       "--disable-sync", "--remote-debugging-port=0",
       "--user-data-dir=" + (dir / "chrome").string(),
       "--window-size=" + std::to_string(kViewWidth) + "," + std::to_string(kViewHeight),
       "about:blank"},
      dir / "chromium.log");
  ASSERT_GT(browser.pid(), 0) << "chromium did not start (Debian package chromium)";
  const fs::path active = dir / "chrome" / "DevToolsActivePort";
  ASSERT_TRUE(waitFor([&] { return readTextFile(active).find('\n') != std::string::npos; },
                      std::chrono::seconds(30)))
      << readTextFile(dir / "chromium.log");
  const unsigned short devtools_port = static_cast<unsigned short>(
      std::stoi(readTextFile(active).substr(0, readTextFile(active).find('\n'))));

  // The page target's websocket address.
  std::string page_path;
  ASSERT_TRUE(waitFor(
      [&] {
        for (const json& t : json::parse(httpGet(devtools_port, "/json/list").body())) {
          if (t.value("type", "") == "page") {
            const std::string url = t.at("webSocketDebuggerUrl");
            page_path = url.substr(url.find('/', std::string("ws://").size()));
            return true;
          }
        }
        return false;
      },
      std::chrono::seconds(10)));
  DevTools page(devtools_port, page_path);
  page.call("Emulation.setDeviceMetricsOverride", {{"width", kViewWidth},
                                                   {"height", kViewHeight},
                                                   {"deviceScaleFactor", 1},
                                                   {"mobile", false}});
  page.call("Page.navigate", {{"url", "http://127.0.0.1:" + std::to_string(port) + "/#scan"}});
  ASSERT_TRUE(waitFor(
      [&] {
        return page.eval(
                   "document.readyState === 'complete' && "
                   "document.getElementById('state').textContent === 'idle'") == true;
      },
      std::chrono::seconds(15)));

  // Region 0.05..0.55 mm x 0.05..0.35 mm: 2 x 1 fields of 409.6 x 307.2 um; fixed focus.
  page.eval(
      "(() => { const set = (id, v) => { document.getElementById(id).value = v; };"
      "set('x_mm', 0.05); set('y_mm', 0.05); set('width_mm', 0.5); set('height_mm', 0.3);"
      "set('focus_z_um', 1); set('sample_id', 'E2E-1');"
      "document.getElementById('autofocus').checked = false; })()");
  page.click("#start");

  // Stop while the instrument starts up (homing takes seconds), then resume the same scan.
  auto pageStatus = [&] {
    return page.eval(
        "({state: document.getElementById('state').textContent,"
        " progress: document.getElementById('progress').textContent,"
        " bar: document.getElementById('bar').value,"
        " scan: document.getElementById('scan-id').textContent,"
        " message: document.getElementById('message').textContent,"
        " error: document.getElementById('error').textContent,"
        " live: document.getElementById('live').naturalWidth})");
  };
  json seen;
  ASSERT_TRUE(waitFor([&] { return (seen = pageStatus()).at("state") == "running"; },
                      std::chrono::seconds(10)))
      << seen.dump();
  page.click("#stop");
  ASSERT_TRUE(waitFor([&] { return (seen = pageStatus()).at("state") == "stopped"; },
                      std::chrono::seconds(60)))
      << seen.dump() << "\n"
      << readTextFile(dir / "serve.log");
  EXPECT_LT(seen.at("bar").get<int>(), 2) << "the stop was not honoured: " << seen.dump();
  EXPECT_NE(seen.at("message").get<std::string>().find("resume"), std::string::npos);
  const std::string stopped_id = seen.at("scan");
  page.click("#resume");

  ASSERT_TRUE(waitFor(
      [&] {
        seen = pageStatus();
        return seen.at("state") == "finished" && seen.at("live").get<int>() > 0;
      },
      std::chrono::seconds(60)))
      << seen.dump() << "\n"
      << readTextFile(dir / "serve.log");
  EXPECT_EQ(seen.at("progress"), "2/2");
  EXPECT_EQ(seen.at("bar"), 2);
  EXPECT_EQ(seen.at("error"), "");
  const std::string scan_id = seen.at("scan");
  EXPECT_EQ(scan_id, stopped_id) << "resume continues the stopped scan";
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "scans"), fs::directory_iterator()), 1);
  ASSERT_TRUE(fs::exists(dir / "scans" / scan_id / "report.json")) << scan_id;
  const json report = json::parse(readTextFile(dir / "scans" / scan_id / "report.json"));
  ASSERT_GT(report.at("crystals").size(), 0u) << "the region should hold crystals";

  // The live view shows the last field with its crystals outlined.
  const fs::path live_file = output / "scan_page.png";
  expectScreenshot(page.screenshot(live_file), live_file);
  const auto live = httpGet(port, "/api/live.png");
  EXPECT_EQ(live.result_int(), 200u);
  EXPECT_EQ(live[http::field::content_type], "image/png");
  EXPECT_EQ(live["X-Polscan-Field"], "1") << "the second (last) field";

  page.click("#open-result");
  json result;
  ASSERT_TRUE(waitFor(
      [&] {
        result = page.eval(
            "({count: document.getElementById('result-count').textContent,"
            " id: document.getElementById('result-id').textContent,"
            " html: document.getElementById('dl-html').getAttribute('href'),"
            " rows: document.getElementById('result-counts').rows.length,"
            " notes: Array.from(document.querySelectorAll('#result-notes p'))"
            "   .map(p => p.textContent),"
            " mosaic: document.getElementById('result-mosaic').naturalWidth})");
        return result.at("count") != "-" && result.at("mosaic").get<int>() > 0;
      },
      std::chrono::seconds(15)))
      << result.dump();
  EXPECT_EQ(result.at("id"), scan_id);
  EXPECT_EQ(result.at("count"), std::to_string(report.at("crystals").size()));
  int classes_present = 0;
  for (const auto& [cls, n] : report.at("counts").items()) classes_present += n.get<int>() > 0;
  EXPECT_EQ(result.at("rows"), classes_present);
  // The report's notes (the apatite statement at least) are on the page as written.
  EXPECT_EQ(result.at("notes"), report.at("notes"));
  EXPECT_NE(result.at("notes").dump().find("apatite"), std::string::npos) << result.dump();
  const fs::path result_file = output / "result_page.png";
  expectScreenshot(page.screenshot(result_file), result_file);

  // The report the page links to is the scan's report.html.
  const std::string html_link = result.at("html");
  EXPECT_EQ(html_link, "/api/report/" + scan_id + "/report.html");
  const auto html = httpGet(port, html_link);
  EXPECT_EQ(html.result_int(), 200u);
  EXPECT_EQ(html.body(), readTextFile(dir / "scans" / scan_id / "report.html"));

  // The scan had a sample id: the history page lists it with its crystal count.
  page.click("#nav-history");
  json history;
  ASSERT_TRUE(waitFor(
      [&] {
        history = page.eval(
            "Array.from(document.querySelectorAll('#history-body tr')).map(r => "
            "Array.from(r.cells).map(c => c.textContent))");
        return history.is_array() && !history.empty();
      },
      std::chrono::seconds(10)));
  ASSERT_EQ(history.size(), 1u);
  EXPECT_EQ(history[0][0], "E2E-1");
  EXPECT_EQ(history[0][4], "2") << "fields";

  browser.stop(SIGTERM);
  EXPECT_EQ(exitCode(serve.stop(SIGTERM)), 0) << "SIGTERM ends `polscan serve` cleanly\n"
                                              << readTextFile(dir / "serve.log");
  fs::remove_all(dir);
}

}  // namespace
