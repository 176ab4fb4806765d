# Fetches the nanopb 0.4.7 runtime sources (pb_*.c/h) for the Cortex-M build into the build tree,
# from Debian's source package (apt verifies it against the signed archive index). Debian's
# libnanopb-dev only has an x86-64 library built with PB_ENABLE_MALLOC, so the image compiles the
# runtime itself. Sets POLSCAN_NANOPB_RUNTIME_DIR. Never touches the system's apt configuration.
set(_nanopb_version 0.4.7)
set(_dest ${CMAKE_BINARY_DIR}/_deps/nanopb-${_nanopb_version})
set(POLSCAN_NANOPB_TARBALL "" CACHE FILEPATH
    "nanopb_${_nanopb_version}.orig.tar.gz to use instead of downloading (offline builds)")

if(NOT EXISTS ${_dest}/pb_encode.c)
  set(_work ${CMAKE_BINARY_DIR}/_deps/nanopb-src-fetch)
  set(_tarball ${POLSCAN_NANOPB_TARBALL})
  if(NOT _tarball)
    set(_tarball ${_work}/nanopb_${_nanopb_version}.orig.tar.gz)
  endif()
  if(NOT EXISTS ${_tarball})
    message(STATUS "nanopb: fetching the ${_nanopb_version} runtime sources from Debian's source package")
    find_program(_apt_get apt-get)
    if(NOT _apt_get OR NOT EXISTS /etc/apt/sources.list.d/debian.sources)
      message(FATAL_ERROR "nanopb: cannot fetch the runtime sources (needs apt-get and "
                          "/etc/apt/sources.list.d/debian.sources). Download "
                          "nanopb_${_nanopb_version}.orig.tar.gz and pass -DPOLSCAN_NANOPB_TARBALL=<file>.")
    endif()
    file(REMOVE_RECURSE ${_work})
    file(MAKE_DIRECTORY ${_work}/lists/partial)
    # The system's binary sources, turned into source-package sources in a private apt state.
    file(READ /etc/apt/sources.list.d/debian.sources _sources)
    string(REGEX REPLACE "Types: deb(\n|$)" "Types: deb-src\\1" _sources "${_sources}")
    file(WRITE ${_work}/src.sources "${_sources}")
    set(_apt_opts -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=${_work}
                  -o Dir::State::Lists=${_work}/lists)
    execute_process(COMMAND ${_apt_get} ${_apt_opts} update
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    if(_rc EQUAL 0)
      execute_process(COMMAND ${_apt_get} ${_apt_opts} source --download-only nanopb
                      WORKING_DIRECTORY ${_work}
                      RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
    endif()
    if(NOT _rc EQUAL 0 OR NOT EXISTS ${_tarball})
      message(FATAL_ERROR "nanopb: could not download Debian's nanopb ${_nanopb_version} source "
                          "package (offline?).\n${_err}\nWith the file at hand, configure with "
                          "-DPOLSCAN_NANOPB_TARBALL=/path/to/nanopb_${_nanopb_version}.orig.tar.gz.")
    endif()
  endif()
  file(ARCHIVE_EXTRACT INPUT ${_tarball} DESTINATION ${_work}/x
       PATTERNS "*/pb.h" "*/pb_common.h" "*/pb_common.c" "*/pb_decode.h" "*/pb_decode.c"
                "*/pb_encode.h" "*/pb_encode.c" "*/LICENSE.txt")
  file(GLOB _top LIST_DIRECTORIES true ${_work}/x/*)
  list(LENGTH _top _n)
  if(NOT _n EQUAL 1 OR NOT EXISTS ${_top}/pb_encode.c)
    message(FATAL_ERROR "nanopb: ${_tarball} does not hold the expected runtime sources")
  endif()
  file(GLOB _files ${_top}/pb*.[ch] ${_top}/LICENSE.txt)
  file(MAKE_DIRECTORY ${_dest})
  file(COPY ${_files} DESTINATION ${_dest})
  file(REMOVE_RECURSE ${_work}/x)
endif()
set(POLSCAN_NANOPB_RUNTIME_DIR ${_dest} CACHE INTERNAL "nanopb runtime sources for the firmware image")
