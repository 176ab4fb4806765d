// Dispatch between the stack formats by the path's name.
#include "io/stack_file.hpp"

#include <algorithm>

#include "io/stack_folder.hpp"

namespace polscan {

namespace fs = std::filesystem;

StackFileFormat stackFormatOf(const fs::path& path) {
  return isOmeTiffPath(path) ? StackFileFormat::OmeTiff : StackFileFormat::Folder;
}

StackFileFormat stackFormatFromName(const std::string& name) {
  if (name == "folder") return StackFileFormat::Folder;
  if (name == "ome-tiff") return StackFileFormat::OmeTiff;
  throw StackFormatError("unknown stack format \"" + name + "\" (folder, ome-tiff)");
}

Stack readStack(const fs::path& path) {
  return stackFormatOf(path) == StackFileFormat::OmeTiff ? readOmeTiffStack(path)
                                                         : readStackFolder(path);
}

void writeStack(const Stack& stack, const fs::path& path, StackFileFormat format,
                const OmeInstrument& instrument) {
  if (format == StackFileFormat::OmeTiff) {
    writeOmeTiffStack(stack, path, instrument);
  } else {
    writeStackFolder(stack, path);
  }
}

std::vector<fs::path> findStacks(const fs::path& path) {
  if (isOmeTiffPath(path) && fs::is_regular_file(path)) return {path};
  if (!fs::is_directory(path)) {
    throw StackFormatError(path.string() + ": no such folder or OME-TIFF file");
  }
  if (fs::exists(path / "stack.json")) return {path};
  std::vector<fs::path> found;
  for (const auto& entry : fs::directory_iterator(path)) {
    if ((entry.is_directory() && fs::exists(entry.path() / "stack.json")) ||
        (entry.is_regular_file() && isOmeTiffPath(entry.path()) &&
         !isOmeTiffMosaic(entry.path()))) {
      found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  if (found.empty()) {
    throw StackFormatError(path.string() +
                           ": no stack.json or .ome.tif file here or in its sub-folders");
  }
  return found;
}

}  // namespace polscan
