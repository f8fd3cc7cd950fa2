# cmake/install_rewritten.cmake on its own: run with -DROOT=<source dir> -DWORK=<scratch folder>.
# A script holding the text installs with @BINDIR@ and @DOCDIR@ made paths under the prefix, as
# a program; a script without it stops the installation (exit code and message checked).
cmake_minimum_required(VERSION 3.22)
file(REMOVE_RECURSE ${WORK})
file(WRITE ${WORK}/good.sh "#!/bin/sh\nbinary=\${H5INFER:-h5infer}\n")
file(WRITE ${WORK}/stale.sh "#!/bin/sh\nbinary=h5infer\n")

# rewrite(SOURCE STATUS OUTPUT): installs SOURCE into WORK/prefix/libexec as the install code
# of h5infer_install_rewritten() does.
function(rewrite source status_variable output_variable)
  file(WRITE ${WORK}/install.cmake "
    set(CMAKE_INSTALL_PREFIX [[${WORK}/prefix]])
    set(H5INFER_SOURCE [[${source}]])
    set(H5INFER_DESTINATION libexec)
    set(H5INFER_FROM [[\${H5INFER:-h5infer}]])
    set(H5INFER_TO [[\${H5INFER:-@BINDIR@/h5infer}  # @DOCDIR@]])
    set(H5INFER_BINDIR bin)
    set(H5INFER_DOCDIR /opt/doc)
    set(H5INFER_STAGING [[${WORK}/staging]])
    include([[${ROOT}/cmake/install_rewritten.cmake]])")
  execute_process(COMMAND ${CMAKE_COMMAND} -P ${WORK}/install.cmake
                  RESULT_VARIABLE status OUTPUT_VARIABLE output ERROR_VARIABLE output)
  set(${status_variable} ${status} PARENT_SCOPE)
  set(${output_variable} "${output}" PARENT_SCOPE)
endfunction()

rewrite(${WORK}/good.sh status output)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "installing good.sh failed (${status}): ${output}")
endif()
file(READ ${WORK}/prefix/libexec/good.sh installed)
if(NOT installed STREQUAL "#!/bin/sh\nbinary=\${H5INFER:-${WORK}/prefix/bin/h5infer}  # /opt/doc\n")
  message(FATAL_ERROR "good.sh was installed as:\n${installed}")
endif()
file(GLOB left ${WORK}/staging/*)
if(NOT EXISTS ${WORK}/prefix/libexec/good.sh OR left)
  message(FATAL_ERROR "good.sh not installed, or staging files left: ${left}")
endif()
execute_process(COMMAND ${WORK}/prefix/libexec/good.sh RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "the installed good.sh does not run as a program (${status})")
endif()

rewrite(${WORK}/stale.sh status output)
# CMake wraps the message at spaces: match its parts.
if(status EQUAL 0 OR NOT output MATCHES "stale.sh[ \n]+no longer contains"
   OR NOT output MATCHES "'\\\${H5INFER:-h5infer}'")
  message(FATAL_ERROR "installing stale.sh: status ${status}, output:\n${output}")
endif()
if(EXISTS ${WORK}/prefix/libexec/stale.sh)
  message(FATAL_ERROR "stale.sh was installed")
endif()
file(REMOVE_RECURSE ${WORK})
message(STATUS "install_rewritten.cmake rewrites, installs programs, and refuses a stale script")
