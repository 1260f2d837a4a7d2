# Warnings and sanitizers for fetchpipe's own targets (not for the system libraries it uses).
add_library(fetchpipe_warnings INTERFACE)
target_compile_options(fetchpipe_warnings INTERFACE -Wall -Wextra -Wpedantic
  $<$<BOOL:${FETCHPIPE_WERROR}>:-Werror>)

if(FETCHPIPE_SANITIZER STREQUAL "asan")
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
elseif(FETCHPIPE_SANITIZER STREQUAL "tsan")
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
elseif(NOT FETCHPIPE_SANITIZER STREQUAL "")
  message(FATAL_ERROR "FETCHPIPE_SANITIZER must be '', 'asan' or 'tsan', not '${FETCHPIPE_SANITIZER}'")
endif()

# fetchpipe_add_library(<name> <export-name> SOURCES ... [DEPS ...] [COMPONENT <c>]) — one library
# with its public headers under <dir>/include and an alias fetchpipe::<export-name>. Static or
# shared as BUILD_SHARED_LIBS says; a shared one carries VERSION and SOVERSION (0.x: major.minor,
# since any minor release may change the ABI). Without COMPONENT it belongs to the core export set
# (always loaded by find_package); with one, to that component's set, loaded only when asked for
# (so a curl-only consumer never needs cpp-httplib).
function(fetchpipe_add_library name export_name)
  cmake_parse_arguments(ARG "" "COMPONENT" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} ${ARG_SOURCES})
  add_library(fetchpipe::${export_name} ALIAS ${name})
  set_target_properties(${name} PROPERTIES EXPORT_NAME ${export_name} OUTPUT_NAME ${name}
    POSITION_INDEPENDENT_CODE ON
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  set(export_set fetchpipeTargets)
  if(ARG_COMPONENT)
    set(export_set fetchpipe_${ARG_COMPONENT}Targets)
    set_property(GLOBAL APPEND PROPERTY FETCHPIPE_COMPONENTS ${ARG_COMPONENT})
  endif()
  target_include_directories(${name} PUBLIC
    $<BUILD_INTERFACE:${CMAKE_CURRENT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_link_libraries(${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS}
    $<BUILD_INTERFACE:fetchpipe_warnings>)
  install(TARGETS ${name} EXPORT ${export_set}
    ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
    LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
    RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/include/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
endfunction()

# fetchpipe_add_test(<name> SOURCES ... [DEPS ...] [LABELS ...]) — a GoogleTest binary whose tests
# are registered one by one with ctest.
function(fetchpipe_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main
    fetchpipe_warnings)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests/support)
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60
    PROPERTIES TIMEOUT ${ARG_TIMEOUT} LABELS "${ARG_LABELS}")
endfunction()
