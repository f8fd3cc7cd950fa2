#include "progress.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <string>

namespace h5infer {
namespace {

std::string captured(std::FILE* file) {
    std::rewind(file);
    std::string text;
    for (int c = std::fgetc(file); c != EOF; c = std::fgetc(file)) text += static_cast<char>(c);
    return text;
}

TEST(FormatProgress, GivesRowsPercentRateAndEta) {
    EXPECT_EQ(format_progress(250, 1000, 2.0), "250/1000 rows (25.0%), 125 rows/s, ETA 6s");
    EXPECT_EQ(format_progress(1000, 1000, 4.0), "1000/1000 rows (100.0%), 250 rows/s");
    EXPECT_EQ(format_progress(100, 1000000, 1.0), "100/1000000 rows (0.0%), 100 rows/s, ETA 2h46m");
    EXPECT_EQ(format_progress(0, 0, 0.0), "0/0 rows (100.0%), 0 rows/s");
}

TEST(Progress, PrintsWholeLinesAtMostOncePerInterval) {
    std::FILE* out = std::tmpfile();
    Progress progress(1000, 10.0, false, out);
    progress.update(100, 1.0);    // too early: nothing
    progress.update(200, 10.0);   // printed
    progress.update(300, 15.0);   // within the interval: nothing
    progress.update(400, 20.0);   // printed
    progress.update(1000, 40.0);  // finished rows are for the summary line
    progress.finish();
    const std::string text = captured(out);
    std::fclose(out);
    EXPECT_EQ(text,
              "h5infer: 200/1000 rows (20.0%), 20 rows/s, ETA 40s\n"
              "h5infer: 400/1000 rows (40.0%), 20 rows/s, ETA 30s\n");
}

TEST(Progress, RedrawsInPlaceOnATerminal) {
    std::FILE* out = std::tmpfile();
    Progress progress(100, 0.0, true, out);
    progress.update(10, 1.0);
    progress.update(20, 2.0);
    progress.finish();
    const std::string text = captured(out);
    std::fclose(out);
    EXPECT_EQ(text.find('\n'), std::string::npos);
    EXPECT_EQ(text.rfind("\r\033[K"), text.size() - 4);  // cleared for the summary
    EXPECT_NE(text.find("\rh5infer: 20/100 rows"), std::string::npos);
}

TEST(Progress, SilentWithoutAStream) {
    Progress progress(100, 0.0, false, nullptr);
    progress.update(50, 1.0);  // must not crash
    progress.finish();
}

}  // namespace
}  // namespace h5infer
