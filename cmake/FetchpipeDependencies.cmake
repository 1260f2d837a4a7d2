# Every dependency comes from a Debian 12 package (./dev deps installs them). Nothing is downloaded.
find_package(Threads REQUIRED)
find_package(fmt 9 REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)  # the fault server's /gzip endpoint
find_package(PkgConfig REQUIRED)
# Debian ships cpp-httplib as a compiled library; its pkg-config Cflags (OpenSSL, zlib, brotli
# support) must match how the .so was built, or class layouts differ.
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# Standalone Asio (header-only) is optional: <fetchpipe/asio.hpp> needs it, nothing else does. The
# tests, examples and doc examples that use the adapter are built when it is found.
find_path(FETCHPIPE_ASIO_INCLUDE_DIR asio.hpp)
if(FETCHPIPE_ASIO_INCLUDE_DIR)
  add_library(fetchpipe_asio_headers INTERFACE)
  target_include_directories(fetchpipe_asio_headers SYSTEM INTERFACE ${FETCHPIPE_ASIO_INCLUDE_DIR})
endif()
if(FETCHPIPE_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
if(FETCHPIPE_BUILD_BENCHMARKS)
  find_package(benchmark REQUIRED)
endif()
