// End-to-end: a model with feature names takes an input's columns by name, on 1 and 3 ranks.
// Every input layout that carries names (a 2-D dataset's `columns` attribute, a pandas frame, a
// group of 1-D datasets, a compound dataset, an import-csv file) must give exactly the
// predictions of the same rows as a 2-D dataset in the model's order; every mismatch is refused
// with its exit code and a message naming the columns, leaving no output.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"
#include "h5infer/h5/h5.hpp"
#include "h5infer/model_file.hpp"

namespace h5infer::testing {
namespace {

constexpr std::int64_t rows = 300;  // 5 chunks of 64: every rank of 3 gets some
constexpr std::int64_t width = 4;
const std::vector<std::string> names{"pt", "eta", "phi", "e"};
// The permuted file's column c holds the model's column permutation[c].
constexpr std::array<std::int64_t, width> permutation{2, 0, 3, 1};
constexpr std::array<int, 2> rank_counts{1, 3};

class Columns : public ::testing::Test {
protected:
    void SetUp() override {
        GenerateConfig config;
        config.data_path = dir_ / "data.h5";
        config.model_path = dir_ / "plain.h5";
        config.rows = rows;
        config.features = width;
        config.hidden = {7};
        config.outputs = 3;
        generate(config);
        Model model = load_model(dir_ / "plain.h5");
        model.feature_names = names;
        save_model(model, dir_ / "named.h5");
        data_ = read_matrix(dir_ / "data.h5", "/features");
        std::filesystem::create_directory(dir_ / "out");
        ASSERT_EQ(run({"--input", dir_ / "data.h5:/features", "--output", dir_ / "want.h5"}, 1,
                      "plain.h5")
                      .exit_code,
                  0);
    }

    // `h5infer run --model <model> <args> --chunk-rows 64` on `ranks` ranks.
    CommandResult run(std::vector<std::string> args, int ranks,
                      const std::string& model = "named.h5") const {
        args.insert(args.begin(), {"run", "--model", dir_ / model});
        args.insert(args.end(), {"--chunk-rows", "64"});
        return run_h5infer(args, {ranks});
    }

    // Runs `input` on 1 and 3 ranks: each must succeed, print `note` once (none when empty)
    // and predict exactly what the 2-D dataset in the model's order predicts.
    void expect_same_predictions(const std::string& input, const std::string& note,
                                 const std::vector<std::string>& extra = {}) const {
        for (const int ranks : rank_counts) {
            const std::string output = dir_ / ("got-" + std::to_string(ranks) + ".h5");
            std::vector<std::string> args{"--input", input, "--output", output, "--force"};
            args.insert(args.end(), extra.begin(), extra.end());
            const CommandResult result = run(args, ranks);
            ASSERT_EQ(result.exit_code, 0) << result.err;
            if (note.empty()) {
                EXPECT_EQ(result.out.find("note:"), std::string::npos) << result.out;
            } else {
                EXPECT_EQ(count_occurrences(result.out, note), 1U) << result.out;
            }
            EXPECT_TRUE(same_predictions(output, dir_ / "want.h5")) << input << ", " << ranks;
        }
    }

    // Runs `input` on 1 and 3 ranks: each must fail with `code` and `message`, printed once,
    // leaving nothing in the output directory.
    void expect_refusal(const std::string& input, ExitCode code, const std::string& message,
                        const std::vector<std::string>& extra = {},
                        const std::string& model = "named.h5") const {
        for (const int ranks : rank_counts) {
            std::vector<std::string> args{"--input", input, "--output", dir_ / "out/preds.h5"};
            args.insert(args.end(), extra.begin(), extra.end());
            const CommandResult result = run(args, ranks, model);
            EXPECT_EQ(result.exit_code, static_cast<int>(code)) << result.err;
            EXPECT_NE(result.err.find(message), std::string::npos)
                << "expected '" << message << "' in: " << result.err;
            EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
            EXPECT_TRUE(list_dir(dir_ / "out").empty()) << "left in the output directory";
        }
    }

    // The model's column j of every row, as float32.
    std::vector<float> column(std::int64_t j) const {
        std::vector<float> values;
        for (std::int64_t i = 0; i < rows; ++i) values.push_back(data_.values[i * width + j]);
        return values;
    }

    // A 2-D float32 dataset whose column c holds the model's column order[c], named `columns`
    // (no attribute when empty).
    std::string matrix_file(const std::string& name, const std::vector<std::int64_t>& order,
                            const std::vector<std::string>& columns) const {
        const std::string path = dir_ / name;
        h5::Handle file = h5::create_file(path);
        const auto cols = static_cast<std::int64_t>(order.size());
        std::vector<float> values;
        for (std::int64_t i = 0; i < rows; ++i) {
            for (const std::int64_t j : order) values.push_back(data_.values[i * width + j]);
        }
        h5::Handle dataset = h5::create_dataset(file.get(), "/x", {rows, cols}, H5T_IEEE_F32LE);
        h5::write_all(dataset.get(), values.data());
        if (!columns.empty()) h5::write_attribute(dataset.get(), "columns", columns);
        return path;
    }

    std::string permuted_file() const {
        std::vector<std::string> columns;
        for (const std::int64_t j : permutation) columns.push_back(names[j]);
        return matrix_file("permuted.h5", {permutation.begin(), permutation.end()}, columns);
    }

    // A 1-D dataset of the model's column j, stored as `file_type` (float64 holds every
    // float32 exactly).
    void write_column(hid_t location, const std::string& path, std::int64_t j,
                      hid_t file_type) const {
        h5::Handle dataset = h5::create_dataset(location, path, {rows}, file_type);
        const std::vector<float> values = column(j);
        h5::write_all(dataset.get(), values.data());
    }

    // /events: one 1-D dataset per column, in another order and of two types, among others.
    std::string group_file() const {
        const std::string path = dir_ / "group.h5";
        h5::Handle file = h5::create_file(path);
        h5::Handle group = h5::create_group(file.get(), "/events");
        write_column(file.get(), "/events/phi", 2, H5T_IEEE_F64LE);
        write_column(file.get(), "/events/run", 0, H5T_STD_I32LE);
        write_column(file.get(), "/events/eta", 1, H5T_IEEE_F32LE);
        write_column(file.get(), "/events/e", 3, H5T_IEEE_F64BE);
        write_column(file.get(), "/events/pt", 0, H5T_IEEE_F32LE);
        h5::Handle jets = h5::create_dataset(file.get(), "/events/jets", {rows, 2}, H5T_IEEE_F32LE);
        return path;
    }

    // /table: a compound dataset with the model's columns as fields among others.
    std::string table_file() const {
        struct Record {
            std::int64_t id;
            double eta;
            float pt;
            double e;
            float phi;
        };
        std::vector<Record> records;
        for (std::int64_t i = 0; i < rows; ++i) {
            const float* row = data_.values.data() + i * width;
            records.push_back({i, row[1], row[0], row[3], row[2]});
        }
        h5::Handle type(H5Tcreate(H5T_COMPOUND, sizeof(Record)));
        H5Tinsert(type.get(), "id", HOFFSET(Record, id), H5T_NATIVE_INT64);
        H5Tinsert(type.get(), "eta", HOFFSET(Record, eta), H5T_NATIVE_DOUBLE);
        H5Tinsert(type.get(), "pt", HOFFSET(Record, pt), H5T_NATIVE_FLOAT);
        H5Tinsert(type.get(), "e", HOFFSET(Record, e), H5T_NATIVE_DOUBLE);
        H5Tinsert(type.get(), "phi", HOFFSET(Record, phi), H5T_NATIVE_FLOAT);
        const std::string path = dir_ / "table.h5";
        h5::Handle file = h5::create_file(path);
        h5::Handle dataset =
            h5::create_dataset(file.get(), "/table", {rows}, type.get(), h5::Layout::Chunked, 50);
        H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, records.data());
        return path;
    }

    // Fixed-length strings, as pandas writes a block's items.
    static void write_items(hid_t file, const std::string& path,
                            const std::vector<std::string>& items) {
        constexpr std::size_t size = 3;
        h5::Handle type(H5Tcopy(H5T_C_S1));
        H5Tset_size(type.get(), size);
        std::string bytes;
        for (const std::string& item : items) bytes += item + std::string(size - item.size(), '\0');
        h5::Handle dataset =
            h5::create_dataset(file, path, {static_cast<std::int64_t>(items.size())}, type.get());
        H5Dwrite(dataset.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data());
    }

    // The layout of pandas' DataFrame.to_hdf(format='fixed'): /df marked as a 'frame', its
    // columns in blocks of one dtype each, blockN_values [rows, n] named by blockN_items.
    std::string pandas_file() const {
        const std::string path = dir_ / "pandas.h5";
        h5::Handle file = h5::create_file(path);
        h5::Handle group = h5::create_group(file.get(), "/df");
        h5::Handle type(H5Tcopy(H5T_C_S1));
        H5Tset_size(type.get(), 5);
        h5::Handle space(H5Screate(H5S_SCALAR));
        h5::Handle marker(H5Acreate2(group.get(), "pandas_type", type.get(), space.get(),
                                     H5P_DEFAULT, H5P_DEFAULT));
        H5Awrite(marker.get(), type.get(), "frame");
        const std::array<std::pair<std::vector<std::int64_t>, hid_t>, 2> blocks{
            std::pair<std::vector<std::int64_t>, hid_t>{{3, 1}, H5T_IEEE_F64LE},
            {{0, 2}, H5T_IEEE_F32LE}};
        for (std::size_t b = 0; b < blocks.size(); ++b) {
            const auto& [columns, file_type] = blocks[b];
            std::vector<std::string> items;
            std::vector<float> values;
            for (const std::int64_t j : columns) items.push_back(names[j]);
            for (std::int64_t i = 0; i < rows; ++i) {
                for (const std::int64_t j : columns) values.push_back(data_.values[i * width + j]);
            }
            const std::string stem = "/df/block" + std::to_string(b);
            write_items(file.get(), stem + "_items", items);
            h5::Handle dataset =
                h5::create_dataset(file.get(), stem + "_values", {rows, 2}, file_type);
            h5::write_all(dataset.get(), values.data());
        }
        return path;
    }

    TempDir dir_;
    Matrix data_;
};

TEST_F(Columns, SameOrderRunsWithoutANote) {
    expect_same_predictions(matrix_file("ordered.h5", {0, 1, 2, 3}, names) + ":/x", "");
}

TEST_F(Columns, AnotherOrderIsReorderedByNameInOneLine) {
    expect_same_predictions(permuted_file() + ":/x",
                            "has the model's columns in another order: they are reordered by "
                            "name (the model's pt, eta, phi, e are its columns 1, 3, 0, 2;");
}

TEST_F(Columns, StrictRefusesAnotherOrderNamingTheColumns) {
    expect_refusal(permuted_file() + ":/x", ExitCode::Input,
                   "has the model's columns in another order (its column 0 is 'phi', the "
                   "model's is 'pt'), which --column-names strict refuses",
                   {"--column-names", "strict"});
    expect_same_predictions(matrix_file("ordered.h5", {0, 1, 2, 3}, names) + ":/x", "",
                            {"--column-names", "strict"});
}

TEST_F(Columns, IgnoreTakesTheColumnsByPosition) {
    const std::string input = permuted_file() + ":/x";
    ASSERT_EQ(
        run({"--input", input, "--output", dir_ / "plain-permuted.h5"}, 1, "plain.h5").exit_code,
        0);
    for (const int ranks : rank_counts) {
        const std::string output = dir_ / ("ignored-" + std::to_string(ranks) + ".h5");
        const CommandResult result =
            run({"--input", input, "--output", output, "--column-names", "ignore"}, ranks);
        ASSERT_EQ(result.exit_code, 0) << result.err;
        EXPECT_EQ(result.out.find("note:"), std::string::npos) << result.out;
        EXPECT_TRUE(same_predictions(output, dir_ / "plain-permuted.h5"));
    }
}

TEST_F(Columns, MissingAndExtraNamesAreRefusedByName) {
    expect_refusal(matrix_file("renamed.h5", {0, 1, 2, 3}, {"pt", "eta", "phi", "energy"}) + ":/x",
                   ExitCode::Input,
                   "lacks the model's columns e and has columns the model does not take: energy; "
                   "the model takes 4 columns (pt, eta, phi, e)");
    expect_refusal(
        matrix_file("extra.h5", {0, 1, 2, 3, 0}, {"pt", "eta", "phi", "e", "id"}) + ":/x",
        ExitCode::Input, "has columns the model does not take: id;");
    expect_refusal(matrix_file("short.h5", {0, 1, 2}, {"pt", "eta", "phi"}) + ":/x",
                   ExitCode::Input, "lacks the model's columns e;");
    expect_refusal(matrix_file("twice.h5", {0, 1, 2, 3}, {"pt", "eta", "pt", "e"}) + ":/x",
                   ExitCode::Input, "names column 'pt' twice (positions 0 and 2)");
    expect_refusal(matrix_file("miscount.h5", {0, 1, 2, 3}, {"pt", "eta", "phi"}) + ":/x",
                   ExitCode::Input, "has 4 columns but its 'columns' attribute names 3");
}

TEST_F(Columns, InputWithoutNamesRunsByPositionWithANote) {
    expect_same_predictions(dir_ / "data.h5:/features",
                            "has no column names; its columns are taken by position as the "
                            "model's pt, eta, phi, e");
}

TEST_F(Columns, ModelWithoutNamesTakesNamedColumnsByPosition) {
    const std::string input = permuted_file() + ":/x";
    const CommandResult result =
        run({"--input", input, "--output", dir_ / "plain-permuted.h5"}, 3, "plain.h5");
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.out.find("note:"), std::string::npos) << result.out;
}

TEST_F(Columns, GroupOfOneDimensionalDatasetsPredictsLikeTheMatrix) {
    expect_same_predictions(group_file() + ":/events",
                            "is a group of 1-D datasets: the model's 4 columns are taken from it "
                            "by name");
}

TEST_F(Columns, CompoundDatasetPredictsLikeTheMatrix) {
    expect_same_predictions(table_file() + ":/table",
                            "is a compound dataset: the model's 4 columns are taken from it by "
                            "name");
}

TEST_F(Columns, PandasFramePredictsLikeTheMatrix) {
    expect_same_predictions(pandas_file() + ":/df",
                            "is a pandas frame: the model's 4 columns are taken from it by name");
    // One block: a 2-D dataset named by the items beside it, here in another order.
    const std::string path = dir_ / "pandas1.h5";
    {
        h5::Handle file = h5::create_file(path);
        h5::Handle group = h5::create_group(file.get(), "/df");
        h5::write_attribute(group.get(), "pandas_type", std::string("frame"));
        std::vector<std::string> items;
        std::vector<float> values;
        for (const std::int64_t j : permutation) items.push_back(names[j]);
        for (std::int64_t i = 0; i < rows; ++i) {
            for (const std::int64_t j : permutation) values.push_back(data_.values[i * width + j]);
        }
        write_items(file.get(), "/df/block0_items", items);
        h5::Handle dataset =
            h5::create_dataset(file.get(), "/df/block0_values", {rows, width}, H5T_IEEE_F32LE);
        h5::write_all(dataset.get(), values.data());
    }
    expect_same_predictions(path + ":/df/block0_values", "they are reordered by name");
}

TEST_F(Columns, ImportCsvWithColumnsInAnotherOrder) {
    std::string text = "phi,id,e,pt,eta\n";
    for (std::int64_t i = 0; i < rows; ++i) {
        const float* row = data_.values.data() + i * width;
        char line[160];
        std::snprintf(line, sizeof(line), "%.9g,%lld,%.9g,%.9g,%.9g\n", static_cast<double>(row[2]),
                      static_cast<long long>(i), static_cast<double>(row[3]),
                      static_cast<double>(row[0]), static_cast<double>(row[1]));
        text += line;
    }
    std::ofstream(dir_ / "data.csv") << text;
    const CommandResult imported = run_h5infer(
        {"import-csv", dir_ / "data.csv", dir_ / "imported.h5", "--columns", "phi,e,pt,eta"});
    ASSERT_EQ(imported.exit_code, 0) << imported.err;
    expect_same_predictions(dir_ / "imported.h5", "they are reordered by name");
}

TEST_F(Columns, HeaderlessCsvRecordsIndicesNotNames) {
    std::ofstream(dir_ / "bare.csv") << "1,2,3,4\n5,6,7,8\n";
    ASSERT_EQ(run_h5infer({"import-csv", dir_ / "bare.csv", dir_ / "bare.h5"}).exit_code, 0);
    const h5::Handle file = h5::open_file(dir_ / "bare.h5");
    const h5::Handle dataset = h5::open_dataset(file.get(), "/features");
    EXPECT_FALSE(h5::has_attribute(dataset.get(), "columns"));
    EXPECT_TRUE(h5::has_attribute(dataset.get(), "column_indices"));
    const CommandResult result =
        run({"--input", dir_ / "bare.h5", "--output", dir_ / "bare-preds.h5"}, 1);
    ASSERT_EQ(result.exit_code, 0) << result.err;
    EXPECT_NE(result.out.find("has no column names"), std::string::npos) << result.out;
}

TEST_F(Columns, GroupsAndTablesAreRefusedWhenNotReadableByName) {
    const std::string group = group_file() + ":/events";
    expect_refusal(group, ExitCode::Input,
                   "is a group, not a dataset, whose columns are taken by the model's feature "
                   "names, and the model has none",
                   {}, "plain.h5");
    expect_refusal(group, ExitCode::Input, "drop --column-names ignore",
                   {"--column-names", "ignore"});
    expect_refusal(table_file() + ":/table", ExitCode::Input,
                   "is a compound dataset (a table), whose columns are taken by the model's "
                   "feature names, and the model has none",
                   {}, "plain.h5");
}

TEST_F(Columns, GroupColumnsMustBeThereOneDimensionalAndOfOneLength) {
    const std::string path = group_file();
    {
        h5::Handle file = h5::open_file(path, true);
        h5::delete_link(file.get(), "/events/eta");
    }
    expect_refusal(path + ":/events", ExitCode::Input,
                   "'/events' in '" + path +
                       "' lacks the model's columns eta (its datasets: e, jets, phi, pt, run)");
    {
        h5::Handle file = h5::open_file(path, true);
        h5::Handle eta = h5::create_dataset(file.get(), "/events/eta", {rows, 1}, H5T_IEEE_F32LE);
    }
    expect_refusal(path + ":/events", ExitCode::Input,
                   "dataset '/events/eta' of '/events' in '" + path + "' is 2-D");
    {
        h5::Handle file = h5::open_file(path, true);
        h5::delete_link(file.get(), "/events/eta");
        h5::Handle eta = h5::create_dataset(file.get(), "/events/eta", {rows - 1}, H5T_IEEE_F32LE);
    }
    expect_refusal(path + ":/events", ExitCode::Input,
                   "column 'eta' has 299 rows but 'pt' has 300");
}

TEST_F(Columns, TableFieldsMustBeNumeric) {
    const std::string path = dir_ / "strings.h5";
    {
        h5::Handle text(H5Tcopy(H5T_C_S1));
        H5Tset_size(text.get(), 8);
        h5::Handle type(H5Tcreate(H5T_COMPOUND, 4 * 4 + 8));
        H5Tinsert(type.get(), "pt", 0, H5T_NATIVE_FLOAT);
        H5Tinsert(type.get(), "eta", 4, text.get());
        H5Tinsert(type.get(), "phi", 12, H5T_NATIVE_FLOAT);
        H5Tinsert(type.get(), "e", 16, H5T_NATIVE_FLOAT);
        h5::Handle file = h5::create_file(path);
        h5::Handle dataset = h5::create_dataset(file.get(), "/t", {rows}, type.get());
    }
    expect_refusal(path + ":/t", ExitCode::Input,
                   "field 'eta' of dataset '/t' in '" + path +
                       "' holds string values; the model's columns must be numeric fields");
}

TEST_F(Columns, TheColumnMappingIsPartOfTheFingerprint) {
    const std::string input = permuted_file() + ":/x";
    const std::string output = dir_ / "preds.h5";
    ASSERT_EQ(run({"--input", input, "--output", output}, 3).exit_code, 0);
    const CommandResult again = run({"--input", input, "--output", output}, 3);
    ASSERT_EQ(again.exit_code, 0) << again.err;
    EXPECT_NE(again.out.find("is up to date"), std::string::npos) << again.out;
    // By position, the same file predicts something else: not up to date.
    const CommandResult ignored =
        run({"--input", input, "--output", output, "--column-names", "ignore"}, 3);
    EXPECT_EQ(ignored.exit_code, static_cast<int>(ExitCode::Io)) << ignored.out;
    EXPECT_NE(ignored.err.find("--overwrite"), std::string::npos) << ignored.err;
}

TEST_F(Columns, InspectShowsAndConvertKeepsTheFeatureNames) {
    const CommandResult inspected = run_h5infer({"inspect", dir_ / "named.h5"});
    ASSERT_EQ(inspected.exit_code, 0) << inspected.err;
    EXPECT_NE(inspected.out.find("\nfeatures:    pt, eta, phi, e\n"), std::string::npos)
        << inspected.out;
    const CommandResult converted =
        run_h5infer({"convert", dir_ / "named.h5", dir_ / "converted.h5"});
    ASSERT_EQ(converted.exit_code, 0) << converted.err;
    EXPECT_NE(converted.out.find("feature names: pt, eta, phi, e"), std::string::npos)
        << converted.out;
    EXPECT_EQ(load_model(dir_ / "converted.h5").feature_names, names);
}

}  // namespace
}  // namespace h5infer::testing
