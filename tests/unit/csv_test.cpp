// The CSV reader and importer: quoting, line endings, header detection, column selection, and
// every malformed case with the line it reports.
#include "io/csv.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

#include "h5infer/error.hpp"
#include "h5infer/h5/h5.hpp"
#include "io/csv_import.hpp"
#include "unit/temp_dir.hpp"

namespace h5infer::io {
namespace {

/// Everything a reader returns for `text`.
struct Parsed {
    std::vector<std::string> names;
    bool header = false;
    std::int64_t rows = 0;
    std::vector<double> values;
};

Parsed parse(const std::string& text, CsvOptions options = {}, std::int64_t block_rows = 3) {
    std::istringstream in(text);
    CsvReader reader(in, "t.csv", std::move(options));
    Parsed parsed{reader.column_names(), reader.has_header(), 0, {}};
    std::vector<double> block;
    while (true) {
        const std::int64_t rows = reader.read(block_rows, block);
        parsed.values.insert(parsed.values.end(), block.begin(),
                             block.begin() + rows * reader.cols());
        parsed.rows += rows;
        if (rows < block_rows) break;
    }
    return parsed;
}

CsvOptions select(std::vector<std::string> columns) {
    CsvOptions options;
    options.columns = std::move(columns);
    return options;
}

/// The message of the error of type E that `step` throws ("" and a failure if none).
template <typename E>
std::string error_of(const std::function<void()>& step) {
    try {
        step();
    } catch (const E& error) {
        return error.what();
    }
    ADD_FAILURE() << "expected an error";
    return "";
}

std::string input_error(const std::string& text, CsvOptions options = {}) {
    return error_of<InputError>([&] { (void)parse(text, std::move(options)); });
}

std::string config_error(const std::string& text, CsvOptions options = {}) {
    return error_of<ConfigError>([&] { (void)parse(text, std::move(options)); });
}

TEST(ParseNumber, AcceptsDecimalScientificNanAndInf) {
    double value = 0;
    EXPECT_TRUE(parse_number("42", value));
    EXPECT_EQ(value, 42.0);
    EXPECT_TRUE(parse_number("-2.5", value));
    EXPECT_EQ(value, -2.5);
    EXPECT_TRUE(parse_number("+3", value));
    EXPECT_EQ(value, 3.0);
    EXPECT_TRUE(parse_number("  1e-3\t", value));
    EXPECT_EQ(value, 1e-3);
    EXPECT_TRUE(parse_number(".5", value));
    EXPECT_EQ(value, 0.5);
    EXPECT_TRUE(parse_number("nan", value));
    EXPECT_TRUE(std::isnan(value));
    EXPECT_TRUE(parse_number("NaN", value));
    EXPECT_TRUE(parse_number("inf", value));
    EXPECT_EQ(value, INFINITY);
    EXPECT_TRUE(parse_number("-Infinity", value));
    EXPECT_EQ(value, -INFINITY);
}

TEST(ParseNumber, RejectsEverythingElse) {
    double value = 0;
    for (const char* text : {"", "  ", "abc", "1.2.3", "1,5", "0x10", "--1", "+-1", "++1", "1e999",
                             "1 2", "nan1", "e5", "+"}) {
        EXPECT_FALSE(parse_number(text, value)) << "'" << text << "'";
    }
}

TEST(ParseDelimiter, AcceptsOneCharacterOrTab) {
    EXPECT_EQ(parse_delimiter(","), ',');
    EXPECT_EQ(parse_delimiter(";"), ';');
    EXPECT_EQ(parse_delimiter("\\t"), '\t');
    EXPECT_EQ(parse_delimiter("tab"), '\t');
    EXPECT_EQ(parse_delimiter("\t"), '\t');
    for (const char* text : {"", ";;", "\"", "\n"}) {
        EXPECT_THROW((void)parse_delimiter(text), ConfigError) << text;
    }
}

TEST(CsvRecords, FollowsRfc4180Quoting) {
    std::istringstream in("a,\"b,c\",\"say \"\"hi\"\"\"\n\"two\nlines\",,\"\"\n");
    CsvRecords records(in, "t.csv", ',');
    std::vector<std::string> fields;
    ASSERT_EQ(records.next(fields), 3U);
    EXPECT_EQ(records.line(), 1);
    EXPECT_EQ(fields[0], "a");
    EXPECT_EQ(fields[1], "b,c");
    EXPECT_EQ(fields[2], "say \"hi\"");
    ASSERT_EQ(records.next(fields), 3U);
    EXPECT_EQ(records.line(), 2);
    EXPECT_EQ(fields[0], "two\nlines");
    EXPECT_EQ(fields[1], "");
    EXPECT_EQ(fields[2], "");
    EXPECT_EQ(records.next(fields), 0U);
}

TEST(CsvRecords, HandlesCrlfAndAMissingFinalNewline) {
    std::istringstream in("x,y\r\n1,2\r\n3,4");
    CsvRecords records(in, "t.csv", ',');
    std::vector<std::string> fields;
    ASSERT_EQ(records.next(fields), 2U);
    EXPECT_EQ(fields[1], "y");
    ASSERT_EQ(records.next(fields), 2U);
    EXPECT_EQ(fields[1], "2");
    ASSERT_EQ(records.next(fields), 2U);
    EXPECT_EQ(fields[1], "4");
    EXPECT_EQ(records.line(), 3);
    EXPECT_EQ(records.next(fields), 0U);
}

TEST(CsvReader, ReadsNumbersInBlocks) {
    const Parsed parsed = parse("1,2\n3,4\n5,6\n7,8\n", {}, 3);
    EXPECT_FALSE(parsed.header);
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"0", "1"}));
    EXPECT_EQ(parsed.rows, 4);
    EXPECT_EQ(parsed.values, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST(CsvReader, ReadsCrlfQuotedNumbersAndSpaces) {
    const Parsed parsed = parse("a,b\r\n\"1.5\", 2 \r\n-3,\"+4e1\"\r\n");
    EXPECT_TRUE(parsed.header);
    EXPECT_EQ(parsed.values, (std::vector<double>{1.5, 2, -3, 40}));
}

TEST(CsvReader, AcceptsNanAndInf) {
    const Parsed parsed = parse("nan,inf,-inf\n");
    ASSERT_EQ(parsed.values.size(), 3U);
    EXPECT_TRUE(std::isnan(parsed.values[0]));
    EXPECT_EQ(parsed.values[1], INFINITY);
    EXPECT_EQ(parsed.values[2], -INFINITY);
}

TEST(CsvReader, DetectsAHeaderWhenAFieldIsNotANumber) {
    EXPECT_TRUE(parse("x,1\n1,2\n").header);
    EXPECT_FALSE(parse("1,2\n3,4\n").header);
    const Parsed parsed = parse("\" a \",b\n1,2\n");
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"a", "b"}));
}

// The UTF-8 byte-order mark that Excel and Windows tools write at the start of a file.
const std::string byte_order_mark = "\xEF\xBB\xBF";

TEST(CsvReader, SkipsAByteOrderMarkBeforeAHeader) {
    const Parsed parsed = parse(byte_order_mark + "a,b\n1,2\n");
    EXPECT_TRUE(parsed.header);
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(parsed.values, (std::vector<double>{1, 2}));
    EXPECT_EQ(parse(byte_order_mark + "a,b\n1,2\n", select({"a"})).values,
              (std::vector<double>{1}));
}

TEST(CsvReader, SkipsAByteOrderMarkBeforeHeaderlessData) {
    const Parsed parsed = parse(byte_order_mark + "1.5,2\n3,4\n");
    EXPECT_FALSE(parsed.header);
    EXPECT_EQ(parsed.rows, 2);
    EXPECT_EQ(parsed.values, (std::vector<double>{1.5, 2, 3, 4}));
    // Only at the start of the file: elsewhere it is data, and not a number.
    EXPECT_NE(error_of<InputError>([] {
                  (void)parse("1,2\n" + byte_order_mark + "3,4\n");
              }).find("line 2, column index 0"),
              std::string::npos);
}

TEST(CsvReader, HeaderFlagsOverrideDetection) {
    CsvOptions header;
    header.header = CsvHeader::Yes;
    const Parsed parsed = parse("2020,2021\n1,2\n", header);
    EXPECT_TRUE(parsed.header);
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"2020", "2021"}));
    EXPECT_EQ(parsed.rows, 1);
    CsvOptions no_header;
    no_header.header = CsvHeader::No;
    EXPECT_NE(input_error("a,b\n1,2\n", no_header).find("line 1, column index 0"),
              std::string::npos);
}

TEST(CsvReader, SelectsColumnsByNameInTheGivenOrder) {
    const Parsed parsed = parse("id,x,y,z\nr1,1,2,3\nr2,4,5,6\n", select({"z", " x"}));
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"z", "x"}));
    EXPECT_EQ(parsed.values, (std::vector<double>{3, 1, 6, 4}));
}

TEST(CsvReader, SelectsColumnsByIndexAndLooksOnlyAtThemForTheHeader) {
    const Parsed data = parse("r1,1,2\nr2,3,4\n", select({"2", "1"}));
    EXPECT_FALSE(data.header);
    EXPECT_EQ(data.names, (std::vector<std::string>{"2", "1"}));
    EXPECT_EQ(data.values, (std::vector<double>{2, 1, 4, 3}));
    const Parsed named = parse("id,x,y\nr1,1,2\n", select({"2", "x"}));
    EXPECT_TRUE(named.header);
    EXPECT_EQ(named.names, (std::vector<std::string>{"y", "x"}));
    EXPECT_EQ(named.values, (std::vector<double>{2, 1}));
}

TEST(CsvReader, RefusesBadColumnSelections) {
    CsvOptions no_header = select({"x"});
    no_header.header = CsvHeader::No;
    EXPECT_NE(config_error("1,2\n", no_header).find("has no header row"), std::string::npos);
    EXPECT_NE(config_error("a,b\n1,2\n", select({"c"})).find("has no column 'c'"),
              std::string::npos);
    EXPECT_NE(config_error("a,b\n1,2\n", select({"2"})).find("indices run from 0 to 1"),
              std::string::npos);
    EXPECT_NE(config_error("a,b\n1,2\n", select({"a", "0"})).find("twice"), std::string::npos);
    EXPECT_NE(config_error("a,a\n1,2\n", select({"a"})).find("more than once"), std::string::npos);
}

TEST(CsvReader, ReportsTheLineOfEveryMalformedRow) {
    EXPECT_NE(input_error("a,b\n1,2\n3\n").find("'t.csv' line 3 has 1 fields but line 1 has 2"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\n3,4,5\n").find("line 3 has 3 fields"), std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\n3,x\n").find("line 3, column 'b' (index 1): 'x' is not a"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\n,4\n").find("line 3, column 'a' (index 0): the value is"),
              std::string::npos);
    EXPECT_NE(input_error("1,2\n3,  \n").find("line 2, column index 1: the value is empty"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\n\"3,4\n5,6\n").find("line 3: a quoted field is never"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,\"2\"x\n").find("line 2: 'x' follows a closing quote"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\"\n").find("line 2: a quote inside an unquoted field"),
              std::string::npos);
    EXPECT_NE(input_error("a,b\n1,2\n\n3,4\n").find("line 3 is blank"), std::string::npos);
    EXPECT_NE(input_error("\na,b\n1,2\n").find("line 1 is blank"), std::string::npos);
}

TEST(CsvReader, CountsLinesInsideQuotedFields) {
    EXPECT_NE(input_error("\"first\nname\",b\n1,2\n3\n").find("line 4 has 1 fields"),
              std::string::npos);
}

TEST(CsvReader, IgnoresBlankLinesAtTheEnd) {
    EXPECT_EQ(parse("a\n1\n2\n\n\r\n").rows, 2);
}

TEST(CsvReader, ChecksTheFloat32Range) {
    EXPECT_NE(input_error("1e39\n").find("beyond the float32 range; import with --dtype float64"),
              std::string::npos);
    CsvOptions wide;
    wide.type = CsvType::Float64;
    EXPECT_EQ(parse("1e39\n", wide).values, (std::vector<double>{1e39}));
}

TEST(CsvReader, ReadsOtherDelimiters) {
    CsvOptions tabs;
    tabs.delimiter = '\t';
    const Parsed parsed = parse("a\tb\n1.5\t2\n", tabs);
    EXPECT_EQ(parsed.values, (std::vector<double>{1.5, 2}));
    CsvOptions semicolons;
    semicolons.delimiter = ';';
    const Parsed quoted = parse("a;\"b;c\"\n1;\"2\"\n", semicolons);
    EXPECT_EQ(quoted.names, (std::vector<std::string>{"a", "b;c"}));
    EXPECT_EQ(quoted.values, (std::vector<double>{1, 2}));
}

TEST(CsvReader, RefusesAnEmptyFile) {
    EXPECT_NE(input_error("").find("'t.csv' is empty"), std::string::npos);
    EXPECT_NE(input_error("\n\n").find("is empty"), std::string::npos);
}

TEST(CsvReader, ReadsAHeaderOnlyFileAsNoRows) {
    const Parsed parsed = parse("a,b,c\n");
    EXPECT_TRUE(parsed.header);
    EXPECT_EQ(parsed.rows, 0);
    EXPECT_EQ(parsed.names, (std::vector<std::string>{"a", "b", "c"}));
}

class CsvImport : public ::testing::Test {
protected:
    CsvImportConfig config(const std::string& text) const {
        std::ofstream(dir_.file("in.csv")) << text;
        CsvImportConfig config;
        config.csv_path = dir_.file("in.csv");
        config.output_file = dir_.file("out.h5");
        return config;
    }

    testing::TempDir dir_;
};

TEST_F(CsvImport, WritesTheDatasetAndItsColumnNames) {
    CsvImportConfig import = config("id,x,y\nr1,1.5,2\nr2,3,4\n");
    import.dataset = "/group/features";
    import.options.columns = {"y", "x"};
    import.options.type = CsvType::Float64;
    const CsvImportReport report = import_csv(import);
    EXPECT_EQ(report.rows, 2);
    EXPECT_EQ(report.cols, 2);
    const h5::Handle file = h5::open_file(import.output_file);
    const h5::Handle dataset = h5::open_dataset(file.get(), "/group/features");
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    EXPECT_EQ(info.dims, (std::vector<std::int64_t>{2, 2}));
    EXPECT_EQ(info.type_description, "float64");
    std::vector<std::int64_t> dims;
    EXPECT_EQ(h5::read_all(dataset.get(), dims), (std::vector<float>{2, 1.5, 4, 3}));
    EXPECT_EQ(h5::read_string_list_attribute(dataset.get(), "columns"),
              (std::vector<std::string>{"y", "x"}));
}

TEST_F(CsvImport, WritesAHeaderOnlyFileAsZeroRows) {
    const CsvImportConfig import = config("a,b,c\n");
    EXPECT_EQ(import_csv(import).rows, 0);
    const h5::Handle file = h5::open_file(import.output_file);
    const h5::Handle dataset = h5::open_dataset(file.get(), "/features");
    const h5::DatasetInfo info = h5::dataset_info(dataset.get());
    EXPECT_EQ(info.dims, (std::vector<std::int64_t>{0, 3}));
    EXPECT_EQ(info.type_description, "float32");
}

TEST_F(CsvImport, LeavesNothingBehindOnAMalformedRow) {
    // More rows than one block, so the failure comes after blocks were written.
    std::string text = "a,b\n";
    for (int i = 0; i < 70000; ++i) text += std::to_string(i) + ",1\n";
    text += "oops,1\n";
    const CsvImportConfig import = config(text);
    EXPECT_NE(error_of<InputError>([&] { (void)import_csv(import); }).find("line 70002"),
              std::string::npos);
    std::vector<std::string> left;
    for (const auto& entry : std::filesystem::directory_iterator(dir_.path())) {
        left.push_back(entry.path().filename().string());
    }
    EXPECT_EQ(left, (std::vector<std::string>{"in.csv"}));
}

TEST_F(CsvImport, RefusesAnExistingOutputWithoutOverwrite) {
    CsvImportConfig import = config("1,2\n");
    std::ofstream(import.output_file) << "keep";
    EXPECT_THROW((void)import_csv(import), IoError);
    import.overwrite = true;
    EXPECT_EQ(import_csv(import).rows, 1);
}

}  // namespace
}  // namespace h5infer::io
