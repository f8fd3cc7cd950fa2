# Writes h5infer's bash completion from the --help of the binary and of each of its subcommands,
# at build time (cmake/Packaging.cmake), so it offers what the binary accepts:
#   cmake -DH5INFER=<binary> -DTEMPLATE=<h5infer-completion.bash.in> -DOUTPUT=<file>
#         -P generate_completion.cmake
cmake_minimum_required(VERSION 3.22)
include(${CMAKE_CURRENT_LIST_DIR}/help_options.cmake)

h5infer_help(${H5INFER} top)
if(NOT top_commands)
  message(FATAL_ERROR "'${H5INFER} --help' lists no subcommands")
endif()
list(JOIN top_commands " " H5INFER_COMMANDS)
list(JOIN top_options " " H5INFER_OPTIONS)
set(H5INFER_COMMAND_OPTIONS "")
set(H5INFER_CHOICES "")
foreach(command IN LISTS top_commands)
  h5infer_help(${H5INFER} help ${command})
  list(JOIN help_options " " options)
  string(APPEND H5INFER_COMMAND_OPTIONS "    [${command}]=\"${options}\"\n")
  foreach(choice IN LISTS help_choices)
    string(REGEX MATCH "^[^=]*" option "${choice}")
    string(REGEX REPLACE "^[^=]*=" "" values "${choice}")
    string(REPLACE "," " " values "${values}")
    string(APPEND H5INFER_CHOICES "    [\"${command} ${option}\"]=\"${values}\"\n")
  endforeach()
endforeach()
configure_file(${TEMPLATE} ${OUTPUT} @ONLY)
