#include "kernels/onednn/isa.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <oneapi/dnnl/dnnl.hpp>
#include <string>

#include "h5infer/error.hpp"
#include "kernels/instruction_set.hpp"

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

struct NamedSet {
    std::string_view name;
    InstructionSet bits;
};

// Best first. avx512_mic (Xeon Phi) is left out: oneDNN 2.6 no longer tunes for it.
constexpr std::array<NamedSet, 8> named_sets{{
    {"avx512_core_amx", dnnl_cpu_isa_avx512_core_amx},
    {"avx512_core_bf16", dnnl_cpu_isa_avx512_core_bf16},
    {"avx512_core_vnni", dnnl_cpu_isa_avx512_core_vnni},
    {"avx512_core", dnnl_cpu_isa_avx512_core},
    {"avx2_vnni", dnnl_cpu_isa_avx2_vnni},
    {"avx2", dnnl_cpu_isa_avx2},
    {"avx", dnnl_cpu_isa_avx},
    {"sse41", dnnl_cpu_isa_sse41},
}};

// The features each named set needs, as oneDNN's dispatcher checks them. GCC's checks include
// the operating system's support for the registers (XGETBV).
bool cpu_has(std::string_view set) {
    __builtin_cpu_init();
    const bool core = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    const bool vnni = core && __builtin_cpu_supports("avx512vnni");
    const bool bf16 = vnni && __builtin_cpu_supports("avx512bf16");
    if (set == "avx512_core_amx") {
        return bf16 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-int8") &&
               __builtin_cpu_supports("amx-bf16");
    }
    if (set == "avx512_core_bf16") return bf16;
    if (set == "avx512_core_vnni") return vnni;
    if (set == "avx512_core") return core;
    if (set == "avx2_vnni")
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
    if (set == "avx2") return __builtin_cpu_supports("avx2");
    if (set == "avx") return __builtin_cpu_supports("avx");
    return set == "sse41" && __builtin_cpu_supports("sse4.1");
}

// ONEDNN_MAX_CPU_ISA (or the older DNNL_ name) as oneDNN reads it: every bit when unset, "ALL"
// or a name it does not know.
InstructionSet environment_cap() {
    const char* value = std::getenv("ONEDNN_MAX_CPU_ISA");
    if (value == nullptr) value = std::getenv("DNNL_MAX_CPU_ISA");
    if (value == nullptr) return ~InstructionSet{0};
    return parse_instruction_set(value).value_or(~InstructionSet{0});
}

}  // namespace

InstructionSet local_instruction_set() {
    InstructionSet cpu = 0;
    for (const NamedSet& set : named_sets) {
        if (cpu_has(set.name)) cpu |= set.bits;
    }
    return cpu & environment_cap();
}

std::optional<InstructionSet> parse_instruction_set(std::string_view name) {
    std::string lower(name);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    for (const NamedSet& set : named_sets) {
        if (set.name == lower) return set.bits;
    }
    return std::nullopt;
}

InstructionSet best_named_within(InstructionSet available) {
    for (const NamedSet& set : named_sets) {
        if ((available & set.bits) == set.bits) return set.bits;
    }
    return 0;
}

std::string instruction_set_name(InstructionSet set) {
    for (const NamedSet& named : named_sets) {
        if (named.bits == set) return std::string(named.name);
    }
    if (set == 0) return "none";
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%x", set);
    return hex;
}

std::string instruction_set_names() {
    std::string names;
    for (auto set = named_sets.rbegin(); set != named_sets.rend(); ++set) {
        names += (names.empty() ? "" : ", ") + std::string(set->name);
    }
    return names;
}

void limit_instruction_set(InstructionSet set) {
    try {
        dnnl::set_max_cpu_isa(static_cast<dnnl::cpu_isa>(set));
    } catch (const dnnl::error&) {
        // Refused once oneDNN has dispatched anything: fine if the set in force is the one.
    }
    const auto effective = static_cast<InstructionSet>(dnnl::get_effective_cpu_isa());
    if (effective != set) {
        throw ConfigError("oneDNN computes with " + instruction_set_name(effective) +
                          " in this process, not the agreed " + instruction_set_name(set) +
                          ": it takes a limit only before its first kernel, so run each "
                          "instruction set in a process of its own");
    }
}

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
