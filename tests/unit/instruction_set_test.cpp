// The instruction sets ranks agree on: names, the best set within the features several ranks
// share, and this process's set as oneDNN sees it.
#include "kernels/instruction_set.hpp"

#include <gtest/gtest.h>

#include <string>

#include "h5infer/error.hpp"
#include "kernels/onednn/onednn.hpp"

namespace h5infer::kernels {
namespace {

InstructionSet named(const char* name) {
    const auto set = parse_instruction_set(name);
    EXPECT_TRUE(set.has_value()) << name;
    return set.value_or(0);
}

TEST(InstructionSet, ParsesOneDnnNamesInAnyCase) {
    EXPECT_EQ(instruction_set_name(named("AVX2")), "avx2");
    EXPECT_EQ(instruction_set_name(named("avx512_core_bf16")), "avx512_core_bf16");
    EXPECT_EQ(named("Sse41"), named("sse41"));
    EXPECT_FALSE(parse_instruction_set("avx3").has_value());
    EXPECT_FALSE(parse_instruction_set("").has_value());
    EXPECT_EQ(instruction_set_names(),
              "sse41, avx, avx2, avx2_vnni, avx512_core, avx512_core_vnni, avx512_core_bf16, "
              "avx512_core_amx");
    EXPECT_EQ(instruction_set_name(0), "none");
}

// Two ranks' feature sets share their common bits; the set they compute with is the best named
// one those bits hold. avx2_vnni is not part of AVX-512: with avx512_core it shares only avx2.
TEST(InstructionSet, BestNamedWithinSharedFeatures) {
    EXPECT_EQ(best_named_within(named("avx2_vnni") & named("avx512_core")), named("avx2"));
    EXPECT_EQ(best_named_within(named("avx512_core_bf16") | named("avx2_vnni")),
              named("avx512_core_bf16"));
    EXPECT_EQ(best_named_within(named("avx512_core_vnni") & named("avx512_core_bf16")),
              named("avx512_core_vnni"));
    EXPECT_EQ(best_named_within(named("avx") & named("avx2")), named("avx"));
    EXPECT_EQ(best_named_within(0), 0U);
}

// What this process computes with by default must be what oneDNN itself picks (also under the
// ONEDNN_MAX_CPU_ISA cap of unit.instruction_set_avx); once oneDNN has dispatched, that set
// can still be asked for, another one cannot.
TEST(InstructionSet, LocalSetIsOneDnnsAndLimitsHoldOnlyBeforeItsFirstUse) {
    const InstructionSet local = best_named_within(local_instruction_set());
    ASSERT_NE(local, 0U);
    EXPECT_EQ(instruction_set_name(local), std::string(onednn_isa_name()));
    EXPECT_NO_THROW(limit_instruction_set(local));
    const InstructionSet other = local == named("sse41") ? named("avx") : named("sse41");
    try {
        limit_instruction_set(other);
        FAIL() << "oneDNN was limited after its first use";
    } catch (const ConfigError& error) {
        const std::string message = error.what();
        EXPECT_NE(message.find("oneDNN computes with " + instruction_set_name(local)),
                  std::string::npos)
            << message;
        EXPECT_NE(message.find("not the agreed " + instruction_set_name(other)), std::string::npos)
            << message;
    }
}

}  // namespace
}  // namespace h5infer::kernels
