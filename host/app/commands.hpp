// The polscan subcommands: each registers its options on the CLI and runs when chosen.
#pragma once

#include <CLI/CLI.hpp>

namespace polscan {

struct GlobalOptions {
  bool verbose = false;
  std::string device = "sim";
};

void addDeviceCommands(CLI::App& app, GlobalOptions& global);
void addAcquireCommand(CLI::App& app, GlobalOptions& global);
void addAnalyzeCommand(CLI::App& app, GlobalOptions& global);
void addDemoCommand(CLI::App& app, GlobalOptions& global);
void addSlideCommands(CLI::App& app, GlobalOptions& global);
void addEvalCommand(CLI::App& app, GlobalOptions& global);
void addHistoryCommand(CLI::App& app, GlobalOptions& global);

}  // namespace polscan
