#!/usr/bin/python3
"""benchmarks/RESULTS.md is generated from benchmarks/results/*.json: the committed file must be
exactly what the renderer makes of the committed records, and a run without bf16 (a CPU
without avx512_bf16, or oneDNN capped below it) must render as "not applicable here".

    /usr/bin/python3 -B tests/benchmarks/test_results.py

data/avx2-run.json is a real record: `ONEDNN_MAX_CPU_ISA=AVX2 /usr/bin/python3
benchmarks/compare.py --scale 0.02 --repeat 1 --results /tmp/x/RESULTS.md` (see
benchmarks/README.md). Standard library only, as in CI.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(HERE)), "benchmarks")
sys.path.insert(0, BENCHMARKS)

from bench import record, report, targets  # noqa: E402

NOT_APPLICABLE_ROW_END = "| not applicable here |"


def fixture():
    with open(os.path.join(HERE, "data", "avx2-run.json")) as source:
        return json.load(source)


class CommittedResults(unittest.TestCase):
    def test_results_md_is_what_the_records_render(self):
        records = record.load_records(os.path.join(BENCHMARKS, "results"))
        with open(os.path.join(BENCHMARKS, "RESULTS.md")) as source:
            committed = source.read()
        self.assertTrue(committed == report.render_results(records),
                        "benchmarks/RESULTS.md differs from what the records in "
                        "benchmarks/results/ render: run `/usr/bin/python3 benchmarks/results.py "
                        "render` (see the diff with `results.py check`)")

    def test_every_record_is_named_by_its_date_and_machine(self):
        directory = os.path.join(BENCHMARKS, "results")
        for name in sorted(os.listdir(directory)):
            with open(os.path.join(directory, name)) as source:
                self.assertEqual(record.file_name(json.load(source)), name)

    def test_check_fails_when_results_md_is_edited_by_hand(self):
        with tempfile.TemporaryDirectory() as directory:
            shutil.copytree(os.path.join(BENCHMARKS, "results"),
                            os.path.join(directory, "results"))
            shutil.copy(os.path.join(BENCHMARKS, "RESULTS.md"), directory)
            with open(os.path.join(directory, "RESULTS.md"), "a") as results:
                results.write("| a row added by hand |\n")
            check = subprocess.run([sys.executable, "-B", os.path.join(BENCHMARKS, "results.py"),
                                    "check", "--dir", directory], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        self.assertEqual(check.returncode, 1)
        self.assertIn("a row added by hand", check.stdout)


class RunWithoutBf16(unittest.TestCase):
    def setUp(self):
        self.run_record = fixture()
        self.text = report.render_run(self.run_record)

    def test_fixture_is_a_run_without_bf16(self):
        self.assertFalse(self.run_record["bf16"]["run"])
        self.assertEqual(self.run_record["onednn_isa"], "avx2")

    def test_bf16_targets_say_not_applicable_here(self):
        rows = [line for line in self.text.splitlines() if line.startswith("| W1 bf16 >=")]
        self.assertEqual(len(rows), 2)
        for row in rows:
            self.assertTrue(row.endswith(NOT_APPLICABLE_ROW_END), row)

    def test_no_bf16_result_rows_and_no_bf16_peak(self):
        self.assertNotIn("bf16 autocast |", self.text)
        self.assertNotIn("h5infer 2x1 bf16", self.text)
        self.assertIn("| oneDNN bf16 matmul peak (same GEMM) | not applicable here |", self.text)
        self.assertIn("- bf16: skipped: oneDNN's ISA here is avx2", self.text)

    def test_targets_judged_again_from_the_record_are_the_same(self):
        self.assertEqual(targets.evaluate(self.run_record), self.run_record["targets"])

    def test_history_says_n_a_and_does_not_count_them(self):
        history = report.history_rows([self.run_record])[2]
        self.assertIn("| n/a | n/a |", history)
        judged = len(self.run_record["targets"]) - 2
        self.assertIn(f" of {judged} |", history)


class LatestPerMachine(unittest.TestCase):
    def test_each_machine_gets_its_newest_run_in_full(self):
        committed = record.load_records(os.path.join(BENCHMARKS, "results"))
        avx2 = fixture()
        avx2["date"] = "9999-12-31T23:59:59Z"  # newer than any committed run
        text = report.render_results(committed + [avx2])
        sections = [line for line in text.splitlines() if line.startswith("### ")]
        self.assertEqual(sections[0], f"### AMD EPYC, avx2: {report.date_text(avx2)}")
        self.assertEqual(len(sections),
                         len({report.machine_name(run) for run in committed + [avx2]}))
        history = text.split("## History")[1]
        self.assertEqual(history.count(" UTC | "), len(committed) + 1)


if __name__ == "__main__":
    unittest.main()
