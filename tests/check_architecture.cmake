# The layering rules of docs/ARCHITECTURE.md, checked by grep: run with -DROOT=<source dir>.
set(violations "")

# kernels/ is compute only: no MPI, no HDF5.
file(GLOB_RECURSE kernel_files ${ROOT}/kernels/*.hpp ${ROOT}/kernels/*.cpp)
foreach(file IN LISTS kernel_files)
  file(STRINGS ${file} hits REGEX "#include [<\"](mpi\\.h|hdf5\\.h|H5[A-Za-z]*\\.h|h5infer/(mpi|h5)/)")
  if(hits)
    list(APPEND violations "${file}: kernels must not include MPI or HDF5: ${hits}")
  endif()
endforeach()

# Only kernels/onednn/ includes oneDNN.
file(GLOB_RECURSE all_sources ${ROOT}/src/*.[hc]pp ${ROOT}/include/*.hpp ${ROOT}/kernels/*.[hc]pp)
foreach(file IN LISTS all_sources)
  file(STRINGS ${file} hits REGEX "#include [<\"](oneapi/)?dnnl")
  if(hits AND NOT file MATCHES "/kernels/onednn/")
    list(APPEND violations "${file}: only kernels/onednn/ may include oneDNN")
  endif()
  # Only the wrappers call the C APIs.
  file(STRINGS ${file} calls REGEX "(^|[^_A-Za-z])(MPI_[A-Z][a-z_]+|H5[A-Z][a-z]*[a-z_0-9]+)\\(")
  if(calls AND NOT file MATCHES "/(mpi|h5)/" AND NOT file MATCHES "/main\\.cpp$")
    list(APPEND violations "${file}: only src/mpi and src/h5 may call MPI_* or H5*: ${calls}")
  endif()
endforeach()

if(violations)
  string(REPLACE ";" "\n" text "${violations}")
  message(FATAL_ERROR "architecture check failed:\n${text}")
endif()
message(STATUS "architecture check passed: ${ROOT}")
