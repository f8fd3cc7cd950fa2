// The MPI environment's start-up choices, registered at 1, 2, 3 and 4 ranks.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <string>

#include "h5infer/mpi/comm.hpp"

namespace h5infer::mpi {
namespace {

// launched_on_one_node() takes a getenv-like function; this one reads a test's table.
std::map<std::string, std::string>& fake_environment() {
    static std::map<std::string, std::string> variables;
    return variables;
}

const char* from_fake(const char* name) {
    const auto found = fake_environment().find(name);
    return found == fake_environment().end() ? nullptr : found->second.c_str();
}

bool one_node(std::map<std::string, std::string> variables) {
    fake_environment() = std::move(variables);
    return launched_on_one_node(from_fake);
}

TEST(LaunchedOnOneNode, ReadsEachLaunchersVariables) {
    EXPECT_TRUE(one_node({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}));
    EXPECT_FALSE(one_node({{"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}));
    EXPECT_TRUE(one_node({{"SLURM_STEP_NUM_NODES", "1"}, {"PMIX_RANK", "0"}}));
    EXPECT_FALSE(one_node({{"SLURM_STEP_NUM_NODES", "2"}, {"PMIX_RANK", "0"}}));
    EXPECT_TRUE(one_node({}));  // a singleton
    // A launcher this code does not know: it cannot tell.
    EXPECT_FALSE(one_node({{"PMIX_RANK", "3"}}));
    EXPECT_FALSE(one_node({{"PMI_RANK", "3"}}));
}

// CTest starts these tests with mpiexec on one machine, so the environment asked for ob1
// unless the caller had chosen a pml itself.
TEST(Environment, AsksForSharedMemoryOnOneNode) {
    ASSERT_TRUE(
        launched_on_one_node([](const char* name) -> const char* { return std::getenv(name); }));
    const char* pml = std::getenv("OMPI_MCA_pml");
    ASSERT_NE(pml, nullptr);
    EXPECT_EQ(std::string(pml), "ob1");
}

}  // namespace
}  // namespace h5infer::mpi
