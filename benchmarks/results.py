#!/usr/bin/python3
"""RESULTS.md from the run records: the newest run of each machine in full, then the history.

    /usr/bin/python3 benchmarks/results.py render [--dir DIR]   # writes DIR/RESULTS.md
    /usr/bin/python3 benchmarks/results.py check  [--dir DIR]   # exit 1 if it is out of date

DIR (default: benchmarks/) holds RESULTS.md and results/, one JSON file per run of compare.py,
which writes its file and calls the same renderer itself. Run `render` after adding, removing
or correcting a record by hand; `check` is what the test suite runs. Standard library only.
"""

import argparse
import difflib
import os
import sys

from bench import record, report


def rendered(directory):
    """What RESULTS.md must hold, from the records in directory/results."""
    return report.render_results(record.load_records(os.path.join(directory, "results")))


def main(argv):
    """render: write RESULTS.md; check: exit 1 with a diff if it is not what render writes."""
    parser = argparse.ArgumentParser(prog="results.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("render", "check"))
    parser.add_argument("--dir", default=os.path.dirname(os.path.abspath(__file__)),
                        help="the directory of RESULTS.md and results/ (default: benchmarks/)")
    args = parser.parse_args(argv)
    path = os.path.join(args.dir, "RESULTS.md")
    text = rendered(args.dir)
    if args.action == "render":
        with open(path, "w") as target:
            target.write(text)
        return 0
    with open(path) as source:
        committed = source.read()
    if committed == text:
        return 0
    sys.stdout.writelines(difflib.unified_diff(committed.splitlines(True), text.splitlines(True),
                                               path, "rendered from results/*.json"))
    print(f"results.py: {path} is not what the records make: run "
          "`/usr/bin/python3 benchmarks/results.py render`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
