// The web UI's routes: the page, the scan controls, progress, results, history, downloads and
// the live view. Every error is JSON {"error": "..."} naming what was wrong.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>

#include <boost/beast/http.hpp>

#include "web/scan_job.hpp"
#include "web/web_page.hpp"

namespace polscan::web {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The server may not be started with these settings (address, token).
class ServeError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct WebConfig {
  // When set, every request must carry it: header "X-Polscan-Token: T", "Authorization: Bearer
  // T", or the query parameter ?token=T. Empty: no token (loopback only).
  std::string token;
  std::filesystem::path history_db;  // the sample history the history page lists
  ScanJobSettings defaults;          // what a start request does not say
};

// Loopback addresses are always allowed; any other address (0.0.0.0, a LAN address) only with a
// non-empty token. Throws ServeError naming the address (and why) otherwise or when the address
// is not an IP address.
void checkBindAddress(const std::string& address, const std::string& token);

class WebApi {
 public:
  WebApi(ScanJob& job, WebConfig config);
  // Never throws: failures become JSON error responses with a fitting status.
  Response handle(const Request& request) const;

 private:
  Response route(const Request& request, const std::string& path) const;
  Response startScan(const Request& request) const;
  Response resumeScan(const Request& request) const;
  Response results(const Request& request) const;
  Response history(const Request& request) const;
  Response reportFile(const Request& request, const std::string& id, const std::string& file) const;
  Response liveImage(const Request& request) const;

  ScanJob& job_;
  WebConfig config_;
};

// The JSON error answer {"error": message} with the request's HTTP version and keep-alive.
Response errorResponse(const Request& request, http::status status, const std::string& message);

// The scan settings of a start request's JSON body on top of the defaults; throws
// std::invalid_argument naming the field that is unknown, of the wrong type or out of range.
ScanJobSettings parseStartRequest(const std::string& body, const ScanJobSettings& defaults);

}  // namespace polscan::web
