// One entry point for stacks on disk, whatever their format: stack folders or OME-TIFF files.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "common/stack.hpp"
#include "io/ome_tiff.hpp"

namespace polscan {

enum class StackFileFormat { Folder, OmeTiff };

// OmeTiff for names ending in .ome.tif / .ome.tiff, else Folder.
StackFileFormat stackFormatOf(const std::filesystem::path& path);

// Parses "folder" / "ome-tiff"; throws StackFormatError listing the choices.
StackFileFormat stackFormatFromName(const std::string& name);

// Reads a stack folder or an OME-TIFF file (by the path's name). Throws StackFormatError.
Stack readStack(const std::filesystem::path& path);

// Writes in the given format; the OME-TIFF gets the instrument's description.
void writeStack(const Stack& stack, const std::filesystem::path& path, StackFileFormat format,
                const OmeInstrument& instrument = {});

// The stacks under path: path itself if it is an OME-TIFF file or holds stack.json, else the
// stack folders and .ome.tif stacks directly inside it (sorted by name; OME-TIFF mosaics are
// skipped). Throws StackFormatError
// naming the path when there are none.
std::vector<std::filesystem::path> findStacks(const std::filesystem::path& path);

}  // namespace polscan
