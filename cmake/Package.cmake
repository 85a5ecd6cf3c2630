# Install rules and the CMake package config, so that another project can
# write find_package(bpfsign) and link bpfsign::bpfsign.
include(CMakePackageConfigHelpers)

install(TARGETS bpfsign bpfsign_flags EXPORT bpfsignTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
  RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS bpfsign_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/src/bpfsign
  DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
  FILES_MATCHING PATTERN "*.hpp" PATTERN "reader_context.hpp" EXCLUDE PATTERN "strict_json.hpp" EXCLUDE)
install(EXPORT bpfsignTargets NAMESPACE bpfsign::
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfsign)

configure_package_config_file(cmake/bpfsignConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/bpfsignConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfsign)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/bpfsignConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/bpfsignConfig.cmake
  ${CMAKE_CURRENT_BINARY_DIR}/bpfsignConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/bpfsign)
