"""The parts of benchmarks/compare.py, in the order it uses them.

- process.py: where things are, running a command and timing it
- machine.py: CPU model and flags, oneDNN's ISA, whether bf16 runs here, versions, load, commit
- workloads.py: W1-W3, making their data and models, the page-cache state of the inputs
- limits.py: oneDNN's matmul peak, the compute floor, the I/O floor
- runs.py: the commands measured (h5infer's layouts, the peers), agreement, memory, 1-row job
- peers.py: the peer programs themselves (NumPy, PyTorch, mpi4py, scikit-learn), each run as a
  process of its own
- record.py: a run as JSON data (benchmarks/results/), and reading the records back
- targets.py: issue 4's targets judged from a record
- report.py: the Markdown of a run and of RESULTS.md, from records only
- chart.py: the PNG chart of a run
"""
