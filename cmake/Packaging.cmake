# Installing h5infer (cmake --install) and its Debian package (cpack -G DEB), in the GNU
# directories: the binary and the scikit-learn exporter in bin, h5infer(1) in share/man/man1,
# the bash completion in share/bash-completion/completions, README.md and docs/ in
# share/doc/h5infer, the Slurm scripts in share/h5infer/slurm. Included by the top-level CMakeLists.txt after the
# subdirectories. Every rule installs into the default component, so the package holds whatever
# any install() rule of the project installs.
include(GNUInstallDirs)

find_program(HELP2MAN help2man)
if(NOT HELP2MAN)
  message(FATAL_ERROR "h5infer(1) is generated with help2man, which is missing. Install it with: "
                      "apt-get install help2man (or run scripts/bootstrap.sh).")
endif()

# h5infer(1) and the bash completion, from the built binary's --help, so neither can drift from it.
set(h5infer_share ${PROJECT_BINARY_DIR}/share)
file(MAKE_DIRECTORY ${h5infer_share})
set(h5infer_man_help ${PROJECT_SOURCE_DIR}/cmake/man_help.sh)
add_custom_command(
  OUTPUT ${h5infer_share}/h5infer.1
  # help2man ignores a failing --help: run the view once where a failure stops the build.
  COMMAND ${CMAKE_COMMAND} -E env H5INFER=$<TARGET_FILE:h5infer> ${h5infer_man_help} --help
          > ${h5infer_share}/h5infer.help
  COMMAND ${CMAKE_COMMAND} -E env H5INFER=$<TARGET_FILE:h5infer> ${HELP2MAN} --no-info
          --name "batch inference of dense models over HDF5 datasets on MPI ranks"
          --include ${PROJECT_SOURCE_DIR}/cmake/h5infer.h2m
          --output ${h5infer_share}/h5infer.1 ${h5infer_man_help}
  DEPENDS h5infer ${h5infer_man_help} ${PROJECT_SOURCE_DIR}/cmake/h5infer.h2m
  COMMENT "Generating h5infer(1) from h5infer --help"
  VERBATIM)
add_custom_command(
  OUTPUT ${h5infer_share}/h5infer.bash
  COMMAND ${CMAKE_COMMAND} -DH5INFER=$<TARGET_FILE:h5infer>
          -DTEMPLATE=${PROJECT_SOURCE_DIR}/cmake/h5infer-completion.bash.in
          -DOUTPUT=${h5infer_share}/h5infer.bash
          -P ${PROJECT_SOURCE_DIR}/cmake/generate_completion.cmake
  DEPENDS h5infer ${PROJECT_SOURCE_DIR}/cmake/generate_completion.cmake
          ${PROJECT_SOURCE_DIR}/cmake/help_options.cmake
          ${PROJECT_SOURCE_DIR}/cmake/h5infer-completion.bash.in
  COMMENT "Generating the bash completion of h5infer from h5infer --help"
  VERBATIM)
add_custom_target(h5infer_help_files ALL
                  DEPENDS ${h5infer_share}/h5infer.1 ${h5infer_share}/h5infer.bash)

install(TARGETS h5infer RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES ${h5infer_share}/h5infer.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${h5infer_share}/h5infer.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME h5infer)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
# docs/ keeps its folder, so the README's links (docs/cli.md, ...) still lead somewhere.
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
install(FILES slurm/README.md slurm/crontab.example
        DESTINATION ${CMAKE_INSTALL_DATADIR}/h5infer/slurm)

# h5infer_install_rewritten(SOURCE DESTINATION FROM TO): installs the script SOURCE into
# DESTINATION with the text FROM replaced by TO, in which @BINDIR@ and @DOCDIR@ stand for the
# installed directories. The prefix is known only when installing (cmake --install --prefix,
# cpack), so the text is written then, by cmake/install_rewritten.cmake.
function(h5infer_install_rewritten source destination from to)
  install(CODE "
    set(H5INFER_SOURCE [[${PROJECT_SOURCE_DIR}/${source}]])
    set(H5INFER_DESTINATION [[${destination}]])
    set(H5INFER_FROM [[${from}]])
    set(H5INFER_TO [[${to}]])
    set(H5INFER_BINDIR [[${CMAKE_INSTALL_BINDIR}]])
    set(H5INFER_DOCDIR [[${CMAKE_INSTALL_DOCDIR}]])
    set(H5INFER_STAGING [[${PROJECT_BINARY_DIR}/install-rewritten]])
    include([[${PROJECT_SOURCE_DIR}/cmake/install_rewritten.cmake]])")
endfunction()

# The exporter names the installed docs in its messages.
h5infer_install_rewritten(tools/h5infer-export-sklearn ${CMAKE_INSTALL_BINDIR}
                          [[DOCS = "docs"]] [[DOCS = "@DOCDIR@/docs"]])
# sbatch copies a script before running it, so an installed script cannot find the binary
# relative to itself: it names the installed binary.
foreach(script h5infer.sbatch h5infer-array.sbatch h5infer-every.sbatch)
  h5infer_install_rewritten(slurm/${script} ${CMAKE_INSTALL_DATADIR}/h5infer/slurm
                            [[${H5INFER:-h5infer}]] [[${H5INFER:-@BINDIR@/h5infer}]])
endforeach()

# The Debian package: cpack -G DEB in the build directory. dpkg-shlibdeps (dpkg-dev) computes
# the libraries' packages; the rest is what the scripts run.
set(CPACK_PACKAGE_NAME h5infer)
set(CPACK_PACKAGE_CONTACT "h5infer maintainers")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY
    "batch inference of dense models over HDF5 datasets on MPI ranks")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
    "h5infer pushes every row of an HDF5 dataset through a trained dense model (an MLP, a\n"
    "logistic or linear model, with its scalers) on many MPI ranks, with oneDNN kernels and\n"
    "parallel HDF5, and writes one prediction file whose row i belongs to input row i. It reads\n"
    "its own HDF5 model format and ONNX; h5infer-export-sklearn converts scikit-learn models.")
set(CPACK_GENERATOR DEB)
set(CPACK_STRIP_FILES ON)
# Install with DESTDIR and the final prefix, so that the rewritten scripts name /usr, not the
# staging directory.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION science)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# mpirun starts the ranks; python3 runs the exporter (bin/h5infer-export-sklearn).
set(CPACK_DEBIAN_PACKAGE_DEPENDS "openmpi-bin, python3")
# Only the exporter uses them, on the machine where the models are trained, and scikit-learn
# brings SciPy: recommended (apt installs them unless told not to), not required on the nodes.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "python3-sklearn, python3-joblib, python3-h5py, python3-numpy")
# The Slurm scripts (share/h5infer/slurm) and h5dump/h5diff to look at the predictions.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "slurm-client, hdf5-tools")
include(CPack)
