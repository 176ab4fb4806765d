// Terminal progress line for long work: done / total, rate and time left.
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace polscan {

class Progress {
 public:
  Progress(std::string what, int total) : what_(std::move(what)), total_(total) {}

  // Prints "what  k/N  [#####.....]  12.3 s elapsed, ETA 4.1 s  detail" on one line.
  void update(int done, const std::string& detail = "") const {
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double eta = done > 0 ? elapsed / done * (total_ - done) : 0.0;
    constexpr int kWidth = 20;
    const int filled = total_ > 0 ? kWidth * done / total_ : kWidth;
    std::string bar(static_cast<std::size_t>(filled), '#');
    bar.resize(kWidth, '.');
    std::fprintf(stderr, "%s  %d/%d  [%s]  %.1f s elapsed, ETA %s  %s\n", what_.c_str(), done,
                 total_, bar.c_str(), elapsed,
                 done > 0 ? (std::to_string(static_cast<int>(eta + 0.5)) + " s").c_str() : "-",
                 detail.c_str());
  }

 private:
  std::string what_;
  int total_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace polscan
