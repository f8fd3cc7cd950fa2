#pragma once

#include <functional>
#include <string>
#include <vector>

#include "io/input.hpp"

namespace h5infer::io {

/// One input and the prediction file it maps to.
struct Job {
    DatasetRef input;   ///< dataset empty when the argument omitted it
    DatasetRef output;  ///< file and dataset (default /predictions)
};

/// Files that patterns leave out (h5infer's own, in a directory that is both input and
/// output), and those they left out.
struct PatternFilter {
    std::function<bool(const std::string&)> leaves_out;
    std::vector<std::string> left_out;
};

/// The --input arguments made concrete: each is FILE[:DATASET], where FILE may be a glob
/// pattern (`data/*.h5:/features`, matches sorted by name, except those `filter` leaves out);
/// a FILE that exists is that file, whatever characters its name holds. `input_list`, when not
/// empty, is a file with one such argument per line (blank lines and lines starting with '#'
/// ignored). Throws ConfigError when a pattern matches nothing or the list cannot be read.
[[nodiscard]] std::vector<DatasetRef> expand_inputs(const std::vector<std::string>& arguments,
                                                    const std::string& input_list,
                                                    PatternFilter* filter = nullptr);

/// The prediction file name of an input file in --output-dir: its base name with the
/// extension (.h5, .hdf5, .he5, .hdf) replaced by ".predictions.h5", e.g.
/// "/data/run_07.h5" -> "<dir>/run_07.predictions.h5".
[[nodiscard]] std::string output_name_for(const std::string& input_file,
                                          const std::string& output_dir);

/// Pairs every input with its output: `output` (FILE[:DATASET]) for a single input, or one
/// file per input in `output_dir`. Exactly one of the two must be given. Throws ConfigError
/// when an input is listed twice or two inputs would write the same prediction file.
[[nodiscard]] std::vector<Job> list_jobs(const std::vector<DatasetRef>& inputs,
                                         const std::string& output, const std::string& output_dir);

}  // namespace h5infer::io
