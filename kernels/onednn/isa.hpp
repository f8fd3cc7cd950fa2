#pragma once

#include <string_view>

#include "kernels/network.hpp"

namespace h5infer::kernels {

/// oneDNN's effective instruction set, as oneDNN names it ("avx512_core_bf16", "avx2", ...):
/// the best the CPU has, lowered by ONEDNN_MAX_CPU_ISA if that is set.
[[nodiscard]] std::string_view onednn_isa_name();

/// Whether oneDNN's effective instruction set includes avx512_bf16, which Precision::Bf16 needs.
[[nodiscard]] bool onednn_supports_bf16();

/// Throws ConfigError for Precision::Bf16 when onednn_supports_bf16() is false, naming the ISA
/// and any ONEDNN_MAX_CPU_ISA cap, and suggesting --precision f32.
void check_precision(Precision precision);

}  // namespace h5infer::kernels
