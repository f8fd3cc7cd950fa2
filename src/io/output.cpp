#include "io/output.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <limits>
#include <map>
#include <utility>

#include "file_kind.hpp"
#include "h5infer/error.hpp"
#include "io/labels.hpp"
#include "stop.hpp"

namespace h5infer::io {
namespace {

std::string quoted(const std::string& text) {
    return "'" + text + "'";
}

std::string directory_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string name_of(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
}

// A run over thousands of inputs holds a lock file open per output: lifts the soft limit on
// open files to the hard one. False when it already was there.
bool raise_open_file_limit() {
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return false;
    limit.rlim_cur = limit.rlim_max;
    return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// RENAME_NOREPLACE closes the window between the early existence check and now. False, with
// errno set, when the file cannot be renamed.
bool rename_into_place(const std::string& temporary, const std::string& final_path,
                       bool overwrite) {
    const unsigned flags = overwrite ? 0U : RENAME_NOREPLACE;
    if (::renameat2(AT_FDCWD, temporary.c_str(), AT_FDCWD, final_path.c_str(), flags) == 0) {
        return true;
    }
    if (errno == EINVAL && !overwrite) {  // filesystem without RENAME_NOREPLACE
        struct stat info {};
        if (::stat(final_path.c_str(), &info) != 0) {
            return std::rename(temporary.c_str(), final_path.c_str()) == 0;
        }
        errno = EEXIST;
    }
    return false;
}

// Writes a directory's entries to storage, so a rename into it survives a crash. Some file
// systems cannot sync a directory (EINVAL); there the rename is as durable as they make it.
void sync_directory(const std::string& directory) {
    const Descriptor entries(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (entries.valid() && ::fsync(entries.get()) != 0 && errno != EINVAL) {
        throw IoError("cannot write the entries of directory " + quoted(directory) +
                      " to storage: " + std::strerror(errno));
    }
}

// The longest of h5infer's names beside an output must fit the file system's name limit, or the
// run would fail later, creating its lock file, with a bare "File name too long".
void check_name_length(const std::string& path, const std::string& directory,
                       const std::string& what) {
    const long limit = ::pathconf(directory.c_str(), _PC_NAME_MAX);  // NOLINT(google-runtime-int)
    const std::string longest = name_of(temporary_path(path, "partial"));
    if (limit > 0 && longest.size() > static_cast<std::size_t>(limit)) {
        throw IoError(what + " " + quoted(path) + ": its name is too long for the file system (" +
                      "the partial file " + quoted(longest) + " needs " +
                      std::to_string(longest.size()) + " bytes, at most " + std::to_string(limit) +
                      " are allowed); choose a shorter name");
    }
}

// Descriptors are numbered lowest free first, so a lock's number counts the files open below
// it. EMFILE counts as no room left.
void check_room(const Descriptor& lock, const LockBudget& budget, const std::string& final_path) {
    struct rlimit limit {};
    if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return;
    const auto used = static_cast<rlim_t>(lock.valid() ? lock.get() + 1 : limit.rlim_cur);
    if (used + descriptors_beside_locks <= limit.rlim_cur) return;
    if (raise_open_file_limit() && ::getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
        used + descriptors_beside_locks <= limit.rlim_cur) {
        return;
    }
    const rlim_t needed = used - budget.held - 1 + budget.outputs + descriptors_beside_locks;
    throw IoError("cannot lock output " + quoted(final_path) + ": a run holds one lock file open " +
                  "per output until it ends, and the " + std::to_string(budget.outputs) +
                  " outputs of this one need about " + std::to_string(needed) +
                  " open files, more than the limit of " + std::to_string(limit.rlim_cur) +
                  " (ulimit -n); raise it (ulimit -n " + std::to_string(needed) +
                  " before starting the job; the hard limit, ulimit -Hn, is " +
                  std::to_string(limit.rlim_max) + ") or give fewer inputs per run");
}

// The lock file, created if missing, never through a link.
Descriptor open_lock_file(const std::string& path, const std::string& final_path,
                          const LockBudget& budget) {
    for (;;) {
        refuse_link(path, "lock file", final_path);
        Descriptor descriptor(
            ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0644));
        if (descriptor.valid()) return descriptor;
        if (errno == EMFILE && raise_open_file_limit()) continue;
        if (errno == ELOOP) refuse_link(path, "lock file", final_path);
        if (errno == EMFILE && budget.held > 0) check_room(descriptor, budget, final_path);
        throw IoError("cannot create the lock file " + quoted(path) + " of output " +
                      quoted(final_path) + ": " + std::strerror(errno));
    }
}

// Who holds a lock, as the holder wrote it in the file.
std::string lock_holder(int descriptor) {
    std::string holder(256, '\0');
    const ::ssize_t got = ::pread(descriptor, holder.data(), holder.size() - 1, 0);
    holder.resize(got > 0 ? static_cast<std::size_t>(got) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == '\0')) holder.pop_back();
    return holder;
}

// Bytes as a person reads them: "8.0 TiB".
std::string human_bytes(std::int64_t bytes) {
    constexpr std::array<const char*, 6> units{"bytes", "KiB", "MiB", "GiB", "TiB", "PiB"};
    auto value = static_cast<double>(bytes);
    std::size_t unit = 0;
    while (value >= 1024.0 && unit + 1 < units.size()) {
        value /= 1024.0;
        ++unit;
    }
    std::array<char, 32> text{};
    std::snprintf(text.data(), text.size(), unit == 0 ? "%.0f %s" : "%.1f %s", value, units[unit]);
    return text.data();
}

// The blocks a file already holds on disk; 0 when it does not exist.
std::int64_t allocated_bytes(const std::string& path) {
    struct stat info {};
    constexpr std::int64_t block_bytes = 512;  // st_blocks counts 512-byte units
    return ::stat(path.c_str(), &info) == 0
               ? static_cast<std::int64_t>(info.st_blocks) * block_bytes
               : 0;
}

// The outputs planned on one file system, the bytes they need and the largest of them.
struct FileSystemNeed {
    std::string directory;
    std::int64_t bytes = 0;
    std::int64_t outputs = 0;
    const PlannedOutput* largest = nullptr;
};

}  // namespace

void check_output_space(const std::vector<PlannedOutput>& outputs) {
    std::map<dev_t, FileSystemNeed> needs;
    for (const PlannedOutput& output : outputs) {
        const std::string directory = directory_of(output.path);
        struct stat info {};
        if (::stat(directory.c_str(), &info) != 0) continue;  // check_output_path() reports it
        FileSystemNeed& need = needs[info.st_dev];
        need.directory = directory;
        const std::int64_t bytes =
            std::max<std::int64_t>(output.bytes - allocated_bytes(output.partial), 0);
        if (__builtin_add_overflow(need.bytes, bytes, &need.bytes)) {
            need.bytes = std::numeric_limits<std::int64_t>::max();
        }
        ++need.outputs;
        if (need.largest == nullptr || output.bytes > need.largest->bytes) need.largest = &output;
    }
    for (const auto& [device, need] : needs) {
        struct statvfs space {};
        if (::statvfs(need.directory.c_str(), &space) != 0) continue;
        const auto free_bytes = static_cast<std::int64_t>(std::min<unsigned long long>(
            static_cast<unsigned long long>(space.f_bavail) * space.f_frsize,
            std::numeric_limits<std::int64_t>::max()));
        if (need.bytes <= free_bytes) continue;
        throw IoError("the predictions of " + std::to_string(need.outputs) + " input(s) need " +
                      std::to_string(need.bytes) + " bytes (" + human_bytes(need.bytes) +
                      ") in output directory " + quoted(need.directory) + ", which has " +
                      std::to_string(free_bytes) + " bytes (" + human_bytes(free_bytes) +
                      ") free; the largest is " + quoted(need.largest->input) + " into " +
                      quoted(need.largest->path) + " (" + human_bytes(need.largest->bytes) +
                      "): check that input's row count, or free space or write elsewhere");
    }
}

void check_output_path(const std::string& path, bool overwrite, const std::string& what) {
    if (path.empty() || path.back() == '/') {
        throw IoError(what + " " + quoted(path) + " names a directory; give a file name");
    }
    struct stat info {};
    if (::stat(path.c_str(), &info) == 0) {
        const std::string kind = special_file_kind(path);
        if (!kind.empty()) {
            throw IoError(what + " " + quoted(path) + " is " + kind + "; give a file name");
        }
        if (!overwrite) {
            throw IoError(what + " " + quoted(path) +
                          " exists; pass --overwrite to replace it or choose another name");
        }
    }
    const std::string directory = directory_of(path);
    if (::stat(directory.c_str(), &info) != 0) {
        throw IoError(what + " directory " + quoted(directory) +
                      " does not exist; create it first (mkdir -p " + directory + ")");
    }
    if (!S_ISDIR(info.st_mode)) {
        const std::string kind = special_file_kind(directory);
        throw IoError(what + " directory " + quoted(directory) + " is " +
                      (kind.empty() ? "a file" : kind) + ", not a directory; give a directory");
    }
    check_name_length(path, directory, what);
    // access() says yes to root even on read-only mounts: try creating a file instead.
    const std::string probe = directory + "/.h5infer-probe-" + std::to_string(::getpid());
    const int fd = ::open(probe.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0600);
    if (fd < 0) {
        throw IoError(what + " directory " + quoted(directory) + " is not writable: " +
                      std::strerror(errno) + " (choose a directory you can write to)");
    }
    ::close(fd);
    ::unlink(probe.c_str());
}

std::string temporary_path(const std::string& final_path, const std::string& tag) {
    const std::string directory = directory_of(final_path);
    return (directory == "." && final_path.find('/') == std::string::npos ? "" : directory + "/") +
           "." + name_of(final_path) + ".h5infer-" + tag + ".tmp";
}

namespace {

[[noreturn]] void throw_sync_error(const std::string& path) {
    throw IoError("cannot write " + quoted(path) + " to storage: " + std::strerror(errno) +
                  " (if the disk or quota is full, free space and rerun)");
}

void rename_output(const std::string& temporary, const std::string& final_path, bool overwrite) {
    if (rename_into_place(temporary, final_path, overwrite)) return;
    const int error = errno;
    if (error == EEXIST) {
        throw IoError("output " + quoted(final_path) +
                      " appeared while the job ran; the predictions are kept in " +
                      quoted(temporary) + " (pass --overwrite to replace)");
    }
    throw IoError("cannot rename " + quoted(temporary) + " to " + quoted(final_path) + ": " +
                  std::strerror(error));
}

// Files whose writeback is started together, then waited for: bounded so that the descriptors
// held at once stay far below any limit.
constexpr std::size_t files_synced_together = 64;

// sync_file() of each of `paths`, the writeback of a group started for all before the first
// wait, so that the file system can write them in one go.
void sync_files(const std::vector<std::string>& paths) {
    for (std::size_t first = 0; first < paths.size(); first += files_synced_together) {
        const std::size_t end = std::min(paths.size(), first + files_synced_together);
        std::vector<Descriptor> files;
        for (std::size_t i = first; i < end; ++i) {
            files.emplace_back(::open(paths[i].c_str(), O_RDONLY | O_CLOEXEC));
            if (!files.back().valid()) throw_sync_error(paths[i]);
            (void)::sync_file_range(files.back().get(), 0, 0, SYNC_FILE_RANGE_WRITE);
        }
        for (std::size_t i = first; i < end; ++i) {
            if (::fdatasync(files[i - first].get()) != 0) throw_sync_error(paths[i]);
        }
    }
}

}  // namespace

void sync_file(const std::string& path) {
    const Descriptor file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!file.valid() || ::fdatasync(file.get()) != 0) throw_sync_error(path);
}

void commit_output(const std::string& temporary, const std::string& final_path, bool overwrite) {
    // The final name must never lead to bytes that are not on storage yet.
    sync_file(temporary);
    rename_output(temporary, final_path, overwrite);
    sync_directory(directory_of(final_path));
}

void commit_outputs(const std::vector<Commit>& commits, bool overwrite) {
    std::vector<std::string> temporaries;
    for (const Commit& commit : commits) temporaries.push_back(commit.temporary);
    sync_files(temporaries);
    std::vector<std::string> directories;
    for (const Commit& commit : commits) {
        rename_output(commit.temporary, commit.final_path, overwrite);
        const std::string directory = directory_of(commit.final_path);
        if (std::find(directories.begin(), directories.end(), directory) == directories.end()) {
            directories.push_back(directory);
        }
    }
    for (const std::string& directory : directories) sync_directory(directory);
}

void refuse_link(const std::string& path, const std::string& what, const std::string& final_path) {
    struct stat info {};
    if (::lstat(path.c_str(), &info) != 0) return;
    const char* problem = nullptr;
    if (S_ISLNK(info.st_mode)) {
        problem = "is a symbolic link";
    } else if (!S_ISREG(info.st_mode)) {
        problem = "is not a regular file";
    } else if (info.st_nlink > 1) {
        problem = "has other hard links";
    }
    if (problem == nullptr) return;
    throw IoError(what + " " + quoted(path) +
                  (final_path.empty() ? "" : " of output " + quoted(final_path)) + " " + problem +
                  "; h5infer writes only files of its own there, never through a link to another "
                  "file: remove it (rm " +
                  quoted(path) + ") and rerun");
}

void remove_file(const std::string& path) noexcept {
    if (!path.empty()) ::unlink(path.c_str());
}

OutputLock::OutputLock(const std::string& final_path, const LockBudget& budget)
    : path_(temporary_path(final_path, "lock")) {
    for (;;) {
        Descriptor descriptor = open_lock_file(path_, final_path, budget);
        if (::flock(descriptor.get(), LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            if (error == EWOULDBLOCK) {
                const std::string holder = lock_holder(descriptor.get());
                throw IoError("another h5infer job is writing output " + quoted(final_path) + " (" +
                              (holder.empty() ? "it" : holder) + " holds " + quoted(path_) +
                              "); wait until it ends, or write elsewhere");
            }
            // No locks on this file system: run unlocked rather than not at all.
            descriptor.reset();
            ::unlink(path_.c_str());
            return;
        }
        // The holder before may have removed the file between open() and flock(): then this
        // lock is on a name nobody else sees, and the next job would lock a new file. Lock the
        // file the name leads to now.
        struct stat mine {};
        struct stat named {};
        if (::fstat(descriptor.get(), &mine) == 0 && ::lstat(path_.c_str(), &named) == 0 &&
            mine.st_dev == named.st_dev && mine.st_ino == named.st_ino) {
            descriptor_ = std::move(descriptor);
            break;
        }
    }
    if (budget.held > 0) {
        try {
            check_room(descriptor_, budget, final_path);
        } catch (const IoError&) {
            ::unlink(path_.c_str());  // locked: nobody else holds it
            throw;
        }
    }
    std::array<char, 256> host{};
    (void)::gethostname(host.data(), host.size() - 1);
    const std::string holder =
        "pid " + std::to_string(::getpid()) + " on " + std::string(host.data()) + "\n";
    if (::ftruncate(descriptor_.get(), 0) == 0) {
        (void)::pwrite(descriptor_.get(), holder.data(), holder.size(), 0);
    }
}

OutputLock::~OutputLock() {
    // Removed while still locked (see the constructor), so no job can lock it in between; the
    // descriptor closes after this body.
    if (descriptor_.valid()) ::unlink(path_.c_str());
}

std::string partial_path(const std::string& final_path) {
    return temporary_path(final_path, "partial");
}

std::string read_fingerprint(const std::string& path) noexcept {
    try {
        if (!special_file_kind(path).empty() || !h5::is_hdf5(path)) return "";
        h5::Handle file = h5::open_file(path);
        const std::string name(fingerprint_attribute);
        return h5::has_attribute(file.get(), name) ? h5::read_string_attribute(file.get(), name)
                                                   : "";
    } catch (const std::exception&) {
        return "";
    }
}

std::vector<char> read_progress(const std::string& path, std::int64_t chunks) {
    h5::Handle file = h5::open_file(path);
    const std::string name(progress_dataset);
    if (h5::object_type(file.get(), name) != h5::ObjectType::Dataset) {
        throw IoError("'" + path + "' has no progress record " + name);
    }
    h5::Handle progress = h5::open_dataset(file.get(), name);
    const h5::DatasetInfo info = h5::dataset_info(progress.get());
    if (info.dims != std::vector<std::int64_t>{chunks}) {
        throw IoError("'" + path + "' records progress of another chunk grid");
    }
    std::vector<char> done(static_cast<std::size_t>(chunks));
    h5::read_rows_raw(progress.get(), 0, chunks, H5T_NATIVE_UINT8, done.data());
    return done;
}

namespace {

void create_labels(hid_t file, hid_t predictions, const OutputLayout& layout) {
    if (layout.labels.empty()) return;
    const std::optional<std::vector<std::int64_t>> integers = integer_labels(layout.labels);
    if (integers) {
        h5::write_attribute(predictions, "labels", *integers);
    } else {
        h5::write_attribute(predictions, "labels", layout.labels);
    }
    if (!layout.write_labels) return;
    if (integers) {
        (void)h5::create_dataset(file, std::string(labels_dataset), {layout.rows}, H5T_STD_I64LE,
                                 h5::Layout::Contiguous, 0, no_integer_label);
    } else {
        const h5::Handle type = h5::fixed_string_type(longest_label(layout.labels));
        (void)h5::create_dataset(file, std::string(labels_dataset), {layout.rows}, type.get());
    }
}

// HDF5 follows links when it creates a file: the file is made here first, exclusively and
// without following any, for HDF5 to truncate; create_output() then checks the name still
// leads to it.
struct stat create_exclusive(const std::string& path) {
    refuse_link(path, "partial file", "");
    ::unlink(path.c_str());  // a regular file left by an earlier try
    const Descriptor file(
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666));
    struct stat made {};
    if (!file.valid() || ::fstat(file.get(), &made) != 0) {
        const int error = errno;
        refuse_link(path, "partial file", "");
        throw IoError("cannot create " + quoted(path) + ": " + std::strerror(error));
    }
    return made;
}

void create_copies(hid_t file, const OutputLayout& layout) {
    if (layout.copies.empty()) return;
    const h5::Handle input = h5::open_file(layout.input_file);
    for (const std::string& path : layout.copies) {
        const h5::Handle source = h5::open_dataset(input.get(), path);
        const h5::Handle type = h5::file_type(source.get());
        (void)h5::create_dataset(file, path, h5::dataset_info(source.get()).dims, type.get());
    }
}

// Creates the prediction file `path` with its datasets, the progress record unless
// `progress` is false, and the fingerprint, and returns it open; `made` is the new file.
h5::Handle create_output_file(const std::string& path, const OutputLayout& layout, bool progress,
                              struct stat& made) {
    made = create_exclusive(path);
    h5::Handle file = h5::create_file(path, h5::Compatibility::Any, layout.alignment);
    const h5::Handle predictions =
        h5::create_dataset(file.get(), layout.dataset, {layout.rows, layout.cols}, H5T_IEEE_F32LE);
    if (progress) {
        (void)h5::create_dataset(file.get(), std::string(progress_dataset), {layout.chunks},
                                 H5T_STD_U8LE);
    }
    h5::write_attribute(file.get(), std::string(fingerprint_attribute), layout.fingerprint);
    create_labels(file.get(), predictions.get(), layout);
    create_copies(file.get(), layout);
    return file;
}

void check_still_named(const std::string& path, const struct stat& made) {
    struct stat named {};
    if (::lstat(path.c_str(), &named) != 0 || named.st_dev != made.st_dev ||
        named.st_ino != made.st_ino) {
        throw IoError("partial file " + quoted(path) +
                      " was replaced by another file while h5infer created it; make sure no "
                      "other program writes in the output directory, and rerun");
    }
}

}  // namespace

void create_output(const std::string& path, const OutputLayout& layout) {
    // Created by one process and closed, not collectively: closing writes the metadata without
    // the fsync that flushing a parallel (MPI-IO) file costs (more on a parallel filesystem than
    // on a local disk), and the file on disk is complete before any rank writes.
    struct stat made {};
    create_output_file(path, layout, true, made).close();
    check_still_named(path, made);
}

OutputWriter::OutputWriter(const std::string& path, const OutputLayout& layout,
                           const mpi::Comm& comm)
    : path_(path), layout_(layout), root_(comm.rank() == 0) {
    const mpi::Info hints(layout_.io_hints);
    file_ = h5::open_file_parallel(path, comm, hints.native());
    open_members();
}

OutputWriter::OutputWriter(const std::string& path, const OutputLayout& layout)
    : path_(path), layout_(layout), root_(true) {
    struct stat made {};
    file_ = create_output_file(path, layout, false, made);
    check_still_named(path, made);
    open_members();
}

void OutputWriter::open_members() {
    dataset_ = h5::open_dataset(file_.get(), layout_.dataset);
    if (h5::object_type(file_.get(), std::string(progress_dataset)) == h5::ObjectType::Dataset) {
        progress_ = h5::open_dataset(file_.get(), std::string(progress_dataset));
    }
    open_labels();
    open_copies();
}

void OutputWriter::open_labels() {
    if (layout_.labels.empty()) return;
    integer_labels_ = integer_labels(layout_.labels);
    if (!layout_.write_labels) return;
    if (!integer_labels_) label_type_ = h5::fixed_string_type(longest_label(layout_.labels));
    labels_dataset_ = h5::open_dataset(file_.get(), std::string(labels_dataset));
}

void OutputWriter::open_copies() {
    if (layout_.copies.empty()) return;
    input_ = h5::open_file(layout_.input_file);
    for (const std::string& path : layout_.copies) {
        Copy copy;
        copy.source = h5::open_dataset(input_.get(), path);
        copy.memory_type = h5::native_type(copy.source.get());
        const h5::DatasetInfo info = h5::dataset_info(copy.source.get());
        copy.row_bytes = h5::type_size(copy.memory_type.get()) *
                         static_cast<std::size_t>(info.dims.size() == 2 ? info.dims[1] : 1);
        copy.target = h5::open_dataset(file_.get(), path);
        copies_.push_back(std::move(copy));
    }
}

void OutputWriter::write(std::int64_t row_begin, std::int64_t rows, const float* src) {
    try {
        write_rows(row_begin, rows, src);
    } catch (const Error& error) {
        rethrow_with_context(error, "writing " + quoted(path_) +
                                        " (if the disk or quota is full, free space and rerun)");
    }
}

void OutputWriter::write_rows(std::int64_t row_begin, std::int64_t rows, const float* src) {
    h5::write_rows_collective(dataset_.get(), row_begin, rows, layout_.cols, src);
    note_collective();
    if (labels_dataset_.valid()) write_labels(row_begin, rows, src);
    for (Copy& copy : copies_) {
        copy_buffer_.resize(copy.row_bytes * static_cast<std::size_t>(rows));
        if (rows > 0) {
            h5::read_rows_raw(copy.source.get(), row_begin, rows, copy.memory_type.get(),
                              copy_buffer_.data());
        }
        h5::write_rows_raw_collective(copy.target.get(), row_begin, rows, copy.memory_type.get(),
                                      copy_buffer_.data());
        note_collective();
    }
}

void OutputWriter::write_labels(std::int64_t row_begin, std::int64_t rows, const float* src) {
    std::vector<std::int64_t> classes(static_cast<std::size_t>(rows));
    argmax_rows(src, rows, layout_.cols, classes.data());
    if (integer_labels_) {
        for (std::int64_t& value : classes) {
            value = value == no_class ? no_integer_label : (*integer_labels_)[value];
        }
        h5::write_rows_raw_collective(labels_dataset_.get(), row_begin, rows, H5T_NATIVE_INT64,
                                      classes.data());
    } else {
        const std::size_t width = longest_label(layout_.labels);
        std::string text(classes.size() * width, '\0');
        for (std::size_t i = 0; i < classes.size(); ++i) {
            if (classes[i] == no_class) continue;  // the empty string
            const std::string& label = layout_.labels[classes[i]];
            std::copy(label.begin(), label.end(), text.begin() + i * width);
        }
        h5::write_rows_raw_collective(labels_dataset_.get(), row_begin, rows, label_type_.get(),
                                      text.data());
    }
    note_collective();
}

void OutputWriter::checkpoint(const std::vector<char>& done) {
    // Rank 0 writes the whole record; the others take part in the collective call.
    h5::write_rows_raw_collective(progress_.get(), 0, root_ ? layout_.chunks : 0, H5T_NATIVE_UINT8,
                                  done.data());
    h5::flush(file_.get());
}

void OutputWriter::note_collective() {
    if (not_collective_.empty()) not_collective_ = h5::last_write_not_collective_cause();
}

void OutputWriter::set_attribute(const std::string& name, const std::string& value) {
    h5::write_attribute(file_.get(), name, value);
}

void OutputWriter::set_attribute(const std::string& name, std::int64_t value) {
    h5::write_attribute(file_.get(), name, value);
}

void OutputWriter::set_attribute(const std::string& name, double value) {
    h5::write_attribute(file_.get(), name, value);
}

void OutputWriter::finish() {
    if (progress_.valid()) {
        progress_.close();
        h5::delete_link(file_.get(), std::string(progress_dataset));
    }
    copies_.clear();
    input_.close();
    labels_dataset_.close();
    label_type_.close();
    dataset_.close();
    file_.close();
}

TemporaryOutput::TemporaryOutput(std::string path) : path_(std::move(path)) {
    remove_on_stop_signal(path_);
}

TemporaryOutput::~TemporaryOutput() {
    if (armed_) remove_file(path_);
    dismiss();
}

void TemporaryOutput::dismiss() noexcept {
    armed_ = false;
    forget_on_stop_signal();
}

}  // namespace h5infer::io
