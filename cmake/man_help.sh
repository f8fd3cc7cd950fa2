#!/bin/bash
# What help2man reads to write h5infer(1) (cmake/Packaging.cmake runs `help2man man_help.sh`
# with H5INFER=<the built binary>): --version is h5infer's; --help is h5infer's --help followed
# by the --help of every subcommand it lists, arranged the way help2man turns text into roff:
#   Usage: + "or:" lines       -> SYNOPSIS, one line per subcommand
#   *Commands*                 -> a COMMANDS section
#   "h5infer run [OPTIONS]:"   -> a subsection per subcommand, its options as tagged paragraphs
# So the page covers every subcommand and changes whenever a --help does.
set -euo pipefail
binary=${H5INFER:?set H5INFER to the h5infer binary}

# argv[0] "h5infer", which CLI11 prints in its usage lines, rather than the build path.
h5infer() { (exec -a h5infer "$binary" "$@"); }

# CLI11 starts a description at column 30, after at least one space, or on the next line when
# the option is longer: a second space there lets help2man tell the option from its description.
split_columns() {
  awk 'function separate(line, following) {
         if (substr(following, 1, 30) != sprintf("%30s", "") && line ~ /^  [^ ]/ &&
             substr(line, 30, 1) == " " && substr(line, 31, 1) ~ /[^ ]/)
           return substr(line, 1, 30) " " substr(line, 31)
         return line
       }
       NR > 1 { print separate(previous, $0) }
       { previous = $0 }
       END { if (NR > 0) print separate(previous, "") }'
}

if [ "${1:-}" = --version ]; then
  h5infer --version
  exit
fi
top=$(h5infer --help)
mapfile -t commands < <(sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p' <<<"$top")

sed -n 's/^Usage: .*h5infer /Usage: h5infer /p' <<<"$top"
for command in "${commands[@]}"; do
  h5infer "$command" --help | sed -n 's/^Usage: .*h5infer /  or:  h5infer /p'
done
echo
sed -n '1p' <<<"$top"
echo
# The options of h5infer itself; the subcommands' list is replaced by their sections below.
sed -n '/^Options:/,/^$/p' <<<"$top" | split_columns
echo '*Commands*'
for command in "${commands[@]}"; do
  help=$(h5infer "$command" --help)
  sed -n 's/^Usage: .*\(h5infer .*\)/\1:/p' <<<"$help"
  sed -n '1s/^/  /p' <<<"$help"
  echo
  # Positionals first, then options; their headings and blank lines would end the subsection.
  sed -n '/^\(Positionals\|Options\):$/,/^$/{/^  /p}' <<<"$help" | split_columns
  echo
done
