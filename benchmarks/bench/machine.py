"""The machine a run measures: CPU, the flags the kernels care about, oneDNN's ISA, whether bf16
can be measured here, the versions of everything, the load, and the commit of the code."""

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass

import h5py
import numpy as np

from bench.process import ROOT, run_command

# /proc/cpuinfo flags that decide which kernels oneDNN, OpenBLAS and PyTorch can use.
KERNEL_FLAGS = re.compile(r"^(avx|avx2|fma|f16c|avx512.*|avx_vnni.*|amx.*)$")
# oneDNN ISAs with bf16 instructions (the ISA honours ONEDNN_MAX_CPU_ISA).
BF16_ISAS = ("avx512_core_bf16", "avx512_core_amx")


@dataclass
class Bf16:
    """Whether this run measures bf16 (h5infer bf16, PyTorch bf16 autocast, bf16 limits), and
    why not when it does not."""
    run: bool
    reason: str


def lines_of(output):
    return output.strip().splitlines()


def machine_facts():
    """CPU model, cores, threads per core, memory and kernel."""
    fields = dict(line.split(":", 1) for line in lines_of(subprocess.run(
        ["lscpu"], stdout=subprocess.PIPE, text=True).stdout) if ":" in line)
    with open("/proc/meminfo") as meminfo:
        memory_kib = int(meminfo.readline().split()[1])
    return {"cpu": fields.get("Model name", "?").strip(),
            "cores": int(fields.get("CPU(s)", "0").strip()),
            "threads_per_core": int(fields.get("Thread(s) per core", "0").strip()),
            "memory_gib": round(memory_kib / 2**20), "kernel": os.uname().release}


def cpu_flags():
    """The kernel-relevant flags of /proc/cpuinfo, sorted."""
    with open("/proc/cpuinfo") as cpuinfo:
        flags = next((line.split(":", 1)[1].split() for line in cpuinfo
                      if line.startswith("flags")), [])
    return sorted({flag for flag in flags if KERNEL_FLAGS.match(flag)})


def onednn_isa(limits):
    """oneDNN's effective ISA as `limits` reports it (a tiny GEMM): the CPU's best, lowered by
    ONEDNN_MAX_CPU_ISA if that is set."""
    _, output = run_command([limits, "gemm", "--threads", "1", "--m", "64", "--k", "64", "--n",
                             "64", "--repeat", "1"])
    return re.search(r'"isa": "(\w+)"', output).group(1)


def isa_cap():
    """The value of ONEDNN_MAX_CPU_ISA (or its old name DNNL_MAX_CPU_ISA), if set."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA") or os.environ.get("DNNL_MAX_CPU_ISA")


def decide_bf16(isa, flags):
    """bf16 is measured only where it is native: oneDNN's ISA has bf16 (so h5infer accepts
    --precision bf16) and the CPU has avx512_bf16 (elsewhere PyTorch's bf16 autocast is
    emulated and extremely slow)."""
    cap = isa_cap()
    capped = f", capped by ONEDNN_MAX_CPU_ISA={cap}" if cap else ""
    if isa not in BF16_ISAS:
        return Bf16(False, f"oneDNN's ISA here is {isa}{capped}, without bf16 (needs "
                           f"{' or '.join(BF16_ISAS)})")
    if "avx512_bf16" not in flags:
        return Bf16(False, "the CPU has no avx512_bf16 in /proc/cpuinfo")
    return Bf16(True, "")


def load_average():
    with open("/proc/loadavg") as loadavg:
        return [float(value) for value in loadavg.read().split()[:3]]


def git_state():
    """The commit checked out and whether tracked files differ from it."""
    def git(*args):
        return subprocess.run(["git", "-C", ROOT, *args], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout.strip()
    commit = git("rev-parse", "HEAD") or None
    modified = bool(git("status", "--porcelain", "--untracked-files=no")) if commit else None
    return {"commit": commit, "modified": modified, "recorded_in": None}


def package_versions():
    packages = ["openmpi-bin", "libhdf5-openmpi-dev", "python3-torch", "python3-sklearn",
                "python3-mpi4py"]
    listing = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Version}\n"] + packages,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return dict(line.split(" ", 1) for line in lines_of(listing))


def openblas_kernels():
    try:
        import threadpoolctl
        return next((f"{info.get('version')} ({info.get('architecture')} kernels)"
                     for info in threadpoolctl.threadpool_info()
                     if info.get("internal_api") == "openblas"), "?")
    except ImportError:
        return "?"


def versions(h5infer, gemm):
    """h5infer (and when its binary was built), oneDNN, MPI, HDF5 and the peers' libraries."""
    packages = package_versions()
    _, h5infer_version = run_command([h5infer, "--version"])
    built = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(os.path.getmtime(h5infer)))
    return {"h5infer": h5infer_version.strip(), "h5infer_binary": h5infer,
            "h5infer_built": built, "onednn": gemm["dnnl_version"],
            "openmpi": packages.get("openmpi-bin", "?"),
            "hdf5": packages.get("libhdf5-openmpi-dev", "?"), "numpy": np.__version__,
            "openblas": openblas_kernels(), "torch": packages.get("python3-torch", "?"),
            "sklearn": packages.get("python3-sklearn", "?"), "h5py": h5py.__version__,
            "mpi4py": packages.get("python3-mpi4py", "?"), "python": sys.version.split()[0]}
