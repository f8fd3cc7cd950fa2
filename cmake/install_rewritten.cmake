# Run while installing (install(CODE) of h5infer_install_rewritten() in cmake/Packaging.cmake):
# writes H5INFER_SOURCE with H5INFER_FROM replaced by H5INFER_TO, in which @BINDIR@ and @DOCDIR@
# become the installed directories under the prefix of this installation, then installs it into
# H5INFER_DESTINATION as a program.
foreach(directory BINDIR DOCDIR)
  set(path "${H5INFER_${directory}}")
  if(NOT IS_ABSOLUTE "${path}")
    set(path "${CMAKE_INSTALL_PREFIX}/${path}")
  endif()
  string(REPLACE "@${directory}@" "${path}" H5INFER_TO "${H5INFER_TO}")
endforeach()

file(READ "${H5INFER_SOURCE}" text)
string(FIND "${text}" "${H5INFER_FROM}" found)
if(found EQUAL -1)
  message(FATAL_ERROR "${H5INFER_SOURCE} no longer contains '${H5INFER_FROM}', the text "
                      "cmake/Packaging.cmake replaces with the installed path")
endif()
string(REPLACE "${H5INFER_FROM}" "${H5INFER_TO}" text "${text}")
get_filename_component(name "${H5INFER_SOURCE}" NAME)
# A folder of its own: cpack and cmake --install may run at the same time, for other prefixes.
string(RANDOM LENGTH 12 staging)
set(staging "${H5INFER_STAGING}/${staging}")
file(WRITE "${staging}/${name}" "${text}")

set(destination "${H5INFER_DESTINATION}")
if(NOT IS_ABSOLUTE "${destination}")
  set(destination "${CMAKE_INSTALL_PREFIX}/${destination}")
endif()
file(INSTALL DESTINATION "${destination}" TYPE PROGRAM FILES "${staging}/${name}")
file(REMOVE_RECURSE "${staging}")
