// Frame pairing: one frame per trigger; missing, extra and late frames are named errors.
#include <gtest/gtest.h>

#include "acquisition/frame_pairing.hpp"

using namespace polscan;

namespace {
std::vector<TriggerEvent> triggers(int n) {
  std::vector<TriggerEvent> t;
  for (int i = 0; i < n; ++i) {
    TriggerEvent ev;
    ev.trigger.set_frame_index(static_cast<std::uint32_t>(i));
    ev.trigger.set_commanded_angle_deg(22.5 * i);
    ev.trigger.set_measured_angle_deg(22.5 * i + 0.01);
    ev.host_time_s = 10.0 + 0.02 * i;
    t.push_back(ev);
  }
  return t;
}

std::vector<Frame> frames(const std::vector<std::uint64_t>& seqs) {
  std::vector<Frame> f;
  for (std::size_t i = 0; i < seqs.size(); ++i) {
    Frame fr;
    fr.image = cv::Mat(2, 2, CV_16UC1, cv::Scalar(static_cast<double>(i)));
    fr.sequence = seqs[i];
    fr.host_time_s = 10.0 + 0.02 * static_cast<double>(i) + 0.001;
    f.push_back(fr);
  }
  return f;
}

std::string errorOf(const std::vector<TriggerEvent>& t, const std::vector<Frame>& f) {
  try {
    pairFrames(t, f);
  } catch (const PairingError& e) {
    return e.what();
  }
  return "";
}
}  // namespace

TEST(FramePairing, PairsInOrderWithTheTriggersAngles) {
  const auto paired = pairFrames(triggers(4), frames({500, 501, 502, 503}));
  ASSERT_EQ(paired.size(), 4u);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(paired[i].frame.sequence, 500u + i);
    EXPECT_DOUBLE_EQ(paired[i].trigger.trigger.commanded_angle_deg(), 22.5 * i);
    EXPECT_EQ(paired[i].frame.image.at<std::uint16_t>(0, 0), i);
  }
}

TEST(FramePairing, AGapInTheCameraCounterNamesTheFrameThatLostItsImage) {
  // Frame for trigger 2 never arrived; the camera counter skipped 502.
  const std::string e = errorOf(triggers(4), frames({500, 501, 503}));
  EXPECT_NE(e.find("missing frame"), std::string::npos) << e;
  EXPECT_NE(e.find("frame 2 (commanded 45 deg)"), std::string::npos) << e;
  EXPECT_NE(e.find("501 to 503"), std::string::npos) << e;
}

TEST(FramePairing, LastFrameMissingIsNamed) {
  const std::string e = errorOf(triggers(4), frames({500, 501, 502}));
  EXPECT_NE(e.find("frame 3 (commanded 67.5 deg)"), std::string::npos) << e;
}

TEST(FramePairing, ExtraFrameIsAnError) {
  const std::string e = errorOf(triggers(3), frames({500, 501, 502, 503}));
  EXPECT_NE(e.find("extra frame"), std::string::npos) << e;
  EXPECT_NE(e.find("503"), std::string::npos) << e;
  const std::string dup = errorOf(triggers(3), frames({500, 501, 501}));
  EXPECT_NE(dup.find("delivered twice"), std::string::npos) << dup;
}

TEST(FramePairing, AFrameFarFromItsTriggerIsRefused) {
  auto f = frames({500, 501, 502});
  f[1].host_time_s += 2.0;  // a stale or late frame would carry the wrong angle
  const std::string e = errorOf(triggers(3), f);
  EXPECT_NE(e.find("frame timing"), std::string::npos) << e;
  EXPECT_NE(e.find("frame 1"), std::string::npos) << e;
}

TEST(FramePairing, TriggerEventsOutOfOrderAreRefused) {
  auto t = triggers(3);
  std::swap(t[0], t[1]);
  EXPECT_NE(errorOf(t, frames({1, 2, 3})).find("out of order"), std::string::npos);
}
