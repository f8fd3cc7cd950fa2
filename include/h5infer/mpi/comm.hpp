#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace h5infer::mpi {

/// Whether the launcher put every rank of this job on this node, from the environment it set
/// before MPI_Init (`get` is getenv or a test's stand-in): mpirun's OMPI_COMM_WORLD_SIZE equal
/// to OMPI_COMM_WORLD_LOCAL_SIZE, srun's SLURM_STEP_NUM_NODES of 1, or no launcher at all (a
/// singleton). False when it cannot tell.
[[nodiscard]] bool launched_on_one_node(const char* (*get)(const char*));

/// Sets TCP_NODELAY on each of this process's TCP connections whose peer is on a loopback
/// address and returns how many it changed. Why: the PMIx client of Open MPI 4.1 (PMIx 4.2)
/// talks to the launcher's daemon on its node over loopback TCP with Nagle's algorithm on, so
/// a small request sent while the previous one is unacknowledged waits for the daemon's delayed
/// ACK. MPI_Finalize's fence hit that in every run, adding the delay to every job's end
/// (docs/performance.md, "TCP_NODELAY"). Only when segments leave changes; the bytes do not.
int disable_nagle_on_loopback();

/// Owns MPI's lifetime: MPI_Init_thread in the constructor, MPI_Finalize in the destructor.
/// Sets MPI_ERRORS_RETURN on MPI_COMM_WORLD so failed calls become MpiError exceptions.
/// On one node, and unless OMPI_MCA_pml is set, it asks Open MPI for the ob1 point-to-point
/// layer (shared memory) before MPI_Init: UCX, Open MPI's first choice, spends part of every
/// start-up probing network devices that ranks on one node never use (docs/performance.md,
/// "ob1 on one node"). After MPI_Init it turns Nagle's algorithm off on the connection to the
/// launcher (disable_nagle_on_loopback()).
class Environment {
public:
    Environment(int& argc, char**& argv);
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;
    Environment(Environment&&) = delete;
    Environment& operator=(Environment&&) = delete;
};

/// A communicator (non-owning view of MPI_COMM_WORLD or an owned duplicate). Every method
/// marked "Collective" must be called by all ranks of the communicator in the same order.
/// MPI-IO hints, KEY=VALUE each, as an MPI_Info that lives as long as this object; no hints give
/// MPI_INFO_NULL. Throws ConfigError for a hint without a key or an "=".
class Info {
public:
    explicit Info(const std::vector<std::string>& hints);
    ~Info();
    Info(const Info&) = delete;
    Info& operator=(const Info&) = delete;
    Info(Info&&) = delete;
    Info& operator=(Info&&) = delete;

    /// The raw handle, for the HDF5 wrapper only.
    [[nodiscard]] MPI_Info native() const { return info_; }

private:
    MPI_Info info_ = MPI_INFO_NULL;
};

class Comm {
public:
    /// MPI_COMM_WORLD; requires a live Environment.
    [[nodiscard]] static Comm world();

    /// Collective. An owned duplicate, so a library's messages never mix with the caller's.
    [[nodiscard]] Comm duplicate() const;

    Comm(Comm&& other) noexcept;
    Comm& operator=(Comm&& other) noexcept;
    Comm(const Comm&) = delete;
    Comm& operator=(const Comm&) = delete;
    ~Comm();

    [[nodiscard]] int rank() const { return rank_; }
    [[nodiscard]] int size() const { return size_; }
    /// The raw handle, for the HDF5 wrapper only.
    [[nodiscard]] MPI_Comm native() const { return comm_; }

    /// Collective.
    void barrier() const;

    /// Collective. Copies `value` from `root` to every rank (resizing on receivers).
    void broadcast(std::string& value, int root) const;
    /// Collective. Copies `values` from `root` to every rank (resizing on receivers).
    void broadcast(std::vector<char>& values, int root) const;
    /// Collective. Copies `values` from `root` into every rank's `values`, which must already
    /// have root's size: no resizing, so large arrays are received where they will stay.
    void broadcast_in_place(std::vector<float>& values, int root) const;
    /// Collective. Copies `bytes` bytes at `data` from `root` into every rank's `data` (only
    /// read on `root`).
    void broadcast_in_place(void* data, std::size_t bytes, int root) const;
    /// Collective. Copies a trivially copyable value from `root` to every rank.
    template <typename T>
    void broadcast(T& value, int root) const {
        static_assert(std::is_trivially_copyable_v<T>);
        broadcast_bytes(&value, sizeof(T), root);
    }

    /// Collective. Sum, minimum and maximum of one value per rank, on every rank.
    [[nodiscard]] std::int64_t sum(std::int64_t value) const;
    [[nodiscard]] std::int64_t min(std::int64_t value) const;
    [[nodiscard]] std::int64_t max(std::int64_t value) const;
    [[nodiscard]] double max(double value) const;

    /// Collective. Concatenates every rank's `values` (the same count on each) on `root`, in
    /// rank order; the other ranks get an empty vector.
    [[nodiscard]] std::vector<double> gather(const std::vector<double>& values, int root) const;

    /// Collective. Every rank's `bytes` (any count on each), in rank order, on `root`; the other
    /// ranks get an empty vector.
    [[nodiscard]] std::vector<std::vector<char>> gather(const std::vector<char>& bytes,
                                                        int root) const;

    /// Collective. Every rank's `value`, in rank order, on every rank.
    [[nodiscard]] std::vector<double> all_gather(double value) const;
    [[nodiscard]] std::vector<std::int64_t> all_gather(std::int64_t value) const;

    /// Collective. Whether this rank is the lowest-numbered of the ranks on its node (that
    /// share memory with it): one rank per node does what the node needs done once.
    [[nodiscard]] bool first_on_node() const;

    /// Ends every rank of the job with `code`. Use only when the ranks can no longer agree.
    [[noreturn]] void abort(int code) const;

private:
    Comm(MPI_Comm comm, bool owned);
    void broadcast_bytes(void* data, std::size_t bytes, int root) const;

    MPI_Comm comm_ = MPI_COMM_NULL;
    bool owned_ = false;
    int rank_ = 0;
    int size_ = 1;
};

}  // namespace h5infer::mpi
