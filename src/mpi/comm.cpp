#include "h5infer/mpi/comm.hpp"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>

#include "h5infer/bulk_memory.hpp"
#include "h5infer/error.hpp"

namespace h5infer::mpi {
namespace {

void check(int status, const char* what) {
    if (status == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING] = {};
    int length = 0;
    MPI_Error_string(status, text, &length);
    throw MpiError(std::string(what) + " failed: " + std::string(text, length));
}

int checked_count(std::size_t bytes) {
    // MPI counts are int; models and messages are far below 2 GiB, so this only guards bugs.
    H5INFER_ASSERT(bytes <= static_cast<std::size_t>(std::numeric_limits<int>::max()));
    return static_cast<int>(bytes);
}

const char* from_environment(const char* name) {
    return std::getenv(name);
}

bool loopback(const sockaddr_storage& address) {
    if (address.ss_family == AF_INET) {
        const auto& v4 = reinterpret_cast<const sockaddr_in&>(address);
        return (ntohl(v4.sin_addr.s_addr) >> 24U) == IN_LOOPBACKNET;
    }
    if (address.ss_family == AF_INET6) {
        const in6_addr& v6 = reinterpret_cast<const sockaddr_in6&>(address).sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
        std::uint32_t v4 = 0;
        std::memcpy(&v4, &v6.s6_addr[12], sizeof v4);
        return IN6_IS_ADDR_V4MAPPED(&v6) && (ntohl(v4) >> 24U) == IN_LOOPBACKNET;
    }
    return false;
}

// Whether `fd` is a TCP connection to this node that still has Nagle's algorithm on.
bool loopback_tcp_with_nagle(int fd) {
    int value = 0;
    socklen_t size = sizeof value;
    if (::getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &size) != 0 || value != IPPROTO_TCP) {
        return false;  // not a socket, or not TCP
    }
    sockaddr_storage peer{};
    socklen_t peer_size = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peer_size) != 0) return false;
    size = sizeof value;
    return loopback(peer) && ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &size) == 0 &&
           value == 0;
}

}  // namespace

bool launched_on_one_node(const char* (*get)(const char*)) {
    const char* world = get("OMPI_COMM_WORLD_SIZE");
    const char* local = get("OMPI_COMM_WORLD_LOCAL_SIZE");
    if (world != nullptr && local != nullptr) return std::string(world) == local;
    if (const char* nodes = get("SLURM_STEP_NUM_NODES")) return std::string(nodes) == "1";
    // Without any launcher's variables this process is an MPI singleton.
    return world == nullptr && get("PMIX_RANK") == nullptr && get("PMI_RANK") == nullptr;
}

int disable_nagle_on_loopback() {
    const std::unique_ptr<DIR, int (*)(DIR*)> fds(::opendir("/proc/self/fd"), ::closedir);
    if (!fds) return 0;
    int changed = 0;
    while (const dirent* entry = ::readdir(fds.get())) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == ::dirfd(fds.get())) continue;
        if (!loopback_tcp_with_nagle(static_cast<int>(fd))) continue;
        const int on = 1;
        if (::setsockopt(static_cast<int>(fd), IPPROTO_TCP, TCP_NODELAY, &on, sizeof on) == 0) {
            ++changed;
        }
    }
    return changed;
}

Environment::Environment(int& argc, char**& argv) {
    // Open MPI's default pml selection probes UCX for network devices, which ranks on one node
    // never use, and that probe costs a large part of MPI_Init (docs/performance.md). Every rank
    // sees the same variables, so all ranks make the same choice.
    if (std::getenv("OMPI_MCA_pml") == nullptr && launched_on_one_node(from_environment)) {
        ::setenv("OMPI_MCA_pml", "ob1", 0);
    }
    int provided = 0;
    // FUNNELED: only the main thread calls MPI (and HDF5); OpenMP threads never do.
    check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    (void)disable_nagle_on_loopback();  // the launcher's connection: see comm.hpp
}

Environment::~Environment() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (finalized == 0) MPI_Finalize();
}

Comm::Comm(MPI_Comm comm, bool owned) : comm_(comm), owned_(owned) {
    check(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
}

Comm Comm::world() {
    return Comm(MPI_COMM_WORLD, false);
}

Comm Comm::duplicate() const {
    MPI_Comm copy = MPI_COMM_NULL;
    check(MPI_Comm_dup(comm_, &copy), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(copy, MPI_ERRORS_RETURN);
    return Comm(copy, true);
}

Comm::Comm(Comm&& other) noexcept
    : comm_(std::exchange(other.comm_, MPI_COMM_NULL)),
      owned_(std::exchange(other.owned_, false)),
      rank_(other.rank_),
      size_(other.size_) {}

Comm& Comm::operator=(Comm&& other) noexcept {
    if (this != &other) {
        Comm old(std::move(*this));
        comm_ = std::exchange(other.comm_, MPI_COMM_NULL);
        owned_ = std::exchange(other.owned_, false);
        rank_ = other.rank_;
        size_ = other.size_;
    }
    return *this;
}

Comm::~Comm() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (owned_ && comm_ != MPI_COMM_NULL && finalized == 0) MPI_Comm_free(&comm_);
}

void Comm::barrier() const {
    check(MPI_Barrier(comm_), "MPI_Barrier");
}

void Comm::broadcast_bytes(void* data, std::size_t bytes, int root) const {
    check(MPI_Bcast(data, checked_count(bytes), MPI_BYTE, root, comm_), "MPI_Bcast");
}

void Comm::broadcast(std::string& value, int root) const {
    std::uint64_t size = value.size();
    broadcast(size, root);
    value.resize(size);
    if (size > 0) broadcast_bytes(value.data(), size, root);
}

void Comm::broadcast(std::vector<char>& values, int root) const {
    std::uint64_t size = values.size();
    broadcast(size, root);
    resize_fresh(values, size);
    if (size > 0) broadcast_bytes(values.data(), size, root);
}

void Comm::broadcast_in_place(std::vector<float>& values, int root) const {
    if (!values.empty()) broadcast_bytes(values.data(), values.size() * sizeof(float), root);
}

void Comm::broadcast_in_place(void* data, std::size_t bytes, int root) const {
    if (bytes > 0) broadcast_bytes(data, bytes, root);
}

std::vector<double> Comm::gather(const std::vector<double>& values, int root) const {
    std::vector<double> result(rank_ == root ? values.size() * static_cast<std::size_t>(size_) : 0);
    const int count =
        checked_count(values.size() * sizeof(double)) / static_cast<int>(sizeof(double));
    check(
        MPI_Gather(values.data(), count, MPI_DOUBLE, result.data(), count, MPI_DOUBLE, root, comm_),
        "MPI_Gather");
    return result;
}

std::vector<std::vector<char>> Comm::gather(const std::vector<char>& bytes, int root) const {
    const int count = checked_count(bytes.size());
    std::vector<int> counts(rank_ == root ? static_cast<std::size_t>(size_) : 0);
    check(MPI_Gather(&count, 1, MPI_INT, counts.data(), 1, MPI_INT, root, comm_), "MPI_Gather");
    std::vector<int> offsets(counts.size(), 0);
    std::size_t total = 0;
    for (std::size_t r = 0; r < counts.size(); ++r) {
        offsets[r] = checked_count(total);
        total += static_cast<std::size_t>(counts[r]);
    }
    std::vector<char> all(total);
    check(MPI_Gatherv(bytes.data(), count, MPI_CHAR, all.data(), counts.data(), offsets.data(),
                      MPI_CHAR, root, comm_),
          "MPI_Gatherv");
    std::vector<std::vector<char>> result;
    for (std::size_t r = 0; r < counts.size(); ++r) {
        result.emplace_back(all.begin() + offsets[r], all.begin() + offsets[r] + counts[r]);
    }
    return result;
}

Info::Info(const std::vector<std::string>& hints) {
    for (const std::string& hint : hints) {
        const std::size_t equals = hint.find('=');
        if (equals == std::string::npos || equals == 0) {
            throw ConfigError("--io-hint '" + hint +
                              "': expected KEY=VALUE, e.g. --io-hint cb_buffer_size=16777216");
        }
        if (info_ == MPI_INFO_NULL) check(MPI_Info_create(&info_), "MPI_Info_create");
        const std::string key = hint.substr(0, equals);
        check(MPI_Info_set(info_, key.c_str(), hint.c_str() + equals + 1), "MPI_Info_set");
    }
}

Info::~Info() {
    if (info_ != MPI_INFO_NULL) MPI_Info_free(&info_);
}

std::vector<double> Comm::all_gather(double value) const {
    std::vector<double> result(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&value, 1, MPI_DOUBLE, result.data(), 1, MPI_DOUBLE, comm_),
          "MPI_Allgather");
    return result;
}

std::vector<std::int64_t> Comm::all_gather(std::int64_t value) const {
    std::vector<std::int64_t> result(static_cast<std::size_t>(size_));
    check(MPI_Allgather(&value, 1, MPI_INT64_T, result.data(), 1, MPI_INT64_T, comm_),
          "MPI_Allgather");
    return result;
}

std::int64_t Comm::sum(std::int64_t value) const {
    std::int64_t result = 0;
    check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_SUM, comm_), "MPI_Allreduce");
    return result;
}

std::int64_t Comm::min(std::int64_t value) const {
    std::int64_t result = 0;
    check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_MIN, comm_), "MPI_Allreduce");
    return result;
}

std::int64_t Comm::max(std::int64_t value) const {
    std::int64_t result = 0;
    check(MPI_Allreduce(&value, &result, 1, MPI_INT64_T, MPI_MAX, comm_), "MPI_Allreduce");
    return result;
}

double Comm::max(double value) const {
    double result = 0;
    check(MPI_Allreduce(&value, &result, 1, MPI_DOUBLE, MPI_MAX, comm_), "MPI_Allreduce");
    return result;
}

bool Comm::first_on_node() const {
    MPI_Comm node = MPI_COMM_NULL;
    check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
          "MPI_Comm_split_type");
    int node_rank = 0;
    const int status = MPI_Comm_rank(node, &node_rank);
    MPI_Comm_free(&node);
    check(status, "MPI_Comm_rank");
    return node_rank == 0;
}

void Comm::abort(int code) const {
    MPI_Abort(comm_, code);
    std::_Exit(code);  // MPI_Abort does not return, but the compiler cannot know it.
}

}  // namespace h5infer::mpi
