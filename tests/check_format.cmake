# Fails when any C++ file differs from .clang-format: run with -DROOT=<dir> -DCLANG_FORMAT=<exe>.
file(GLOB_RECURSE files ${ROOT}/src/*.[hc]pp ${ROOT}/include/*.hpp ${ROOT}/kernels/*.[hc]pp
     ${ROOT}/tests/*.[hc]pp ${ROOT}/benchmarks/*.[hc]pp)
execute_process(COMMAND ${CLANG_FORMAT} --dry-run -Werror ${files}
                RESULT_VARIABLE status ERROR_VARIABLE diagnostics)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "clang-format: these files need formatting (run clang-format -i):\n"
                      "${diagnostics}")
endif()
