#pragma once

#include <hdf5.h>

#include <cstdint>
#include <string>
#include <vector>

namespace h5infer::h5 {

/// Attribute helpers on a file, group or dataset. Writes are collective on parallel files
/// (every rank writes the same value).
void write_attribute(hid_t location, const std::string& name, const std::string& value);
/// Writes a scalar int64 attribute, as above.
void write_attribute(hid_t location, const std::string& name, std::int64_t value);
/// Writes a scalar float64 attribute, as above.
void write_attribute(hid_t location, const std::string& name, double value);
/// Writes a 1-D attribute of variable-length UTF-8 strings (serial files).
void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::string>& values);
/// Whether `location` has an attribute called `name`; throws IoError if HDF5 cannot tell.
[[nodiscard]] bool has_attribute(hid_t location, const std::string& name);
/// Names of the attributes of `location`, in ascending name order.
[[nodiscard]] std::vector<std::string> attribute_names(hid_t location);
/// Reads an attribute; throws IoError if it is missing or of another kind.
[[nodiscard]] std::string read_string_attribute(hid_t location, const std::string& name);
/// Reads a single-number attribute as int64; throws IoError as above, and when the number is
/// not an integer (1.9, NaN) or beyond the int64 range.
[[nodiscard]] std::int64_t read_int_attribute(hid_t location, const std::string& name);
/// Reads a single-number attribute as float64 (HDF5 converts); throws IoError as above.
[[nodiscard]] double read_double_attribute(hid_t location, const std::string& name);
/// Reads a 1-D (or scalar) string attribute as a list; throws IoError if it is not strings.
[[nodiscard]] std::vector<std::string> read_string_list_attribute(hid_t location,
                                                                  const std::string& name);

/// Writes a 1-D int64 attribute; collective on parallel files (every rank writes the same).
void write_attribute(hid_t location, const std::string& name,
                     const std::vector<std::int64_t>& values);

/// Reads a 1-D (or scalar) numeric attribute as float64 values (HDF5 converts); throws IoError
/// if it is not numbers.
[[nodiscard]] std::vector<double> read_double_list_attribute(hid_t location,
                                                             const std::string& name);

/// Writes a 1-D float64 attribute (serial files).
void write_attribute(hid_t location, const std::string& name, const std::vector<double>& values);

}  // namespace h5infer::h5
