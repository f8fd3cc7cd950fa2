"""The parts of benchmarks/compare.py: record.py (a run as JSON) and report.py (the Markdown
rendered from the records)."""
