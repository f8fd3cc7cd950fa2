#include "kernels/onednn/isa.hpp"

#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "h5infer/error.hpp"

namespace h5infer::kernels {
namespace {

std::string_view isa_name(dnnl::cpu_isa isa) {
    using I = dnnl::cpu_isa;
    switch (isa) {
        case I::all: return "all";
        case I::sse41: return "sse41";
        case I::avx: return "avx";
        case I::avx2: return "avx2";
        case I::avx512_mic: return "avx512_mic";
        case I::avx512_mic_4ops: return "avx512_mic_4ops";
        case I::avx512_core: return "avx512_core";
        case I::avx512_core_vnni: return "avx512_core_vnni";
        case I::avx512_core_bf16: return "avx512_core_bf16";
        case I::avx512_core_amx: return "avx512_core_amx";
        case I::avx2_vnni: return "avx2_vnni";
    }
    return "unknown";
}

}  // namespace

// bf16 needs avx512_bf16: a clear error otherwise.
void check_precision(Precision precision) {
    // Without avx512_bf16, oneDNN 2.6 has no bf16 matmul at all (AVX2: primitive creation
    // fails) or emulates it (avx512_core: slower than f32): never what bf16 is asked for.
    if (precision == Precision::Bf16 && !onednn_supports_bf16()) {
        std::string cap;
        for (const char* variable : {"ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA"}) {
            const char* value = std::getenv(variable);
            if (value != nullptr && cap.empty()) {
                cap = std::string(", capped by ") + variable + "=" + value;
            }
        }
        throw ConfigError(
            "--precision bf16 needs a CPU with avx512_bf16 (this CPU's best oneDNN ISA is " +
            std::string(onednn_isa_name()) + cap + "); use --precision f32");
    }
}

std::string_view onednn_isa_name() {
    return isa_name(dnnl::get_effective_cpu_isa());
}

bool onednn_supports_bf16() {
    // The ISA values are bit sets, not an order: avx512_core_amx contains every bit of
    // avx512_core_bf16, while avx2_vnni is numerically larger but has no AVX-512 at all.
    const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
    const auto needed = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
    return (isa & needed) == needed;
}

}  // namespace h5infer::kernels
