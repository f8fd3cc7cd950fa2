#include <gtest/gtest.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

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

std::string lock_path_of(const std::string& output) {
    return temporary_path(output, "lock");
}

TEST_F(IoPaths, OutputLockKeepsASecondWriterOutUntilItEnds) {
    const std::string output = path("out.h5");
    {
        const OutputLock first(output);
        ASSERT_TRUE(first.held());
        try {
            const OutputLock second(output);
            FAIL() << "a second lock on the same output";
        } catch (const IoError& error) {
            const std::string message = error.what();
            EXPECT_NE(message.find("another h5infer job is writing output '" + output + "'"),
                      std::string::npos)
                << message;
            EXPECT_NE(message.find("pid " + std::to_string(::getpid()) + " on "), std::string::npos)
                << message;
            EXPECT_NE(message.find("'" + lock_path_of(output) + "'"), std::string::npos) << message;
            EXPECT_NE(message.find("wait until it ends"), std::string::npos) << message;
        }
        // Another output in the same directory is not locked.
        const OutputLock other(path("other.h5"));
        EXPECT_TRUE(other.held());
    }
    EXPECT_FALSE(std::filesystem::exists(lock_path_of(output)));
    const OutputLock again(output);
    EXPECT_TRUE(again.held());
}

TEST_F(IoPaths, OutputLockOfAKilledJobBlocksNothing) {
    const std::string output = path("out.h5");
    int ready[2];
    ASSERT_EQ(::pipe(ready), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        const OutputLock held(output);
        const char byte = 1;
        (void)::write(ready[1], &byte, 1);
        ::pause();  // until killed
        ::_exit(0);
    }
    char byte = 0;
    ASSERT_EQ(::read(ready[0], &byte, 1), 1);
    try {
        const OutputLock refused(output);
        ADD_FAILURE() << "the lock of another process was taken";
    } catch (const IoError& error) {
        EXPECT_NE(std::string(error.what()).find("pid " + std::to_string(child) + " on "),
                  std::string::npos)
            << error.what();
    }
    ::kill(child, SIGKILL);
    int status = 0;
    ::waitpid(child, &status, 0);
    ::close(ready[0]);
    ::close(ready[1]);
    // The killed job left its lock file; the kernel dropped its lock.
    EXPECT_TRUE(std::filesystem::exists(lock_path_of(output)));
    const OutputLock taken(output);
    EXPECT_TRUE(taken.held());
    std::ifstream record(lock_path_of(output));
    std::string holder;
    std::getline(record, holder);
    EXPECT_EQ(holder.rfind("pid " + std::to_string(::getpid()) + " on ", 0), 0U) << holder;
}

TEST_F(IoPaths, OutputLocksBeyondTheOpenFileLimitRaiseIt) {
    // A run over many inputs holds a lock per output. In a child, whose limit can drop.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        constexpr int locks = 40;
        struct rlimit limit {};
        if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_max < 4 * locks) ::_exit(77);
        limit.rlim_cur = locks / 2;
        if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) ::_exit(77);
        try {
            std::vector<OutputLock> held;
            held.reserve(locks);
            for (int i = 0; i < locks; ++i) {
                held.emplace_back(path("out-" + std::to_string(i) + ".h5"));
            }
        } catch (const std::exception&) {
            ::_exit(1);
        }
        ::_exit(0);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    if (WEXITSTATUS(status) == 77) GTEST_SKIP() << "the hard limit on open files is too low";
    EXPECT_EQ(WEXITSTATUS(status), 0) << "a lock failed beyond the soft limit on open files";
}

}  // namespace
}  // namespace h5infer::io
