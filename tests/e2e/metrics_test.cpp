// End-to-end: --metrics, the OpenMetrics text file monitoring reads (the node exporter's
// text-file collector): what it holds after a run that finished, was refused or was stopped,
// checked line by line against the format, and the refusals of a path it may not be written to.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e/background_job.hpp"
#include "e2e/cli_runner.hpp"
#include "h5infer/error.hpp"
#include "h5infer/generate.hpp"

namespace h5infer::testing {
namespace {

using namespace std::chrono_literals;

// The family a sample belongs to: a counter family NAME has the sample NAME_total.
std::string family_of(const std::string& sample, const std::map<std::string, std::string>& types) {
    const std::string total = "_total";
    if (sample.size() > total.size() &&
        sample.compare(sample.size() - total.size(), total.size(), total) == 0) {
        const std::string base = sample.substr(0, sample.size() - total.size());
        const auto found = types.find(base);
        if (found != types.end() && found->second == "counter") return base;
    }
    return sample;
}

// A strict check of the text: every line a `# HELP`, `# TYPE` or a sample `name{labels} value`;
// each family's HELP and TYPE before its samples, once, and its samples together; a counter's
// sample named NAME_total; the last line `# EOF`. Returns the samples ("name{labels}" -> value)
// and records the first problem in `problem`.
std::map<std::string, double> parse_metrics(const std::string& text, std::string& problem) {
    static const std::regex help(R"(# HELP (h5infer_[a-z_]+) \S.*)");
    static const std::regex type(R"(# TYPE (h5infer_[a-z_]+) (counter|gauge))");
    static const std::regex sample(
        R"((h5infer_[a-z_]+)(\{[a-z_]+="[a-z]+"(,[a-z_]+="[a-z]+")*\})? (-?[0-9]+(\.[0-9]+)?(e[-+][0-9]+)?))");
    std::map<std::string, std::string> helps;
    std::map<std::string, std::string> types;
    std::set<std::string> closed;  // families whose samples are over
    std::string current;
    std::map<std::string, double> samples;
    std::istringstream lines(text);
    std::string line;
    bool ended = false;
    const auto fail = [&](const std::string& why) {
        if (problem.empty()) problem = why + ": '" + line + "'";
    };
    while (std::getline(lines, line)) {
        std::smatch match;
        if (ended) {
            fail("a line after # EOF");
        } else if (line == "# EOF") {
            ended = true;
        } else if (std::regex_match(line, match, help)) {
            if (!helps.emplace(match[1], line).second) fail("a second HELP");
            if (!current.empty()) closed.insert(current);
            current = match[1];
        } else if (std::regex_match(line, match, type)) {
            if (match[1] != current || types.count(current) != 0) fail("TYPE not after its HELP");
            types[current] = match[2];
        } else if (std::regex_match(line, match, sample)) {
            const std::string family = family_of(match[1], types);
            if (family != current || types.count(family) == 0) fail("a sample outside its family");
            if (types[family] == "counter" && family == match[1].str())
                fail("a counter not _total");
            if (closed.count(family) != 0) fail("a family's samples apart");
            const std::string key = match[1].str() + match[2].str();
            if (!samples.emplace(key, std::stod(match[4])).second) fail("a sample twice");
        } else {
            fail("not a HELP, TYPE, sample or # EOF line");
        }
    }
    if (!ended) problem += " (no # EOF line at the end)";
    if (text.empty() || text.back() != '\n') problem += " (no newline at the end)";
    return samples;
}

// The samples of a metrics file that must pass parse_metrics().
std::map<std::string, double> read_metrics(const std::string& path) {
    const std::string text = read_text(path);
    std::string problem;
    std::map<std::string, double> samples = parse_metrics(text, problem);
    EXPECT_EQ(problem, "") << text;
    return samples;
}

const std::vector<std::string> stages{"setup", "read", "compute", "write", "wait", "finish"};

class Metrics : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        directory_ = std::make_unique<TempDir>();
        GenerateConfig config = model_and_data(*directory_, 1001, 9, {12}, 3);
        generate(config);
        config.model_path.clear();
        config.data_path = *directory_ / "narrow.h5";
        config.features = 5;
        generate(config);
    }
    static void TearDownTestSuite() { directory_.reset(); }

    // A directory of the test's own, for the output and the metrics.
    static std::string case_directory(const std::string& name) {
        return directory_->subdirectory(name);
    }

    static std::vector<std::string> args(const std::string& input, const std::string& output,
                                         const std::vector<std::string>& extra) {
        std::vector<std::string> arguments{"run",     "--model",      *directory_ / "model.h5",
                                           "--input", input,          "--output",
                                           output,    "--chunk-rows", "50"};
        arguments.insert(arguments.end(), extra.begin(), extra.end());
        return arguments;
    }

    static std::unique_ptr<TempDir> directory_;
};

std::unique_ptr<TempDir> Metrics::directory_;

TEST(MetricsFormat, TheLineCheckRefusesWhatIsNotOpenMetrics) {
    const std::string good =
        "# HELP h5infer_rows Rows.\n# TYPE h5infer_rows counter\nh5infer_rows_total 3\n# EOF\n";
    std::string problem;
    EXPECT_EQ(parse_metrics(good, problem).at("h5infer_rows_total"), 3);
    EXPECT_EQ(problem, "");
    for (const std::string bad :
         {"# TYPE h5infer_rows counter\nh5infer_rows_total 3\n# EOF\n",  // no HELP
          "# HELP h5infer_rows Rows.\nh5infer_rows_total 3\n# EOF\n",    // no TYPE
          "# HELP h5infer_rows Rows.\n# TYPE h5infer_rows counter\nh5infer_rows 3\n# EOF\n",
          "# HELP h5infer_rows Rows.\n# TYPE h5infer_rows counter\nh5infer_rows_total 3\n",
          "# HELP h5infer_rows Rows.\n# TYPE h5infer_rows gauge\nh5infer_rows{a=b} 3\n# EOF\n",
          "# HELP h5infer_rows Rows.\n# TYPE h5infer_rows gauge\nh5infer_rows three\n# EOF\n"}) {
        problem.clear();
        (void)parse_metrics(bad, problem);
        EXPECT_NE(problem, "") << bad;
    }
}

class MetricsOnRanks : public Metrics, public ::testing::WithParamInterface<int> {};

// A finished run: exit status 0, every row, every stage; a rerun finds the output up to date.
TEST_P(MetricsOnRanks, AFinishedRunRecordsRowsStagesAndInputs) {
    const int ranks = GetParam();
    const std::string directory = case_directory("ranks" + std::to_string(ranks));
    const std::string metrics = directory + "/run.prom";
    const std::vector<std::string> arguments =
        args(*directory_ / "data.h5", directory + "/p.h5", {"--metrics", metrics});
    const CommandResult result = run_h5infer(arguments, {ranks});
    ASSERT_EQ(result.exit_code, 0) << result.err;
    std::map<std::string, double> samples = read_metrics(metrics);
    EXPECT_EQ(samples["h5infer_exit_status"], 0);
    EXPECT_EQ(samples["h5infer_ranks"], ranks);
    EXPECT_EQ(samples["h5infer_rows_total"], 1001);
    EXPECT_GT(samples["h5infer_run_seconds"], 0);
    EXPECT_GT(samples["h5infer_rows_per_second"], 0);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"done\"}"], 1);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"skipped\"}"], 0);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"unfinished\"}"], 0);
    for (const std::string& stage : stages) {
        EXPECT_EQ(samples.count("h5infer_stage_seconds_total{stage=\"" + stage + "\"}"), 1U)
            << stage;
    }
    EXPECT_GT(samples["h5infer_stage_seconds_total{stage=\"compute\"}"], 0);

    const CommandResult rerun = run_h5infer(arguments, {ranks});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    samples = read_metrics(metrics);
    EXPECT_EQ(samples["h5infer_rows_total"], 0);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"done\"}"], 0);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"skipped\"}"], 1);
    EXPECT_EQ(list_dir(directory).size(), 2U) << "a temporary file stayed";
}

INSTANTIATE_TEST_SUITE_P(Ranks, MetricsOnRanks, ::testing::Values(1, 2));

// A refused input still leaves the metrics, with the error's exit code, and no output.
TEST_F(Metrics, ARefusedInputRecordsItsExitCode) {
    const std::string directory = case_directory("refused");
    const std::string metrics = directory + "/run.prom";
    const CommandResult result = run_h5infer(
        args(*directory_ / "narrow.h5", directory + "/p.h5", {"--metrics", metrics}), {2});
    ASSERT_EQ(result.exit_code, static_cast<int>(ExitCode::Input)) << result.err;
    std::map<std::string, double> samples = read_metrics(metrics);
    EXPECT_EQ(samples["h5infer_exit_status"], static_cast<int>(ExitCode::Input));
    EXPECT_EQ(samples["h5infer_rows_total"], 0);
    EXPECT_EQ(samples.count("h5infer_stage_seconds_total{stage=\"read\"}"), 0U);
    EXPECT_EQ(list_dir(directory), std::vector<std::string>{"run.prom"});
}

// SIGUSR1, as the sbatch scripts send near the time limit: 75, the rows saved so far and the
// input unfinished; the rerun resumes and records the chunks it found done.
// Both ranks are signalled, as Slurm does: one rank's signal may arrive after the other's has
// stopped the job, and must not kill it (StopRequest::keep_until_exit()).
TEST_F(Metrics, AStopRecordsSeventyFiveAndTheRerunTheResumedChunks) {
    // Enough rows that the job still runs when the signals come (one that comes after the
    // work is done stops nothing: the run exits 0).
    constexpr std::int64_t rows = 200000;
    const std::string directory = case_directory("stopped");
    const std::string output = directory + "/p.h5";
    const std::string metrics = directory + "/run.prom";
    GenerateConfig config;
    config.data_path = directory + "/big.h5";
    config.rows = rows;
    config.features = 9;
    generate(config);
    std::vector<std::string> arguments =
        args(config.data_path, output, {"--metrics", metrics, "--backend", "reference"});
    arguments.insert(arguments.end(), {"--checkpoint-every", "1chunks"});
    BackgroundJob job(h5infer_command(arguments, {2}, directory + "/out", directory + "/err"));
    const auto deadline = std::chrono::steady_clock::now() + 120s;
    while (!has_partial(directory) && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(200ms);
    const std::vector<pid_t> pids = processes_matching(output, job.shell());
    ASSERT_EQ(pids.size(), 2U) << read_text(directory + "/err");
    for (pid_t rank : pids) ::kill(rank, SIGUSR1);
    const int code = job.wait(60s, output);
    ASSERT_EQ(code, static_cast<int>(ExitCode::Interrupted)) << read_text(directory + "/err");
    std::map<std::string, double> samples = read_metrics(metrics);
    EXPECT_EQ(samples["h5infer_exit_status"], static_cast<int>(ExitCode::Interrupted));
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"unfinished\"}"], 1);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"done\"}"], 0);
    const double saved = samples["h5infer_rows_total"];
    EXPECT_LT(saved, rows);

    const CommandResult rerun = run_h5infer(arguments, {2});
    ASSERT_EQ(rerun.exit_code, 0) << rerun.err;
    samples = read_metrics(metrics);
    EXPECT_EQ(samples["h5infer_exit_status"], 0);
    EXPECT_EQ(samples["h5infer_rows_total"] + saved, rows);
    EXPECT_EQ(samples["h5infer_resumed_chunks_total"] * 50, saved);
    EXPECT_EQ(samples["h5infer_inputs_total{state=\"done\"}"], 1);
}

// --metrics follows --report's rules, checked before any work; a refused path is not written
// even though the run failed.
TEST_F(Metrics, APathThatMayNotBeWrittenIsRefusedAndLeftAsItWas) {
    const std::string directory = case_directory("refusals");
    const std::string output = directory + "/p.h5";
    const std::string notes = directory + "/notes.txt";
    std::ofstream(notes) << "my notes\n";
    const std::string model = *directory_ / "model.h5";
    for (const auto& [metrics, message] : std::vector<std::pair<std::string, std::string>>{
             {directory, "is a directory"},
             {directory + "/", "names a directory"},
             {directory + "/nowhere/run.prom", "directory '" + directory + "/nowhere' does not"},
             {output, "' is an output of this run"},
             {model, "' is the model"},
             {notes, "' exists and is not an h5infer metrics file"},
             {directory + "/run.json", "' is the --report file"}}) {
        SCOPED_TRACE(metrics);
        const std::string model_before = read_text(model);
        const CommandResult result =
            run_h5infer(args(*directory_ / "data.h5", output,
                             {"--metrics", metrics, "--report", directory + "/run.json"}),
                        {2});
        EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
        EXPECT_NE(result.err.find("--metrics"), std::string::npos) << result.err;
        EXPECT_NE(result.err.find(message), std::string::npos) << result.err;
        EXPECT_EQ(count_occurrences(result.err, "h5infer: error"), 1U) << result.err;
        EXPECT_EQ(read_text(model), model_before);
        EXPECT_EQ(read_text(notes), "my notes\n");
        EXPECT_FALSE(std::filesystem::exists(output));
    }
}

TEST_F(Metrics, AnUnwritableDirectoryIsRefused) {
    const std::string directory = case_directory("read-only");
    const std::string output = case_directory("writable") + "/p.h5";
    std::filesystem::permissions(
        directory, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec |
                       std::filesystem::perms::others_read | std::filesystem::perms::others_exec);
    std::filesystem::permissions(directory + "/../writable", std::filesystem::perms::all);
    std::filesystem::permissions(*directory_ / "data.h5", std::filesystem::perms::all);
    std::filesystem::permissions(*directory_ / "model.h5", std::filesystem::perms::all);
    // Root writes anywhere: drop to nobody for this run (MPI singleton, no mpiexec).
    Launch launch{0, "", ""};
    if (::geteuid() == 0) {
        launch.environment = "HOME=/tmp setpriv --reuid=65534 --regid=65534 --clear-groups";
    }
    const CommandResult result = run_h5infer(
        args(*directory_ / "data.h5", output, {"--metrics", directory + "/run.prom"}), launch);
    EXPECT_EQ(result.exit_code, static_cast<int>(ExitCode::Io)) << result.err;
    EXPECT_NE(result.err.find("--metrics directory '" + directory + "' is not writable"),
              std::string::npos)
        << result.err;
    EXPECT_FALSE(std::filesystem::exists(output));
}

}  // namespace
}  // namespace h5infer::testing
