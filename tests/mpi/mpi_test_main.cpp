// Shared main of the MPI tests: one MPI environment, gtest output from rank 0 only, and a
// non-zero exit on every rank if any rank failed a test.
#include <gtest/gtest.h>

#include "h5infer/h5/h5.hpp"
#include "h5infer/mpi/comm.hpp"

int main(int argc, char** argv) {
    h5infer::mpi::Environment environment(argc, argv);
    ::testing::InitGoogleTest(&argc, argv);
    h5infer::h5::silence_errors();
    const h5infer::mpi::Comm world = h5infer::mpi::Comm::world();
    if (world.rank() != 0) {
        auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
        delete listeners.Release(listeners.default_result_printer());
    }
    const int local = RUN_ALL_TESTS();
    return static_cast<int>(world.max(static_cast<std::int64_t>(local)));
}
