// The polscan subcommands: each registers its options on the CLI and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace polscan {

struct GlobalOptions {
  bool verbose = false;
  std::string device = "sim";
  std::string camera = "virtual";        // --camera: virtual, uvc:..., replay:DIR, aravis[:ID]
  std::string camera_trigger = "Line1";  // --camera-trigger: Aravis FrameStart trigger source
};

void addDeviceCommands(CLI::App& app, GlobalOptions& global);
void addAcquireCommand(CLI::App& app, GlobalOptions& global);
void addAnalyzeCommand(CLI::App& app, GlobalOptions& global);
void addDemoCommand(CLI::App& app, GlobalOptions& global);
void addSlideCommands(CLI::App& app, GlobalOptions& global);
void addEvalCommand(CLI::App& app, GlobalOptions& global);
void addScanCommand(CLI::App& app, GlobalOptions& global);
void addCameraCommands(CLI::App& app, GlobalOptions& global);
void addCalibrateCommand(CLI::App& app, GlobalOptions& global);
void addHistoryCommand(CLI::App& app, GlobalOptions& global);
void addServeCommand(CLI::App& app, GlobalOptions& global);

}  // namespace polscan
