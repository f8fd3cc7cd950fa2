# libh5infer.so (the target h5infer_library, src/CMakeLists.txt): what it needs of the static
# libraries, and its installation as a relocatable package: headers, the library, a CMake
# package (find_package(h5infer), target h5infer::h5infer) and a pkg-config file. The binary,
# the docs and the .deb are cmake/Packaging.cmake's.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# The static libraries are linked into the shared one, so they are position-independent code.
# -fno-semantic-interposition keeps the calls between their functions direct and inlinable, as
# in the executable before: nothing outside may replace them (the library exports none of them).
foreach(target h5infer_model h5infer_kernels h5infer_core)
  set_target_properties(${target} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_compile_options(${target} PRIVATE -fno-semantic-interposition)
endforeach()

set(H5INFER_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/h5infer)
install(TARGETS h5infer_library EXPORT h5infer-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# predictor.hpp includes error.hpp (the errors it throws), and nothing else of h5infer's.
install(FILES ${PROJECT_SOURCE_DIR}/include/h5infer/h5infer.h
              ${PROJECT_SOURCE_DIR}/include/h5infer/predictor.hpp
              ${PROJECT_SOURCE_DIR}/include/h5infer/error.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/h5infer)
install(EXPORT h5infer-targets NAMESPACE h5infer:: DESTINATION ${H5INFER_CMAKE_DIR})

# Both files find everything relative to where they are: PACKAGE_PREFIX_DIR and ${pcfiledir}.
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/h5infer-config.cmake.in
                              ${PROJECT_BINARY_DIR}/h5infer-config.cmake
                              INSTALL_DESTINATION ${H5INFER_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/h5infer-config-version.cmake
                                 VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/h5infer-config.cmake
              ${PROJECT_BINARY_DIR}/h5infer-config-version.cmake
        DESTINATION ${H5INFER_CMAKE_DIR})

# The prefix seen from <libdir>/pkgconfig: "../.." for lib, "../../.." for lib/<multiarch>.
file(RELATIVE_PATH H5INFER_PC_TO_PREFIX /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
string(REGEX REPLACE "/$" "" H5INFER_PC_TO_PREFIX "${H5INFER_PC_TO_PREFIX}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/h5infer.pc.in ${PROJECT_BINARY_DIR}/h5infer.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/h5infer.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
