#include "h5infer/h5/file.hpp"

#include <H5FDmpio.h>
#include <H5FDsec2.h>
#include <sys/mman.h>
#include <unistd.h>

#include "h5/check.hpp"

namespace h5infer::h5 {
namespace {

Handle file_access(bool parallel, MPI_Comm comm, MPI_Info hints = MPI_INFO_NULL) {
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access list"));
    if (parallel) {
        check_status(H5Pset_fapl_mpio(fapl.get(), comm, hints), "cannot select the MPI-IO driver");
        // Metadata reads and writes done collectively scale to many ranks.
        check_status(H5Pset_all_coll_metadata_ops(fapl.get(), true), "cannot set metadata ops");
        check_status(H5Pset_coll_metadata_write(fapl.get(), true), "cannot set metadata writes");
    }
    return fapl;
}

}  // namespace

bool is_hdf5(const std::string& path) {
    return H5Fis_hdf5(path.c_str()) > 0;
}

Handle open_file(const std::string& path, bool writable) {
    return Handle(
        check(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, H5P_DEFAULT),
              "cannot open '" + path + "'"));
}

Handle create_file(const std::string& path, Compatibility compatibility, std::int64_t alignment) {
    Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS), "cannot create a file access list"));
    if (alignment > 0) {
        check_status(H5Pset_alignment(fapl.get(), static_cast<hsize_t>(alignment_threshold),
                                      static_cast<hsize_t>(alignment)),
                     "cannot set the alignment of '" + path + "'");
    }
    if (compatibility == Compatibility::Hdf5V18) {
        check_status(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V18, H5F_LIBVER_V18),
                     "cannot set the file format");
    }
    return Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                        "cannot create '" + path + "'"));
}

Handle create_file_parallel(const std::string& path, const mpi::Comm& comm) {
    Handle fapl = file_access(true, comm.native());
    return Handle(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()),
                        "cannot create '" + path + "'"));
}

Handle open_file_parallel(const std::string& path, const mpi::Comm& comm, MPI_Info hints) {
    Handle fapl = file_access(true, comm.native(), hints);
    return Handle(
        check(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), "cannot open '" + path + "'"));
}

std::string file_name(hid_t object) {
    const ssize_t length = H5Fget_name(object, nullptr, 0);
    if (length <= 0) throw_error("cannot get a file's name");
    std::string name(static_cast<std::size_t>(length), '\0');
    if (H5Fget_name(object, name.data(), name.size() + 1) != length) {
        throw_error("cannot get a file's name");
    }
    return name;
}

void flush(hid_t file) {
    check_status(H5Fflush(file, H5F_SCOPE_GLOBAL), "cannot flush a file");
}

void discard_pending_writes(hid_t file) noexcept {
    const Handle fapl(H5Fget_access_plist(file));
    void* vfd_handle = nullptr;
    // Only the POSIX driver's handle is a file descriptor that can be replaced.
    if (fapl.valid() && H5Pget_driver(fapl.get()) == H5FD_SEC2 &&
        H5Fget_vfd_handle(file, H5P_DEFAULT, &vfd_handle) >= 0 && vfd_handle != nullptr) {
        // A file in memory takes the writes (and the truncation at close) where /dev/null would
        // refuse the truncation; what it holds is freed when HDF5 closes the descriptor.
        const int sink = ::memfd_create("h5infer-discarded", MFD_CLOEXEC);
        if (sink >= 0) {
            (void)::dup2(sink, *static_cast<int*>(vfd_handle));
            ::close(sink);
        }
    }
    H5Eclear2(H5E_DEFAULT);
}

}  // namespace h5infer::h5
