#include "stages/fingerprint.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

namespace h5infer::stages {
namespace {

struct Fields {
    RunConfig config;
    std::string sha256 = "abc";
    std::int64_t chunk_rows = 1024;
    std::string isa = "avx2";
    std::vector<io::FileVersion> model_files;
    io::InputInfo input{"in.h5", "/x", 100, 4, "float32", 4096, 7, {}, {}, {}, {}, {}};
    std::string output_dataset = "/predictions";
    std::vector<std::string> copies;

    [[nodiscard]] std::string text() const {
        return fingerprint(config, sha256, model_files, chunk_rows, isa, input, output_dataset,
                           copies);
    }
};

TEST(Fingerprint, ChangesWithEverythingThePredictionsDependOn) {
    const std::string base = Fields().text();
    const std::vector<std::pair<std::string, std::function<void(Fields&)>>> changes = {
        {"model_sha256", [](Fields& f) { f.sha256 = "abd"; }},
        {"input_file", [](Fields& f) { f.input.file = "other.h5"; }},
        {"input_dataset", [](Fields& f) { f.input.dataset = "/y"; }},
        {"input_bytes", [](Fields& f) { f.input.file_bytes += 1; }},
        {"input_mtime_ns", [](Fields& f) { f.input.file_mtime_ns += 1; }},
        {"input_shape", [](Fields& f) { f.input.rows += 1; }},
        {"input_shape", [](Fields& f) { f.input.cols += 1; }},
        {"output_dataset", [](Fields& f) { f.output_dataset = "/p"; }},
        {"chunk_rows", [](Fields& f) { f.chunk_rows = 2048; }},
        {"backend", [](Fields& f) { f.config.backend = kernels::Backend::Reference; }},
        {"precision", [](Fields& f) { f.config.precision = kernels::Precision::Bf16; }},
        {"labels", [](Fields& f) { f.config.labels = true; }},
        {"copies", [](Fields& f) { f.copies = {"/ids"}; }},
        {"isa", [](Fields& f) { f.isa = "avx512_core"; }},
        {"model_data_files",
         [](Fields& f) {
             f.model_files = {{"/m.onnx.data", 8, 9}};
         }},
        {"input_data_files",
         [](Fields& f) {
             f.input.data_files = {{"/src.h5", 8, 9}};
         }},
        {"input_columns",
         [](Fields& f) {
             f.input.sources = {{"/x", "", 1}, {"/x", "", 0}, {"/x", "", 2}, {"/x", "", 3}};
         }},
    };
    for (const auto& [key, change] : changes) {
        Fields fields;
        change(fields);
        const std::string changed = fields.text();
        EXPECT_NE(changed, base) << key;
        EXPECT_EQ(first_difference(base, changed), "its " + key + " differs");
    }
}

TEST(Fingerprint, ChangesWhenAFileTheValuesComeFromChanges) {
    Fields fields;
    fields.model_files = {{"/m.onnx.data", 800, 1}};
    fields.input.data_files = {{"/a.h5", 100, 1}, {"/b.h5", 100, 1}};
    const std::string base = fields.text();
    for (std::int64_t* value :
         {&fields.model_files[0].bytes, &fields.model_files[0].mtime_ns,
          &fields.input.data_files[1].bytes, &fields.input.data_files[1].mtime_ns}) {
        *value += 1;
        EXPECT_NE(fields.text(), base);
        *value -= 1;
    }
    EXPECT_EQ(fields.text(), base);
}

TEST(Fingerprint, EachColumnMappingHasItsOwn) {
    Fields fields;
    fields.input.sources = {{"/t", "b", -1}, {"/t", "a", -1}};
    const std::string fields_of_a_table = fields.text();
    fields.input.sources = {{"/t/b", "", -1}, {"/t/a", "", -1}};
    const std::string datasets_of_a_group = fields.text();
    fields.input.sources = {{"/t/a", "", -1}, {"/t/b", "", -1}};
    EXPECT_NE(fields_of_a_table, datasets_of_a_group);
    EXPECT_NE(fields.text(), datasets_of_a_group);
    EXPECT_NE(fields_of_a_table.find("input_columns=/t.b,/t.a\n"), std::string::npos);
}

TEST(Fingerprint, IgnoresWhatDoesNotChangeThePredictions) {
    Fields fields;
    const std::string base = fields.text();
    fields.config.threads = 7;
    fields.config.quiet = true;
    fields.config.checkpoint_seconds = 1;
    fields.config.report_path = "r.json";
    fields.input.notes = {"note: anything"};
    fields.config.column_names = ColumnNames::Ignore;  // it acts through input.sources only
    EXPECT_EQ(fields.text(), base);
}

TEST(FirstDifference, SaysWhenTheFileHasNoFingerprint) {
    EXPECT_EQ(first_difference("", Fields().text()),
              "it records no h5infer fingerprint or cannot be read");
    EXPECT_EQ(first_difference("a=1\n", "a=1\n"), "its fingerprint differs");
}

// A complete output made with another instruction set is up to date (same_but_instruction_set),
// and so is one made before the line existed; anything else that differs is not.
TEST(Fingerprint, InstructionSetAloneDoesNotMakeAnOutputStale) {
    Fields fields;
    const std::string avx2 = fields.text();
    EXPECT_EQ(fingerprint_value(avx2, "isa"), "avx2");
    EXPECT_EQ(fingerprint_value(avx2, "chunk_rows"), "1024");
    EXPECT_EQ(fingerprint_value(avx2, "nothing"), "");
    fields.isa = "avx512_core_bf16";
    const std::string avx512 = fields.text();
    EXPECT_TRUE(same_but_instruction_set(avx2, avx512));
    fields.isa.clear();
    const std::string unrecorded = fields.text();
    EXPECT_EQ(unrecorded.find("isa="), std::string::npos);
    EXPECT_TRUE(same_but_instruction_set(unrecorded, avx512));
    fields.chunk_rows = 2048;
    EXPECT_FALSE(same_but_instruction_set(fields.text(), avx512));
    EXPECT_FALSE(same_but_instruction_set("", avx512));
}

}  // namespace
}  // namespace h5infer::stages
