// Internals shared by the reconstruction paths (mono, RGB): message helpers, streamed row stores,
// flat-field gains and the entry points of the paths that live in their own files.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <opencv2/core.hpp>

#include "analysis/reconstruction.hpp"

namespace polscan::analysis::detail {

inline std::string sizeText(const cv::Mat& m) {
  return std::to_string(m.cols) + "x" + std::to_string(m.rows);
}

inline std::string typeText(int type) {
  // typeToString would do but its spelling differs between OpenCV versions; keep ours stable.
  static const char* depths[] = {"8U", "8S", "16U", "16S", "32S", "32F", "64F", "16F"};
  return std::string("CV_") + depths[CV_MAT_DEPTH(type)] + "C" + std::to_string(CV_MAT_CN(type));
}

// Copies a finished row to its output with non-temporal stores. The outputs are write-only in this
// pass and ordinary stores would first read every destination line (read-for-ownership): a third
// more memory traffic on a pass that is memory-bound at 2048x2048. Callers fence (streamFence).
inline void streamRow(void* dst, const void* src, std::size_t bytes) {
#if defined(__SSE2__)
  auto* d = static_cast<char*>(dst);
  const auto* s = static_cast<const char*>(src);
  const std::size_t head =
      std::min(bytes, (16 - (reinterpret_cast<std::uintptr_t>(d) & 15u)) & 15u);
  std::memcpy(d, s, head);
  d += head;
  s += head;
  bytes -= head;
  for (; bytes >= 16; bytes -= 16, d += 16, s += 16) {
    _mm_stream_si128(reinterpret_cast<__m128i*>(d),
                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(s)));
  }
  std::memcpy(d, s, bytes);
#else
  std::memcpy(dst, src, bytes);
#endif
}

// Streaming stores are weakly ordered: make them visible before the band reports completion.
inline void streamFence() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

// ReconstructionOptions::flat_field checked and turned into 1 / gain (CV_32F with the stack's
// channel count, mean gain 1 per channel); empty when no flat is set. Throws AnalysisError naming
// the size, type or first bad pixel.
cv::Mat inverseFlatGain(const cv::Mat& flat, cv::Size size, int channels);

// The RGB (three-wavelength) circular path; the stack and blank are validated already.
void reconstructRgbInto(const polscan::Stack& stack, const polscan::Stack* blank,
                        const ReconstructionOptions& options, const cv::Mat& inv_gain,
                        RetardanceMap& map);

// The compensated (red plate) path, mono or RGB; the stack and blank are validated already.
void reconstructCompensatedInto(const polscan::Stack& stack, const polscan::Stack* blank,
                                const ReconstructionOptions& options, const cv::Mat& inv_gain,
                                RetardanceMap& map);

// ReconstructionOptions::dark_frame checked against a frame (`what`: "stack" or "blank") and
// rounded to whole DN: CV_16U with the frame's channel count; empty without a dark frame. Throws
// AnalysisError naming its size or type. (The result may share a per-thread buffer.)
cv::Mat darkInWholeDn(const ReconstructionOptions& options, const cv::Mat& frame0,
                      const char* what);

// ReconstructionOptions::dark_offset_dn rounded to whole DN (and to the 16-bit range).
inline std::uint16_t darkOffsetInWholeDn(const ReconstructionOptions& options) {
  return static_cast<std::uint16_t>(std::clamp(std::lround(options.dark_offset_dn), 0L, 65535L));
}

// A copy of `stack` with ReconstructionOptions' calibration applied: the polarizer offset added to
// every angle, the dark frame (rounded to whole DN; or the uniform dark offset) subtracted and
// clamped at 0, into `buffers` (reused when the size matches; the result's frames point there).
// Frames are shared, not copied, when there is no dark. Throws AnalysisError naming the dark
// frame's size or type against the frames' (`what`: "stack" or "blank"). Used for RGB and
// compensated stacks; the mono pass subtracts the dark row by row instead.
polscan::Stack applyCameraCalibration(const polscan::Stack& stack,
                                      const ReconstructionOptions& options, const char* what,
                                      std::vector<cv::Mat>& buffers);

// ORs into `saturated` (CV_8U, the frames' size) every pixel at full scale in any raw frame.
void markRawSaturation(const polscan::Stack& stack, cv::Mat& saturated);

// Frames (with their angles) that hold saturated pixels, counted only where the map flags some.
void countSaturatedFrames(const polscan::Stack& stack, RetardanceMap& map);

}  // namespace polscan::analysis::detail
