// Text builder: integer and fixed-point formatting by hand.
#include "firmware/core/text.hpp"

namespace polscan::fw {

void Text::put(char c) {
  if (len_ + 1 >= cap_) return;
  buf_[len_++] = c;
  buf_[len_] = '\0';
}

Text& Text::add(const char* s) {
  if (s == nullptr) return *this;
  while (*s != '\0') put(*s++);
  return *this;
}

Text& Text::add(std::int64_t v) {
  std::uint64_t u =
      v < 0 ? static_cast<std::uint64_t>(-(v + 1)) + 1 : static_cast<std::uint64_t>(v);
  if (v < 0) put('-');
  char digits[20];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (n > 0) put(digits[--n]);
  return *this;
}

Text& Text::add(double v, int decimals) {
  if (v != v) return add("nan");
  if (decimals < 0) decimals = 0;
  if (decimals > 6) decimals = 6;
  std::int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  const bool neg = v < 0;
  double a = neg ? -v : v;
  if (a > 1e15) return add(neg ? "-huge" : "huge");
  const auto scaled = static_cast<std::int64_t>(a * static_cast<double>(scale) + 0.5);
  if (neg && scaled != 0) put('-');
  add(scaled / scale);
  if (decimals > 0) {
    put('.');
    std::int64_t frac = scaled % scale;
    for (std::int64_t d = scale / 10; d > 0; d /= 10) {
      put(static_cast<char>('0' + frac / d));
      frac %= d;
    }
  }
  return *this;
}

}  // namespace polscan::fw
