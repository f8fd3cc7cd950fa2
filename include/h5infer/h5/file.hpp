#pragma once

#include <cstdint>
#include <string>

#include "h5infer/h5/handle.hpp"
#include "h5infer/mpi/comm.hpp"

namespace h5infer::h5 {

/// True if `path` is an HDF5 file (has an HDF5 signature). False for missing or other files.
[[nodiscard]] bool is_hdf5(const std::string& path);

/// Opens an existing file on this rank only (POSIX driver). Throws IoError.
[[nodiscard]] Handle open_file(const std::string& path, bool writable = false);

/// The oldest HDF5 a created file must stay readable by.
enum class Compatibility {
    Any,      ///< HDF5's default format; an attribute holds at most 64 KiB
    Hdf5V18,  ///< HDF5 1.8 and later (h5py included): the format dense attribute storage needs
};

/// Objects of at least this many bytes start at a multiple of create_file()'s `alignment`:
/// the datasets of a prediction file, not the small metadata, which would each take a whole
/// alignment unit.
inline constexpr std::int64_t alignment_threshold = std::int64_t{64} << 10;

/// Creates (truncating) a file on this rank only; with `alignment` > 0, every object of at least
/// alignment_threshold bytes starts at a multiple of it (a parallel file system's stripe or
/// block size). Throws IoError.
[[nodiscard]] Handle create_file(const std::string& path,
                                 Compatibility compatibility = Compatibility::Any,
                                 std::int64_t alignment = 0);

/// Collective. Creates (truncating) a file through MPI-IO, shared by every rank of `comm`.
[[nodiscard]] Handle create_file_parallel(const std::string& path, const mpi::Comm& comm);

/// Collective. Opens an existing file through MPI-IO, shared by every rank of `comm`, passing
/// MPI-IO the hints `hints` (MPI_INFO_NULL: none).
[[nodiscard]] Handle open_file_parallel(const std::string& path, const mpi::Comm& comm,
                                        MPI_Info hints = MPI_INFO_NULL);

/// The name HDF5 opened the file of `object` (a file, group or dataset) by: for an object
/// reached through an external link, the link's target. Throws IoError.
[[nodiscard]] std::string file_name(hid_t object);

/// Collective on parallel files. Writes the file's cached data and metadata to storage (and,
/// through MPI-IO, syncs it), so a process killed afterwards leaves a readable file.
void flush(hid_t file);

/// For a file opened on this rank only that is being thrown away (a temporary whose writing
/// failed): sends whatever HDF5 still has to write to it nowhere, so closing its objects and the
/// file cannot fail. Call it before any of its handles closes: HDF5 1.10 leaves an object whose
/// close failed (a full disk) half freed, and closes it again when the library shuts down, which
/// crashes the process. The file's contents are undefined afterwards. Never throws.
void discard_pending_writes(hid_t file) noexcept;

}  // namespace h5infer::h5
