// End-to-end: `import-csv` and `convert` writing to a disk that fills up report it (exit code 5,
// naming the output and the fix), exit cleanly and leave nothing on the disk. Needs root to
// mount a small tmpfs; skipped otherwise.
#include <gtest/gtest.h>
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

// A 1 MiB tmpfs mounted on a directory for the length of a test.
class SmallDisk {
public:
    explicit SmallDisk(std::string path) : path_(std::move(path)) {
        std::filesystem::create_directory(path_);
        mounted_ = ::mount("none", path_.c_str(), "tmpfs", 0, "size=1m") == 0;
        if (!mounted_) error_ = std::strerror(errno);
    }
    ~SmallDisk() {
        if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
    }
    SmallDisk(const SmallDisk&) = delete;
    SmallDisk& operator=(const SmallDisk&) = delete;
    SmallDisk(SmallDisk&&) = delete;
    SmallDisk& operator=(SmallDisk&&) = delete;

    [[nodiscard]] bool mounted() const { return mounted_; }
    [[nodiscard]] const std::string& error() const { return error_; }
    [[nodiscard]] std::string operator/(const std::string& name) const {
        return path_ + "/" + name;
    }
    [[nodiscard]] const std::string& path() const { return path_; }

private:
    std::string path_;
    bool mounted_ = false;
    std::string error_;
};

class FullDisk : public ::testing::Test {
protected:
    void SetUp() override {
        if (!disk_.mounted()) {
            GTEST_SKIP() << "skipped: cannot mount a 1 MiB tmpfs on " << disk_.path() << " ("
                         << disk_.error() << "; mounting needs root)";
        }
    }

    // The failure of a write to the full disk: exit code, message once, nothing left behind.
    void expect_full_disk_failure(const CommandResult& result, const std::string& output) const {
        EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
        EXPECT_NE(result.err.find("cannot write output '" + output +
                                  "' (if the disk or quota is full, free space and rerun)"),
                  std::string::npos)
            << result.err;
        EXPECT_NE(result.err.find("No space left on device"), std::string::npos) << result.err;
        EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
        EXPECT_EQ(result.err.find("signal"), std::string::npos) << result.err;
        EXPECT_EQ(list_dir(disk_.path()), std::vector<std::string>{}) << "left on the disk";
    }

    TempDir dir_;
    SmallDisk disk_{dir_ / "disk"};
};

TEST_F(FullDisk, ImportCsvReportsItAndExitsCleanly) {
    // About 2 MiB of float32 values, in rows of 20 columns.
    {
        std::ofstream csv(dir_ / "big.csv");
        for (int j = 0; j < 20; ++j) csv << (j > 0 ? "," : "") << "c" << j;
        csv << "\n";
        for (int i = 0; i < 26000; ++i) {
            for (int j = 0; j < 20; ++j) csv << (j > 0 ? "," : "") << i + j;
            csv << "\n";
        }
    }
    const std::string output = disk_ / "out.h5";
    expect_full_disk_failure(run_h5infer({"import-csv", dir_ / "big.csv", output}, {2}), output);
}

TEST_F(FullDisk, ConvertReportsItAndExitsCleanly) {
    GenerateConfig config;
    config.model_path = dir_ / "model.h5";
    config.features = 64;
    config.hidden = {4096};  // about 1.1 MiB of weights
    generate(config);
    const std::string output = disk_ / "model.h5";
    expect_full_disk_failure(run_h5infer({"convert", dir_ / "model.h5", output}, {2}), output);
}

}  // namespace
}  // namespace h5infer::testing
