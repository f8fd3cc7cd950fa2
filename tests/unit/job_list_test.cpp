#include "io/job_list.hpp"

#include <gtest/gtest.h>

#include <fstream>

#include "h5infer/error.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer::io {
namespace {

using testing::TempDir;

void touch(const std::string& path) {
    std::ofstream(path) << "x";
}

TEST(OutputNameFor, ReplacesTheHdf5ExtensionInTheOutputDirectory) {
    EXPECT_EQ(output_name_for("/data/run_07.h5", "out"), "out/run_07.predictions.h5");
    EXPECT_EQ(output_name_for("a.hdf5", "/o/"), "/o/a.predictions.h5");
    EXPECT_EQ(output_name_for("x/b.HDF", "o"), "o/b.HDF.predictions.h5");
    EXPECT_EQ(output_name_for("c.tar", "o"), "o/c.tar.predictions.h5");
    EXPECT_EQ(output_name_for(".h5", "o"), "o/.h5.predictions.h5");
}

TEST(ExpandInputs, GlobsAreSortedAndKeepTheirDataset) {
    TempDir dir;
    for (const char* name : {"b.h5", "a.h5", "c.txt"}) touch(dir.file(name));
    const std::vector<DatasetRef> inputs = expand_inputs({dir.file("*.h5:/x")}, "");
    ASSERT_EQ(inputs.size(), 2U);
    EXPECT_EQ(inputs[0].file, dir.file("a.h5"));
    EXPECT_EQ(inputs[1].file, dir.file("b.h5"));
    EXPECT_EQ(inputs[1].dataset, "/x");
}

TEST(ExpandInputs, AnExistingNameWithGlobCharactersIsThatFile) {
    TempDir dir;
    for (const char* name : {"run[1].h5", "run1.h5", "a*b?.h5", "aXbY.h5"}) touch(dir.file(name));
    for (const char* name : {"run[1].h5", "a*b?.h5"}) {
        const std::vector<DatasetRef> inputs = expand_inputs({dir.file(name) + ":/x"}, "");
        ASSERT_EQ(inputs.size(), 1U) << name;
        EXPECT_EQ(inputs[0].file, dir.file(name));
        EXPECT_EQ(inputs[0].dataset, "/x");
    }
    // A name that is not a file stays a pattern, and an escaped bracket globs the literal one.
    EXPECT_EQ(expand_inputs({dir.file("run[0-9].h5")}, "")[0].file, dir.file("run1.h5"));
    EXPECT_EQ(expand_inputs({dir.file("run\\[*")}, "")[0].file, dir.file("run[1].h5"));
}

TEST(ExpandInputs, APatternMatchingNothingIsAUsageError) {
    TempDir dir;
    try {
        static_cast<void>(expand_inputs({dir.file("*.h5")}, ""));
        FAIL() << "no error";
    } catch (const ConfigError& error) {
        EXPECT_NE(std::string(error.what()).find("no file matches"), std::string::npos);
    }
}

TEST(ExpandInputs, ListFilesSkipBlankLinesAndCommentsAndFollowTheArguments) {
    TempDir dir;
    touch(dir.file("a.h5"));
    touch(dir.file("b.h5"));
    std::ofstream(dir.file("list.txt")) << "# inputs\n\n  " << dir.file("b.h5:/y") << "  \n"
                                        << dir.file("a.h5\r\n");
    const std::vector<DatasetRef> inputs = expand_inputs({dir.file("a.h5")}, dir.file("list.txt"));
    ASSERT_EQ(inputs.size(), 3U);
    EXPECT_EQ(inputs[1].file, dir.file("b.h5"));
    EXPECT_EQ(inputs[1].dataset, "/y");
    EXPECT_EQ(inputs[2].file, dir.file("a.h5"));
    EXPECT_THROW(static_cast<void>(expand_inputs({}, dir.file("missing.txt"))), ConfigError);
}

TEST(ListJobs, OneInputWithOutputOrManyWithOutputDir) {
    const std::vector<Job> one = list_jobs({{"a.h5", ""}}, "p.h5:/g/pred", "");
    ASSERT_EQ(one.size(), 1U);
    EXPECT_EQ(one[0].output.file, "p.h5");
    EXPECT_EQ(one[0].output.dataset, "/g/pred");
    const std::vector<Job> many = list_jobs({{"x/a.h5", ""}, {"y/b.h5", "/f"}}, "", "out");
    ASSERT_EQ(many.size(), 2U);
    EXPECT_EQ(many[1].output.file, "out/b.predictions.h5");
    EXPECT_EQ(many[1].output.dataset, "/predictions");
    EXPECT_EQ(many[1].input.dataset, "/f");
}

TEST(ListJobs, RefusesAmbiguousRequests) {
    const auto message = [](const std::vector<DatasetRef>& inputs, const std::string& output,
                            const std::string& output_dir) {
        try {
            static_cast<void>(list_jobs(inputs, output, output_dir));
        } catch (const ConfigError& error) {
            return std::string(error.what());
        }
        return std::string("no error");
    };
    EXPECT_NE(message({}, "p.h5", "").find("no input"), std::string::npos);
    EXPECT_NE(message({{"a.h5", ""}}, "", "").find("give --output"), std::string::npos);
    EXPECT_NE(message({{"a.h5", ""}}, "p.h5", "o").find("exclude each other"), std::string::npos);
    EXPECT_NE(message({{"a.h5", ""}, {"b.h5", ""}}, "p.h5", "").find("need --output-dir"),
              std::string::npos);
    EXPECT_NE(message({{"a.h5", ""}, {"a.h5", ""}}, "", "o").find("listed twice"),
              std::string::npos);
    EXPECT_NE(message({{"x/a.h5", ""}, {"y/a.h5", ""}}, "", "o").find("would both write"),
              std::string::npos);
}

}  // namespace
}  // namespace h5infer::io
