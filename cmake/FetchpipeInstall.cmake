# The installed package: one CMake export file per component (see fetchpipe_add_library), the
# package config that loads what find_package asks for, and a pkg-config file.
include(CMakePackageConfigHelpers)
set(config_dir ${CMAKE_INSTALL_LIBDIR}/cmake/fetchpipe)
install(EXPORT fetchpipeTargets NAMESPACE fetchpipe:: DESTINATION ${config_dir})
get_property(FETCHPIPE_COMPONENTS GLOBAL PROPERTY FETCHPIPE_COMPONENTS)
foreach(component IN LISTS FETCHPIPE_COMPONENTS ITEMS umbrella)
  install(EXPORT fetchpipe_${component}Targets NAMESPACE fetchpipe:: DESTINATION ${config_dir}
    FILE fetchpipe-${component}-targets.cmake)
endforeach()
# What the defaults library links (the config loads that transport's component with it).
if(TARGET fetchpipe_defaults)
  get_target_property(FETCHPIPE_DEFAULTS_NEEDS fetchpipe_defaults INTERFACE_LINK_LIBRARIES)
  list(FILTER FETCHPIPE_DEFAULTS_NEEDS INCLUDE REGEX "^fetchpipe_(curl|httplib)$")
  list(TRANSFORM FETCHPIPE_DEFAULTS_NEEDS REPLACE "^fetchpipe_" "")
endif()
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/fetchpipeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfig.cmake
  INSTALL_DESTINATION ${config_dir})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfigVersion.cmake
  DESTINATION ${config_dir})

# pkg-config: everything of the umbrella target. Relocatable: the prefix is found from the .pc
# file's own place, so `cmake --install --prefix` anywhere works.
file(RELATIVE_PATH FETCHPIPE_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" FETCHPIPE_PC_TO_PREFIX "${FETCHPIPE_PC_TO_PREFIX}")
set(FETCHPIPE_PC_LIBS "")
foreach(lib fetchpipe_defaults fetchpipe_curl fetchpipe_httplib fetchpipe_memory fetchpipe_policies fetchpipe_framework)
  if(TARGET ${lib})
    string(APPEND FETCHPIPE_PC_LIBS " -l${lib}")
  endif()
endforeach()
set(FETCHPIPE_PC_REQUIRES_FIELD Requires)
if(BUILD_SHARED_LIBS)
  set(FETCHPIPE_PC_REQUIRES_FIELD Requires.private)
endif()
configure_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/fetchpipe.pc.in ${CMAKE_CURRENT_BINARY_DIR}/fetchpipe.pc @ONLY)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fetchpipe.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
