// The CSV reader is strict on purpose: a missing or mistyped value must stop the import with
// its line and column, never become a silent NaN or zero that shifts the predictions.

#include "io/csv.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <system_error>
#include <utility>

#include "h5infer/error.hpp"

namespace h5infer::io {
namespace {

constexpr std::size_t read_block_bytes = std::size_t{1} << 16;
constexpr std::size_t max_listed_names = 20;
constexpr std::size_t max_shown_value = 40;

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

// A value as shown in a message: long values are cut, control characters made visible.
std::string shown(const std::string& value) {
    std::string text;
    for (char c : value.substr(0, max_shown_value)) {
        if (c == '\t') {
            text += "\\t";
        } else if (std::iscntrl(static_cast<unsigned char>(c)) != 0) {
            text += '?';
        } else {
            text += c;
        }
    }
    return quoted(text + (value.size() > max_shown_value ? "..." : ""));
}

std::string char_name(int c) {
    if (c == '\t') return "a tab";
    if (c == '\r') return "a carriage return";
    return "'" + std::string(1, static_cast<char>(c)) + "'";
}

bool is_index(const std::string& token) {
    return !token.empty() && std::all_of(token.begin(), token.end(), [](char c) {
        return std::isdigit(static_cast<unsigned char>(c)) != 0;
    });
}

std::string trimmed(const std::string& text) {
    const std::size_t begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos) return "";
    return text.substr(begin, text.find_last_not_of(" \t") - begin + 1);
}

bool is_blank(const std::string& text) {
    return text.find_first_not_of(" \t") == std::string::npos;
}

std::string name_list(const std::vector<std::string>& names) {
    std::string text;
    for (std::size_t i = 0; i < names.size() && i < max_listed_names; ++i) {
        text += (i > 0 ? ", " : "") + quoted(names[i]);
    }
    if (names.size() > max_listed_names) text += ", ...";
    return text;
}

}  // namespace

char parse_delimiter(const std::string& text) {
    if (text == "\\t" || text == "tab" || text == "\t") return '\t';
    if (text.size() != 1 || text == "\"" || text == "\n" || text == "\r") {
        throw ConfigError("--delimiter " + quoted(text) +
                          " is not usable: give one character other than a quote or a line "
                          "break, e.g. --delimiter ';' or --delimiter '\\t' for tabs");
    }
    return text[0];
}

bool parse_number(const std::string& text, double& value) {
    const std::size_t begin = text.find_first_not_of(" \t");
    if (begin == std::string::npos) return false;
    const std::size_t end = text.find_last_not_of(" \t") + 1;
    const char* first = text.data() + begin;
    const char* last = text.data() + end;
    // from_chars takes a '-' but not a '+'.
    if (*first == '+' && last - first > 1 && first[1] != '-' && first[1] != '+') ++first;
    const std::from_chars_result result = std::from_chars(first, last, value);
    return result.ec == std::errc() && result.ptr == last;
}

CsvRecords::CsvRecords(std::istream& in, std::string name, char delimiter)
    : in_(in), name_(std::move(name)), delimiter_(delimiter), buffer_(read_block_bytes) {}

int CsvRecords::peek() {
    if (position_ == end_) {
        if (!in_.good()) return EOF;
        in_.read(buffer_.data(), static_cast<std::streamsize>(buffer_.size()));
        if (in_.bad()) {
            throw IoError("cannot read " + quoted(name_) + " after line " +
                          std::to_string(current_line_) + ": " + std::strerror(errno));
        }
        position_ = 0;
        end_ = static_cast<std::size_t>(in_.gcount());
        if (end_ == 0) return EOF;
    }
    return static_cast<unsigned char>(buffer_[position_]);
}

int CsvRecords::get() {
    const int c = peek();
    if (c != EOF) {
        ++position_;
        if (c == '\n') ++current_line_;
    }
    return c;
}

std::string CsvRecords::where() const {
    return quoted(name_) + " line " + std::to_string(current_line_);
}

// Excel and Windows tools start UTF-8 text with a byte-order mark; it is not part of the first
// field.
void CsvRecords::skip_byte_order_mark() {
    at_start_ = false;
    constexpr std::string_view mark = "\xEF\xBB\xBF";
    if (peek() != EOF && end_ - position_ >= mark.size() &&
        std::string_view(buffer_.data() + position_, mark.size()) == mark) {
        position_ += mark.size();
    }
}

std::size_t CsvRecords::next(std::vector<std::string>& fields) {
    if (at_start_) skip_byte_order_mark();
    int c = get();
    if (c == EOF) return 0;
    record_line_ = current_line_ - (c == '\n' ? 1 : 0);
    blank_ = c == '\n' || (c == '\r' && peek() == '\n');
    std::size_t count = 0;
    while (true) {
        if (fields.size() <= count) fields.emplace_back();
        std::string& field = fields[count++];
        field.clear();
        if (c == '"') {
            const std::int64_t quote_line = current_line_;
            while (true) {
                c = get();
                if (c == EOF) {
                    throw InputError(quoted(name_) + " line " + std::to_string(quote_line) +
                                     ": a quoted field is never closed; add the closing '\"' "
                                     "(a quote inside a quoted field is written \"\")");
                }
                if (c == '"') {
                    if (peek() != '"') break;
                    c = get();
                }
                field += static_cast<char>(c);
            }
            c = get();
            if (c != delimiter_ && c != '\n' && c != EOF && !(c == '\r' && peek() == '\n')) {
                throw InputError(where() + ": " + char_name(c) +
                                 " follows a closing quote; quote the whole field and write a "
                                 "quote inside it as \"\"");
            }
        } else {
            while (c != delimiter_ && c != '\n' && c != EOF && !(c == '\r' && peek() == '\n')) {
                if (c == '"') {
                    throw InputError(where() +
                                     ": a quote inside an unquoted field; quote the whole field "
                                     "and write the quote as \"\"");
                }
                field += static_cast<char>(c);
                c = get();
            }
        }
        if (c == delimiter_) {
            c = get();
            continue;
        }
        if (c == '\r') get();  // the '\n' of a CRLF
        return count;
    }
}

CsvReader::CsvReader(std::istream& in, std::string name, CsvOptions options)
    : records_(in, name, options.delimiter), name_(std::move(name)), options_(std::move(options)) {
    width_ = next_record();
    if (width_ == 0) {
        throw InputError("CSV file " + quoted(name_) +
                         " is empty: it needs data rows, with or without a header row");
    }
    first_line_ = records_.line();
    const bool by_name =
        std::any_of(options_.columns.begin(), options_.columns.end(),
                    [](const std::string& token) { return !is_index(trimmed(token)); });
    if (options_.header == CsvHeader::Auto) {
        resolve_columns(false);
        has_header_ = by_name || looks_like_header();
    } else {
        has_header_ = options_.header == CsvHeader::Yes;
    }
    if (has_header_) {
        header_.assign(fields_.begin(), fields_.begin() + static_cast<std::ptrdiff_t>(width_));
        for (std::string& column : header_) column = trimmed(column);
    }
    pending_row_ = !has_header_;
    resolve_columns(by_name);
}

std::size_t CsvReader::next_record() {
    while (true) {
        const std::size_t count = records_.next(fields_);
        if (count == 0) return 0;  // blank lines at the end of the file are ignored
        if (!records_.blank()) {
            if (blank_line_ != 0) {
                throw InputError(quoted(name_) + " line " + std::to_string(blank_line_) +
                                 " is blank; remove it (only blank lines at the end of the file "
                                 "are ignored)");
            }
            return count;
        }
        if (blank_line_ == 0) blank_line_ = records_.line();
    }
}

void CsvReader::resolve_columns(bool by_name) {
    selected_.clear();
    names_.clear();
    if (options_.columns.empty()) {
        for (std::size_t j = 0; j < width_; ++j) selected_.push_back(j);
    }
    for (const std::string& raw_token : options_.columns) {
        const std::string token = trimmed(raw_token);
        std::size_t index = 0;
        if (is_index(token)) {
            const auto parsed = std::from_chars(token.data(), token.data() + token.size(), index);
            if (parsed.ec != std::errc() || index >= width_) {
                throw ConfigError("--columns " + token + ": " + quoted(name_) + " has " +
                                  std::to_string(width_) + " columns, so indices run from 0 to " +
                                  std::to_string(width_ - 1));
            }
        } else if (!has_header_) {
            if (!by_name) continue;  // only deciding about the header for now
            throw ConfigError("--columns selects " + quoted(token) + " by name, but " +
                              quoted(name_) +
                              " has no header row; pass --header if its first line names the "
                              "columns, or select columns by 0-based index");
        } else {
            const auto found = std::find(header_.begin(), header_.end(), token);
            if (found == header_.end()) {
                throw ConfigError("--columns: " + quoted(name_) + " has no column " +
                                  quoted(token) + " (its header names " + name_list(header_) + ")");
            }
            index = static_cast<std::size_t>(found - header_.begin());
            if (std::find(found + 1, header_.end(), token) != header_.end()) {
                throw ConfigError("--columns: the header of " + quoted(name_) + " names " +
                                  quoted(token) +
                                  " more than once; select the column by 0-based index");
            }
        }
        if (std::find(selected_.begin(), selected_.end(), index) != selected_.end()) {
            throw ConfigError("--columns selects column " + quoted(token) + " twice");
        }
        selected_.push_back(index);
    }
    for (std::size_t index : selected_) {
        names_.push_back(has_header_ ? header_[index] : std::to_string(index));
    }
}

bool CsvReader::looks_like_header() const {
    double value = 0;
    return std::any_of(selected_.begin(), selected_.end(), [&](std::size_t j) {
        return !is_blank(fields_[j]) && !parse_number(fields_[j], value);
    });
}

std::string CsvReader::column_label(std::size_t index) const {
    if (has_header_)
        return "column " + quoted(header_[index]) + " (index " + std::to_string(index) + ")";
    return "column index " + std::to_string(index);
}

void CsvReader::convert_row(double* dst) const {
    const std::string where = quoted(name_) + " line " + std::to_string(records_.line()) + ", ";
    for (std::size_t k = 0; k < selected_.size(); ++k) {
        const std::size_t j = selected_[k];
        double& value = dst[k];
        if (is_blank(fields_[j])) {
            throw InputError(where + column_label(j) +
                             ": the value is empty; fill it in or drop the row (missing values "
                             "are not imported)");
        }
        if (!parse_number(fields_[j], value)) {
            throw InputError(where + column_label(j) + ": " + shown(fields_[j]) +
                             " is not a number; fix the value, or leave the column out with "
                             "--columns");
        }
        if (options_.type == CsvType::Float32 && std::isfinite(value) &&
            std::abs(value) > std::numeric_limits<float>::max()) {
            throw InputError(where + column_label(j) + ": " + shown(fields_[j]) +
                             " is beyond the float32 range; import with --dtype float64");
        }
    }
}

std::int64_t CsvReader::read(std::int64_t max_rows, std::vector<double>& dst) {
    const std::size_t cols = selected_.size();
    dst.resize(static_cast<std::size_t>(std::max<std::int64_t>(max_rows, 0)) * cols);
    std::int64_t rows = 0;
    while (rows < max_rows) {
        if (!pending_row_) {
            const std::size_t count = next_record();
            if (count == 0) break;
            if (count != width_) {
                throw InputError(quoted(name_) + " line " + std::to_string(records_.line()) +
                                 " has " + std::to_string(count) + " fields but line " +
                                 std::to_string(first_line_) + " has " + std::to_string(width_) +
                                 "; every row needs the same fields (quote a field that "
                                 "contains the delimiter)");
            }
        }
        pending_row_ = false;
        convert_row(dst.data() + static_cast<std::size_t>(rows) * cols);
        ++rows;
    }
    return rows;
}

}  // namespace h5infer::io
