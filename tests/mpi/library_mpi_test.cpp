// The library API (libh5infer.so) inside an MPI program, as a simulation uses it: each rank loads
// its own predictor of the same model after MPI_Init; nothing is collective. Registered at 1, 2,
// 3 and 4 ranks.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "h5infer/generate.hpp"
#include "h5infer/predictor.hpp"
#include "mpi/shared_dir.hpp"

namespace h5infer::testing {
namespace {

TEST(LibraryInAnMpiProgram, EveryRankPredictsTheSameBitsWithItsOwnPredictor) {
    const mpi::Comm world = mpi::Comm::world();
    const SharedDir dir(world);
    if (world.rank() == 0) {
        GenerateConfig config;
        config.data_path.clear();
        config.model_path = dir / "model.h5";
        config.features = 9;
        config.hidden = {40};
        generate(config);
    }
    world.barrier();
    PredictorOptions options;
    options.threads = 1 + world.rank() % 2;
    Predictor predictor(dir / "model.h5", options);
    std::vector<float> rows(777 * 9);
    for (std::size_t i = 0; i < rows.size(); ++i) rows[i] = std::sin(0.37F * static_cast<float>(i));
    const std::vector<float> got = predictor.predict(rows);
    options.backend = "reference";
    const std::vector<float> want = Predictor(dir / "model.h5", options).predict(rows);
    for (std::size_t i = 0; i < got.size(); ++i) ASSERT_NEAR(got[i], want[i], 1e-5) << i;
    const std::string bytes(reinterpret_cast<const char*>(got.data()), got.size() * sizeof(float));
    const auto hash = static_cast<std::int64_t>(std::hash<std::string>()(bytes) >> 1U);
    EXPECT_EQ(world.min(hash), world.max(hash)) << "the ranks' predictions differ";
}

}  // namespace
}  // namespace h5infer::testing
