#pragma once

// A temporary directory every rank of an MPI test sees.

#include <cstdlib>
#include <filesystem>
#include <string>

#include "h5infer/mpi/comm.hpp"

namespace h5infer::testing {

// A directory every rank sees: rank 0 makes it and broadcasts its name.
class SharedDir {
public:
    explicit SharedDir(const mpi::Comm& comm) : comm_(comm) {
        if (comm.rank() == 0) {
            std::string pattern = "/tmp/h5infer-mpi-XXXXXX";
            path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
        }
        comm.broadcast(path_, 0);
    }
    ~SharedDir() {
        comm_.barrier();
        if (comm_.rank() == 0) std::filesystem::remove_all(path_);
    }
    SharedDir(const SharedDir&) = delete;
    SharedDir& operator=(const SharedDir&) = delete;
    SharedDir(SharedDir&&) = delete;
    SharedDir& operator=(SharedDir&&) = delete;
    std::string operator/(const std::string& name) const { return path_ + "/" + name; }

private:
    const mpi::Comm& comm_;
    std::string path_;
};

}  // namespace h5infer::testing
