// MPI tests, registered at 1, 2, 3 and 4 ranks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "agree.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/run.hpp"
#include "io/output.hpp"
#include "mpi/shared_dir.hpp"

namespace h5infer {
namespace {

using testing::SharedDir;

TEST(Agree, EveryRankThrowsTheFailingRanksCode) {
    const mpi::Comm comm = mpi::Comm::world();
    const int failing = comm.size() - 1;
    try {
        agree(comm, [&] {
            if (comm.rank() == failing) throw InputError("bad row on the last rank");
        });
        FAIL() << "agree() returned although a rank failed";
    } catch (const ReportedElsewhere& error) {
        EXPECT_NE(comm.rank(), failing);
        EXPECT_EQ(error.code(), ExitCode::Input);
    } catch (const InputError& error) {
        EXPECT_EQ(comm.rank(), failing);
        EXPECT_STREQ(error.what(), "bad row on the last rank");
    }
}

TEST(Agree, LowestFailingRankSpeaks) {
    const mpi::Comm comm = mpi::Comm::world();
    try {
        agree(comm, [&] { throw ModelError("rank " + std::to_string(comm.rank())); });
        FAIL();
    } catch (const ReportedElsewhere& error) {
        EXPECT_NE(comm.rank(), 0);
        EXPECT_EQ(error.code(), ExitCode::Model);
    } catch (const ModelError& error) {
        EXPECT_EQ(comm.rank(), 0);
        EXPECT_STREQ(error.what(), "rank 0");
    }
}

TEST(Agree, SuccessOnEveryRankReturns) {
    const mpi::Comm comm = mpi::Comm::world();
    int calls = 0;
    agree(comm, [&] { ++calls; });
    EXPECT_EQ(calls, 1);
    agree_on_root(comm, 0, [&] { ++calls; });
    EXPECT_EQ(calls, comm.rank() == 0 ? 2 : 1);
}

TEST(Comm, FirstOnNodeIsOneRankPerNode) {
    const mpi::Comm comm = mpi::Comm::world();
    const bool first = comm.first_on_node();
    // CTest starts every rank on this node: rank 0 alone is first, on a duplicate as well.
    EXPECT_EQ(first, comm.rank() == 0);
    EXPECT_EQ(comm.sum(first ? 1 : 0), 1);
    EXPECT_EQ(comm.duplicate().first_on_node(), first);
}

TEST(OutputWriter, CollectiveWritesPlaceEveryRowIncludingRanksWithoutRows) {
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    const std::int64_t cols = 3;
    const ChunkPlan plan(10, 2, comm.size());  // 5 chunks: ranks beyond 5 get none
    {
        io::OutputLayout layout;
        layout.dataset = "/group/predictions";
        layout.rows = plan.rows();
        layout.cols = cols;
        layout.chunks = plan.chunk_count();
        if (comm.rank() == 0) io::create_output(dir / "out.h5", layout);
        comm.barrier();
        io::OutputWriter writer(dir / "out.h5", layout, comm);
        const Range chunks = plan.chunks_of(comm.rank());
        for (std::int64_t step = 0; step < plan.steps(); ++step) {
            const Range rows =
                chunks.begin + step < chunks.end ? plan.chunk(chunks.begin + step) : Range{};
            std::vector<float> values;
            for (std::int64_t r = rows.begin; r < rows.end; ++r) {
                for (std::int64_t c = 0; c < cols; ++c) {
                    values.push_back(static_cast<float>(r * 10 + c));
                }
            }
            writer.write(rows.begin, rows.size(), values.data());
        }
        writer.set_attribute("note", std::string("written by all ranks"));
        writer.finish();
        EXPECT_EQ(writer.not_collective_cause(), "") << "rank " << comm.rank();
    }
    comm.barrier();
    if (comm.rank() == 0) {
        h5::Handle file = h5::open_file(dir / "out.h5");
        h5::Handle data = h5::open_dataset(file.get(), "/group/predictions");
        std::vector<std::int64_t> dims;
        const std::vector<float> values = h5::read_all(data.get(), dims);
        ASSERT_EQ(dims, (std::vector<std::int64_t>{10, 3}));
        for (std::int64_t r = 0; r < 10; ++r) {
            for (std::int64_t c = 0; c < cols; ++c) {
                EXPECT_EQ(values[static_cast<std::size_t>(r * cols + c)],
                          static_cast<float>(r * 10 + c));
            }
        }
        EXPECT_EQ(h5::read_string_attribute(file.get(), "note"), "written by all ranks");
    }
}

// Half the chunks, a checkpoint, the writer dropped as a stopped run drops it; then the file
// reopened with its progress record, the rest written, and the whole checked.
TEST(OutputWriter, ResumesFromItsProgressRecord) {
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    const ChunkPlan plan(9, 2, 1);  // 5 chunks, dealt round-robin below
    io::OutputLayout layout;
    layout.dataset = "/predictions";
    layout.rows = plan.rows();
    layout.cols = 1;
    layout.chunks = plan.chunk_count();
    layout.fingerprint = "test=1\n";
    const std::string path = dir / "partial.h5";
    const auto write_chunks = [&](io::OutputWriter& writer, std::int64_t first, std::int64_t last) {
        for (std::int64_t begin = first; begin < last; begin += comm.size()) {
            const std::int64_t chunk = begin + comm.rank();
            const Range rows = chunk < last ? plan.chunk(chunk) : Range{};
            std::vector<float> values;
            for (std::int64_t r = rows.begin; r < rows.end; ++r)
                values.push_back(static_cast<float>(r) + 0.5F);
            writer.write(rows.begin, rows.size(), values.data());
        }
    };
    {
        if (comm.rank() == 0) io::create_output(path, layout);
        comm.barrier();
        io::OutputWriter writer(path, layout, comm);
        write_chunks(writer, 0, 3);
        writer.checkpoint({1, 1, 1, 0, 0});
    }
    comm.barrier();
    std::vector<char> done;
    if (comm.rank() == 0) {
        EXPECT_EQ(io::read_fingerprint(path), "test=1\n");
        done = io::read_progress(path, plan.chunk_count());
    }
    comm.broadcast(done, 0);
    ASSERT_EQ(done, (std::vector<char>{1, 1, 1, 0, 0}));
    {
        io::OutputWriter writer(path, layout, comm);
        write_chunks(writer, 3, 5);
        writer.finish();
    }
    comm.barrier();
    if (comm.rank() == 0) {
        h5::Handle file = h5::open_file(path);
        EXPECT_EQ(h5::object_type(file.get(), std::string(io::progress_dataset)),
                  h5::ObjectType::Missing);
        h5::Handle data = h5::open_dataset(file.get(), "/predictions");
        std::vector<std::int64_t> dims;
        const std::vector<float> values = h5::read_all(data.get(), dims);
        for (std::int64_t r = 0; r < 9; ++r)
            EXPECT_EQ(values[r], static_cast<float>(r) + 0.5F) << "row " << r;
    }
}

// The predictions `output` holds for the `rows` rows of `data_path`:/features, within 1e-5
// (relative above 1) of the Eigen reference computing `model`.
void expect_matches_reference(const std::string& output, const std::string& data_path,
                              const Model& model, std::int64_t rows) {
    h5::Handle file = h5::open_file(output);
    h5::Handle predictions = h5::open_dataset(file.get(), "/predictions");
    std::vector<std::int64_t> dims;
    const std::vector<float> got = h5::read_all(predictions.get(), dims);
    h5::Handle input_file = h5::open_file(data_path);
    h5::Handle input = h5::open_dataset(input_file.get(), "/features");
    std::vector<std::int64_t> input_dims;
    const std::vector<float> inputs = h5::read_all(input.get(), input_dims);
    ASSERT_EQ(got.size(), static_cast<std::size_t>(rows * model.output_width()));
    auto reference = kernels::make_network(model, kernels::Backend::Reference, rows, 1);
    std::vector<float> want(got.size());
    reference->forward(inputs.data(), rows, want.data());
    for (std::size_t i = 0; i < got.size(); ++i) {
        ASSERT_LE(std::abs(got[i] - want[i]), 1e-5 * std::max(1.0F, std::abs(want[i])))
            << "element " << i;
    }
}

TEST(Run, InProcessRunIsCollectiveAndMatchesTheReference) {
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    GenerateConfig data;
    data.data_path = dir / "data.h5";
    data.model_path = dir / "model.h5";
    data.rows = 777;
    data.features = 9;
    data.hidden = {23};
    data.outputs = 3;
    agree_on_root(comm, 0, [&] { generate(data); });

    RunConfig config;
    config.model_path = data.model_path;
    config.inputs = {data.data_path + ":/features"};
    config.output = dir / "preds.h5";
    config.chunk_rows = 50;
    config.threads = 1;
    config.quiet = true;
    const RunReport report = run(config, comm);
    EXPECT_EQ(report.rows, 777);
    EXPECT_EQ(report.outputs, 3);
    EXPECT_EQ(report.ranks, comm.size());
    EXPECT_TRUE(report.all_writes_collective);

    if (comm.rank() == 0) {
        expect_matches_reference(config.output, data.data_path, load_model(data.model_path), 777);
    }
}

TEST(Run, ModelsWithAndWithoutDenseLayersMatchTheReference) {
    // Beyond one rank, the dense weights and biases of a model of packed_parameters or more
    // reach the other ranks packed by rank 0's kernels (an affine layer that only scales folded
    // in, a dense layer without bias); smaller models are sent as they are and every rank
    // converts them; a model without dense layers has only its affine arrays, which travel with
    // the model's structure.
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    const auto data_with = [&](std::int64_t features) {
        GenerateConfig data;
        data.data_path = dir / ("data-" + std::to_string(features) + ".h5");
        data.model_path = dir / ("unused-model-" + std::to_string(features) + ".h5");
        data.rows = 301;
        data.features = features;
        agree_on_root(comm, 0, [&] { generate(data); });
        return data.data_path;
    };
    const std::string narrow_data = data_with(4);
    const std::string wide_data = data_with(1024);
    Model no_dense;
    no_dense.input_width = 4;
    no_dense.layers.emplace_back(
        AffineLayer{{0.5F, -2.0F, 1.5F, 3.0F}, {0.25F, 1.0F, -1.0F, 0.0F}});
    no_dense.layers.emplace_back(ActivationLayer{Activation::Sigmoid, 0.0F});
    Model folded;
    folded.input_width = 4;
    folded.layers.emplace_back(AffineLayer{{0.5F, -2.0F, 1.5F, 3.0F}, {0, 0, 0, 0}});
    folded.layers.emplace_back(
        DenseLayer{4, 3, {1, -2, 3, 0.5F, 0, 1, -1, 2, 0.25F, 4, -3, 1}, {}});
    folded.layers.emplace_back(ActivationLayer{Activation::Relu, 0.0F});
    folded.layers.emplace_back(DenseLayer{3, 2, {1, 2, -1, 0.5F, 3, -2}, {0.1F, -0.2F}});
    // The same kinds of layers, large enough to be packed.
    const auto values = [](std::int64_t count, float scale) {
        std::vector<float> result(static_cast<std::size_t>(count));
        for (std::int64_t i = 0; i < count; ++i) {
            result[static_cast<std::size_t>(i)] =
                scale * static_cast<float>((i * 7919) % 2001 - 1000) / 1000.0F;
        }
        return result;
    };
    constexpr std::int64_t wide = 1024;
    Model large;
    large.input_width = wide;
    const std::vector<float> scale = values(wide, 2.0F);
    large.layers.emplace_back(AffineLayer{{scale.begin(), scale.end()},
                                          std::vector<double>(static_cast<std::size_t>(wide))});
    large.layers.emplace_back(DenseLayer{wide, wide, values(wide * wide, 0.01F), {}});
    large.layers.emplace_back(ActivationLayer{Activation::Relu, 0.0F});
    large.layers.emplace_back(DenseLayer{wide, 2, values(wide * 2, 0.02F), {0.1F, -0.2F}});
    ASSERT_GE(parameter_count(large), packed_parameters);
    ASSERT_LT(parameter_count(folded), packed_parameters);
    for (const auto& [name, model, data_path] :
         {std::tuple<std::string, const Model&, std::string>{"no-dense", no_dense, narrow_data},
          std::tuple<std::string, const Model&, std::string>{"folded", folded, narrow_data},
          std::tuple<std::string, const Model&, std::string>{"large", large, wide_data}}) {
        SCOPED_TRACE(name);
        RunConfig config;
        config.model_path = dir / (name + ".h5");
        agree_on_root(comm, 0, [&] { save_model(model, config.model_path); });
        config.inputs = {data_path + ":/features"};
        config.output = dir / ("preds-" + name + ".h5");
        config.chunk_rows = 40;
        config.threads = 1;
        config.quiet = true;
        EXPECT_EQ(run(config, comm).rows, 301);
        if (comm.rank() == 0) expect_matches_reference(config.output, data_path, model, 301);
    }
}

TEST(Run, LabelWritesAreCollectiveForIntegerAndTextLabels) {
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    GenerateConfig data;
    data.data_path = dir / "data.h5";
    data.model_path = dir / "model.h5";
    data.rows = 130;  // 3 chunks of 50: at 4 ranks one rank writes nothing
    data.features = 5;
    data.hidden = {};
    data.outputs = 3;
    agree_on_root(comm, 0, [&] { generate(data); });
    for (const std::vector<std::string>& labels :
         {std::vector<std::string>{"5", "-2", "0"}, std::vector<std::string>{"a", "bb", "ccc"}}) {
        SCOPED_TRACE(labels[0]);
        agree_on_root(comm, 0, [&] {
            Model model = load_model(data.model_path);
            model.labels = labels;
            save_model(model, data.model_path);
        });
        RunConfig config;
        config.model_path = data.model_path;
        config.inputs = {data.data_path + ":/features"};
        config.output = dir / ("preds-" + labels[0] + ".h5");
        config.chunk_rows = 50;
        config.threads = 1;
        config.quiet = true;
        config.labels = true;
        const RunReport report = run(config, comm);
        EXPECT_TRUE(report.all_writes_collective);
        if (comm.rank() == 0) {
            h5::Handle file = h5::open_file(config.output);
            h5::Handle written = h5::open_dataset(file.get(), "/labels");
            EXPECT_EQ(h5::dataset_info(written.get()).dims, (std::vector<std::int64_t>{130}));
        }
    }
}

TEST(Run, AgreedFailureLeavesNoFile) {
    const mpi::Comm comm = mpi::Comm::world();
    SharedDir dir(comm);
    RunConfig config;
    config.model_path = dir / "missing-model.h5";
    config.inputs = {dir / "missing.h5"};
    config.output = dir / "preds.h5";
    config.quiet = true;
    try {
        (void)run(config, comm);
        FAIL() << "run() succeeded without a model";
    } catch (const Error& error) {
        EXPECT_EQ(error.code(), ExitCode::Model);
        EXPECT_EQ(dynamic_cast<const ReportedElsewhere*>(&error) != nullptr, comm.rank() != 0);
    }
    EXPECT_FALSE(std::filesystem::exists(dir / "preds.h5"));
}

}  // namespace
}  // namespace h5infer
