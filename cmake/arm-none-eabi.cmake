# Toolchain file: bare-metal Cortex-M4F (STM32F405) with Debian's gcc-arm-none-eabi and newlib-nano.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

find_program(POLSCAN_ARM_GCC arm-none-eabi-gcc)
if(NOT POLSCAN_ARM_GCC)
  message(FATAL_ERROR "arm-none-eabi-gcc not found. Install the Debian packages gcc-arm-none-eabi "
                      "libnewlib-arm-none-eabi libstdc++-arm-none-eabi-newlib (scripts/packages.txt).")
endif()
get_filename_component(_polscan_arm_bin ${POLSCAN_ARM_GCC} DIRECTORY)

set(CMAKE_C_COMPILER ${_polscan_arm_bin}/arm-none-eabi-gcc)
set(CMAKE_CXX_COMPILER ${_polscan_arm_bin}/arm-none-eabi-g++)
set(CMAKE_ASM_COMPILER ${_polscan_arm_bin}/arm-none-eabi-gcc)
set(CMAKE_OBJCOPY ${_polscan_arm_bin}/arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE ${_polscan_arm_bin}/arm-none-eabi-size CACHE FILEPATH "")
set(CMAKE_NM ${_polscan_arm_bin}/arm-none-eabi-nm CACHE FILEPATH "")

# Compiler checks cannot link a bare-metal program without our start-up code.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

set(_polscan_cpu "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
set(CMAKE_C_FLAGS_INIT "${_polscan_cpu} -ffunction-sections -fdata-sections")
set(CMAKE_CXX_FLAGS_INIT
    "${_polscan_cpu} -ffunction-sections -fdata-sections -fno-exceptions -fno-rtti -fno-threadsafe-statics")
set(CMAKE_ASM_FLAGS_INIT "${_polscan_cpu}")
# Our own start-up code (no crt0), newlib-nano, unused sections dropped.
set(CMAKE_EXE_LINKER_FLAGS_INIT "--specs=nano.specs -nostartfiles -Wl,--gc-sections")

# Only the cross toolchain's own headers and libraries: never the host's /usr/include.
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
