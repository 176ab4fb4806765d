// Bounded text builder for reply and fault messages (no printf: keeps libc's heap out).
#pragma once

#include <cstddef>
#include <cstdint>

namespace polscan::fw {

// Appends into a caller's char array, always NUL-terminated, silently cut at the end: a short
// message is better than none.
class Text {
 public:
  Text(char* buf, std::size_t cap) : buf_(buf), cap_(cap) {
    if (cap_ > 0) buf_[0] = '\0';
  }
  Text& add(const char* s);
  Text& add(std::int64_t v);
  // Fixed-point decimal with `decimals` digits after the point (0..6).
  Text& add(double v, int decimals);
  const char* str() const { return buf_; }

 private:
  void put(char c);

  char* buf_;
  std::size_t cap_;
  std::size_t len_ = 0;
};

}  // namespace polscan::fw
