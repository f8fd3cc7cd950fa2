#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

namespace h5infer::io {

/// Whether the first row of a CSV file names the columns.
enum class CsvHeader {
    Auto,  ///< a header when any of its (selected) fields is neither empty nor a number
    Yes,   ///< always a header
    No,    ///< always data
};

/// The element type values are checked against and stored as.
enum class CsvType { Float32, Float64 };

/// How to read a CSV file. Indices are 0-based.
struct CsvOptions {
    char delimiter = ',';
    CsvHeader header = CsvHeader::Auto;
    /// Columns to keep, in this order: header names, or 0-based indices (a token made only of
    /// digits is an index). Empty: every column.
    std::vector<std::string> columns;
    CsvType type = CsvType::Float32;
};

/// Parses a --delimiter value: one character other than a quote or a line break, or "\t" /
/// "tab" for a tab. Throws ConfigError.
[[nodiscard]] char parse_delimiter(const std::string& text);

/// Parses one numeric CSV value: a decimal or scientific number with optional sign, or
/// nan / inf / infinity in any case, with spaces and tabs around it ignored. False for
/// anything else, including an empty field and numbers beyond float64.
[[nodiscard]] bool parse_number(const std::string& text, double& value);

/// Splits CSV text (RFC 4180) into records, one buffered block of input at a time: fields
/// are separated by the delimiter, records end at LF or CRLF, and a field that starts with a
/// double quote runs to the matching quote ("" inside it is one quote; delimiters and line
/// breaks inside it are data). A UTF-8 byte-order mark at the start of the text is skipped.
/// Throws InputError for a quote left open or misplaced, IoError
/// when reading fails.
class CsvRecords {
public:
    /// Reads from `in`, which must outlive this object; `name` is the file name for messages.
    CsvRecords(std::istream& in, std::string name, char delimiter);

    /// Reads the next record into fields[0, n) and returns n (at least 1); returns 0 at the end
    /// of the text. Entries of `fields` past n are left over from earlier records.
    std::size_t next(std::vector<std::string>& fields);

    /// 1-based line on which the last record began.
    [[nodiscard]] std::int64_t line() const { return record_line_; }

    /// True if the last record was an empty line (no characters at all).
    [[nodiscard]] bool blank() const { return blank_; }

private:
    int get();
    int peek();
    void skip_byte_order_mark();
    [[nodiscard]] std::string where() const;

    std::istream& in_;
    std::string name_;
    char delimiter_ = ',';
    std::vector<char> buffer_;
    std::size_t position_ = 0;
    std::size_t end_ = 0;
    std::int64_t current_line_ = 1;
    std::int64_t record_line_ = 0;
    bool blank_ = false;
    bool at_start_ = true;
};

/// Streams the numeric rows of a CSV file, in constant memory. The constructor reads the first
/// row, decides whether it is a header and resolves the selected columns; read() then returns
/// blocks of rows. Every row must have as many fields as the first; every selected field must
/// be a number (see parse_number()) within the range of the element type. Blank lines are
/// errors, except at the end of the file. Throws InputError (content, naming the file, line and
/// column) or ConfigError (a selected column that does not exist).
class CsvReader {
public:
    CsvReader(std::istream& in, std::string name, CsvOptions options);

    /// Names of the selected columns: from the header, or their 0-based indices as text when
    /// the file has none.
    [[nodiscard]] const std::vector<std::string>& column_names() const { return names_; }

    /// Number of selected columns.
    [[nodiscard]] std::int64_t cols() const { return static_cast<std::int64_t>(selected_.size()); }

    /// Whether the first row was taken as a header.
    [[nodiscard]] bool has_header() const { return has_header_; }

    /// Reads up to `max_rows` rows into `dst` (row-major, rows x cols(); resized as needed) and
    /// returns how many were read: fewer than `max_rows` only at the end of the file.
    std::int64_t read(std::int64_t max_rows, std::vector<double>& dst);

private:
    std::size_t next_record();
    void resolve_columns(bool by_name);
    bool looks_like_header() const;
    void convert_row(double* dst) const;
    [[nodiscard]] std::string column_label(std::size_t index) const;

    CsvRecords records_;
    std::string name_;
    CsvOptions options_;
    std::vector<std::string> fields_;
    std::vector<std::string> header_;
    std::vector<std::string> names_;
    std::vector<std::size_t> selected_;
    std::size_t width_ = 0;
    std::int64_t first_line_ = 0;
    std::int64_t blank_line_ = 0;  ///< first blank line not yet followed by a record, or 0
    bool has_header_ = false;
    bool pending_row_ = false;  ///< fields_ holds a data row not yet returned
};

}  // namespace h5infer::io
