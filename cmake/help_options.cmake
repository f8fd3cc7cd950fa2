# h5infer_help(BINARY PREFIX [SUBCOMMAND]): what `BINARY [SUBCOMMAND] --help` lists, read from
# CLI11's layout (an option line starts with two spaces, then "-h," or "--name"). Sets in the
# caller:
#   PREFIX_options   every option name, short and long: -h;--help;--model;...
#   PREFIX_choices   per option with a fixed set of values, NAME=VALUE,...: --backend=onednn,reference
#                    (from "ENUM:value in {onednn->0,reference->1}" or "TEXT:{float32,float64}")
#   PREFIX_commands  the subcommands (h5infer's own --help): run;generate;...
# Included by cmake/generate_completion.cmake and tests/check_cli_docs.cmake.
function(h5infer_help binary prefix)
  execute_process(COMMAND ${binary} ${ARGN} --help
                  OUTPUT_VARIABLE help ERROR_VARIABLE error RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "'${binary} ${ARGN} --help' failed (${status}): ${error}")
  endif()
  # Lines as a list: semicolons and brackets would split or merge list elements.
  foreach(character ";" "[" "]")
    string(REPLACE "${character}" "_" help "${help}")
  endforeach()
  string(REPLACE "\n" ";" lines "${help}")
  set(section "")
  set(options "")
  set(choices "")
  set(commands "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([A-Z][a-z]+):$")
      set(section ${CMAKE_MATCH_1})
    elseif(section STREQUAL "Subcommands" AND line MATCHES "^  ([a-z][a-z-]*) ")
      list(APPEND commands ${CMAKE_MATCH_1})
    elseif(line MATCHES "^  (-[A-Za-z])?,?(--[a-z][a-z0-9-]*)( [A-Z]+:(value in )?[{]([^}]*)[}])?")
      set(option ${CMAKE_MATCH_2})
      list(APPEND options ${CMAKE_MATCH_1} ${option})
      if(CMAKE_MATCH_5)
        string(REGEX REPLACE "->[^,]*" "" values "${CMAKE_MATCH_5}")
        list(APPEND choices "${option}=${values}")
      endif()
    endif()
  endforeach()
  set(${prefix}_options "${options}" PARENT_SCOPE)
  set(${prefix}_choices "${choices}" PARENT_SCOPE)
  set(${prefix}_commands "${commands}" PARENT_SCOPE)
endfunction()
