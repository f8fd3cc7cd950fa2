#pragma once

#include <string>

namespace h5infer {

/// What `path` leads to when it is not a regular file: "a directory", "a FIFO (named pipe)",
/// "a character device", "a block device", "a socket" or "a special file"; "" for a regular file
/// and for a path that cannot be looked at (the open that follows reports why). Inputs and models
/// are checked with it before they are opened: opening a FIFO waits for a writer (a run that
/// hangs), and reading a device such as /dev/zero never ends.
[[nodiscard]] std::string special_file_kind(const std::string& path);

}  // namespace h5infer
