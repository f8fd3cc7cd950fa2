#!/usr/bin/env bash
# Checks h5infer(1) and the bash completion against the --help of the binary they were made
# from: the page renders with man and shows, under each subcommand, every option its --help
# lists; the completion loads in a plain bash, completes "h5infer r" to "run", offers every
# subcommand and, after "h5infer COMMAND -", every option of that subcommand's --help.
# usage: check_help_files.sh H5INFER MANPAGE COMPLETION
set -euo pipefail
usage="usage: check_help_files.sh H5INFER MANPAGE COMPLETION"
binary=${1:?$usage}
page=${2:?$usage}
completion=${3:?$usage}
fail() { echo "FAIL: $*"; exit 1; }
[ -n "$(command -v man)" ] || fail "man is missing (scripts/bootstrap.sh test installs man-db)"

# Read here with grep, independently of cmake/help_options.cmake, which made the completion.
commands=$("$binary" --help | sed -n '/^Subcommands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
[ -n "$commands" ] || fail "'$binary --help' lists no subcommands"
options_of() {
  "$binary" "$@" --help | grep -oE '^  (-[A-Za-z],)?--[a-z][a-z0-9-]*' | tr -d ' ' | tr ',' '\n'
}

# The page as man shows it, in ASCII and without hyphenation, so option names stay whole.
rendered=$(LC_ALL=C MANWIDTH=200 MANROFFOPT=-rHY=0 man -l "$page" 2>&1) \
  || fail "man -l $page failed: $rendered"
for command in $commands; do
  section=$(sed -n "/^   h5infer $command /,/^   h5infer [a-z]/p" <<<"$rendered")
  [ -n "$section" ] || fail "h5infer(1) has no section for 'h5infer $command'"
  for option in $(options_of "$command"); do
    grep -qE -- "(^|[ ,])$option([ ,={]|$)" <<<"$section" \
      || fail "h5infer(1) does not show $option under 'h5infer $command'"
  done
done

# What the completion offers for a command line whose last word is being completed, from a
# bash that read nothing but the completion file, through the function it registers.
offered() {
  bash --norc --noprofile -c '
    source "$1" || exit 1
    shift
    spec=$(complete -p h5infer) || exit 1
    function=${spec##*-F }
    COMP_WORDS=("$@")
    COMP_CWORD=$(($# - 1))
    COMP_LINE="$*"
    COMP_POINT=${#COMP_LINE}
    "${function%% *}" h5infer "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
    printf "%s\n" "${COMPREPLY[@]}"' completion "$completion" "$@"
}
[ "$(offered h5infer r)" = run ] || fail "'h5infer r' completes to '$(offered h5infer r)', not run"
top=$(offered h5infer "")
for command in $commands; do
  grep -qx -- "$command" <<<"$top" || fail "'h5infer <TAB>' does not offer $command"
  choices=$(offered h5infer "$command" -)
  for option in $(options_of "$command"); do
    grep -qx -- "$option" <<<"$choices" || fail "'h5infer $command -<TAB>' does not offer $option"
  done
done
backends=$(offered h5infer run --backend "")
[ "$(echo $backends)" = "onednn reference" ] || fail "'run --backend <TAB>' offers '$backends'"
echo "h5infer(1) and the completion cover $(echo $commands) and all their options"
