#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace h5infer::kernels {

/// An x86 instruction set the oneDNN kernels may use, in oneDNN's encoding (dnnl_cpu_isa_t):
/// a set of feature bits, where code for one set runs on any CPU whose set holds all its bits.
/// The bits of the oneDNN backend's predictions depend on it (its gemm takes other paths), so
/// ranks that must write the same bits must compute with the same set. h5infer's own loops
/// compile for the baseline x86-64 and give the same bits on every set.
using InstructionSet = std::uint32_t;

/// The best set this process may use: the CPU's features (with the operating system's support
/// for their registers), lowered by ONEDNN_MAX_CPU_ISA (or DNNL_MAX_CPU_ISA) as oneDNN lowers
/// it. Reads the CPU, not oneDNN, so that the kernels can still be limited afterwards.
[[nodiscard]] InstructionSet local_instruction_set();

/// The set named as oneDNN and ONEDNN_MAX_CPU_ISA name them ("avx2", "AVX512_CORE_BF16"), in
/// any case; nullopt for another name.
[[nodiscard]] std::optional<InstructionSet> parse_instruction_set(std::string_view name);

/// The best named set whose bits `available` all holds (what code runs on a CPU with the
/// features of `available`); 0 (no named set) when it holds not even sse41.
[[nodiscard]] InstructionSet best_named_within(InstructionSet available);

/// The lowercase name of a named set ("avx2"), or "none" for 0.
[[nodiscard]] std::string instruction_set_name(InstructionSet set);

/// The names parse_instruction_set() takes, comma-separated, for messages and --help.
[[nodiscard]] std::string instruction_set_names();

/// Limits the oneDNN kernels of this process to `set`, which must be a named set that
/// local_instruction_set() holds. oneDNN takes a limit only before its first primitive, so call
/// it before building any network; a later call for the set already in force does nothing.
/// Throws ConfigError if oneDNN already computes with another set or does not take it.
void limit_instruction_set(InstructionSet set);

}  // namespace h5infer::kernels
