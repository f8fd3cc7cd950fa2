#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "h5infer/error.hpp"
#include "io/input.hpp"
#include "io/output.hpp"

namespace h5infer::io {
namespace {

class IoPaths : public ::testing::Test {
protected:
    void SetUp() override {
        std::string pattern = "/tmp/h5infer-io-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string path(const std::string& name) const { return dir_ + "/" + name; }
    std::string dir_;
};

TEST_F(IoPaths, InputRefSplitsAtTheLastColon) {
    const DatasetRef ref = parse_input_ref("/data/run:1/x.h5:/group/features");
    EXPECT_EQ(ref.file, "/data/run:1/x.h5");
    EXPECT_EQ(ref.dataset, "/group/features");
    EXPECT_EQ(parse_input_ref("x.h5:features").dataset, "features");
    EXPECT_EQ(parse_input_ref("x.h5").dataset, "");
}

TEST_F(IoPaths, InputRefTakesAnExistingFileWhole) {
    std::ofstream(path("odd:name.h5")) << "x";
    const DatasetRef ref = parse_input_ref(path("odd:name.h5"));
    EXPECT_EQ(ref.file, path("odd:name.h5"));
    EXPECT_EQ(ref.dataset, "");
}

TEST_F(IoPaths, OutputRefNeedsAnAbsoluteDataset) {
    EXPECT_EQ(parse_output_ref("p.h5:/scores", "/predictions").dataset, "/scores");
    EXPECT_EQ(parse_output_ref("p.h5", "/predictions").dataset, "/predictions");
    const DatasetRef odd = parse_output_ref("run:1.h5", "/predictions");
    EXPECT_EQ(odd.file, "run:1.h5");
    EXPECT_EQ(odd.dataset, "/predictions");
}

TEST_F(IoPaths, TemporaryIsHiddenBesideTheFinalName) {
    EXPECT_EQ(temporary_path("/a/b/preds.h5", "7"), "/a/b/.preds.h5.h5infer-7.tmp");
    EXPECT_EQ(temporary_path("preds.h5", "7"), ".preds.h5.h5infer-7.tmp");
}

TEST_F(IoPaths, CheckOutputRefusesExistingDirectoryAndMissingParent) {
    EXPECT_NO_THROW(check_output_path(path("new.h5"), false));
    std::ofstream(path("old.h5")) << "x";
    EXPECT_THROW(check_output_path(path("old.h5"), false), IoError);
    EXPECT_NO_THROW(check_output_path(path("old.h5"), true));
    EXPECT_THROW(check_output_path(dir_, true), IoError);
    EXPECT_THROW(check_output_path(path("no/such/dir.h5"), false), IoError);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                            std::filesystem::directory_iterator{}),
              1);  // the probe file is gone
}

TEST_F(IoPaths, CommitWithoutOverwriteNeverReplaces) {
    std::ofstream(path("tmp")) << "new";
    std::ofstream(path("final")) << "old";
    EXPECT_THROW(commit_output(path("tmp"), path("final"), false), IoError);
    EXPECT_EQ(std::ifstream(path("final")).get(), 'o');
    commit_output(path("tmp"), path("final"), true);
    EXPECT_EQ(std::ifstream(path("final")).get(), 'n');
    EXPECT_FALSE(std::filesystem::exists(path("tmp")));
}

TEST_F(IoPaths, TemporaryOutputIsRemovedUnlessDismissed) {
    std::ofstream(path("a.tmp")) << "x";
    std::ofstream(path("b.tmp")) << "x";
    { TemporaryOutput removed(path("a.tmp")); }
    {
        TemporaryOutput kept(path("b.tmp"));
        kept.dismiss();
    }
    EXPECT_FALSE(std::filesystem::exists(path("a.tmp")));
    EXPECT_TRUE(std::filesystem::exists(path("b.tmp")));
}

}  // namespace
}  // namespace h5infer::io
