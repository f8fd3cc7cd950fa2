# h5infer_warnings: the warning flags every h5infer target builds with (an INTERFACE target, so
# nothing edits the global CMAKE_CXX_FLAGS).
add_library(h5infer_warnings INTERFACE)
target_compile_options(h5infer_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Wnon-virtual-dtor
  -Wold-style-cast -Woverloaded-virtual -Wnull-dereference
  $<$<BOOL:${H5INFER_WERROR}>:-Werror>)
