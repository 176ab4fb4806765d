// polscan: command-line entry point of the host software.
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <exception>
#include <iostream>

#include "app/commands.hpp"

int main(int argc, char** argv) {
  CLI::App app{
      "polscan: automated polarized-light microscope for crystals in synovial fluid and urine.\n"
      "Drives the instrument (or its firmware simulator and virtual slide), acquires image "
      "stacks over polarizer angles, reconstructs retardance and slow axis, finds and names "
      "crystals (CPPD, MSU, calcium oxalate, ...) and writes report.json."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print the help of every subcommand with its options");
  polscan::GlobalOptions global;
  app.add_flag("-v,--verbose", global.verbose, "Log every protocol message to stderr")
      ->trigger_on_parse();
  app.add_option("-d,--device", global.device,
                 "Instrument: 'sim' starts the firmware simulator; or usb, usb:SERIAL, "
                 "serial:/dev/ttyACM0, a "
                 "device path, tcp:HOST:PORT")
      ->capture_default_str();
  app.add_option("--camera", global.camera,
                 "Camera: 'virtual' renders the virtual slide for each trigger; uvc:INDEX, "
                 "uvc:/dev/videoN or uvc:FILE (UVC/V4L2, or a recorded video / image sequence, "
                 "software-timed); replay:DIR (a stack folder played back); aravis[:ID] "
                 "(GenICam, hardware-triggered)")
      ->capture_default_str();
  app.add_option("--camera-trigger", global.camera_trigger,
                 "Aravis cameras: FrameStart trigger source wired to the firmware's trigger "
                 "output (Line1 on most cameras; Software fires it from the trigger events)")
      ->capture_default_str();
  polscan::addDeviceCommands(app, global);
  polscan::addAcquireCommand(app, global);
  polscan::addAnalyzeCommand(app, global);
  polscan::addDemoCommand(app, global);
  polscan::addSlideCommands(app, global);
  polscan::addEvalCommand(app, global);
  polscan::addScanCommand(app, global);
  polscan::addCameraCommands(app, global);
  polscan::addCalibrateCommand(app, global);
  polscan::addHistoryCommand(app, global);
  polscan::addServeCommand(app, global);

  auto logger = spdlog::stderr_color_mt("polscan");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("[%H:%M:%S.%e] [%^%l%$] %v");
  spdlog::set_level(spdlog::level::info);
  app.parse_complete_callback([&] {
    if (global.verbose) spdlog::set_level(spdlog::level::debug);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const std::exception& e) {
    std::cerr << "polscan: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
