// `polscan calibrate`: placeholder while the calibration library is written.
#include "app/commands.hpp"

namespace polscan {
void addCalibrateCommand(CLI::App&, GlobalOptions&) {}
}  // namespace polscan
