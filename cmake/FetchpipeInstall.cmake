include(CMakePackageConfigHelpers)
install(EXPORT fetchpipeTargets NAMESPACE fetchpipe:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fetchpipe)
configure_package_config_file(${CMAKE_CURRENT_SOURCE_DIR}/cmake/fetchpipeConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fetchpipe)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/fetchpipeConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/fetchpipe)
