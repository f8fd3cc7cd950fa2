// An LD_PRELOAD library for benchmarks/scaling.py: wraps MPI's collectives and its MPI-IO calls
// through the profiling interface (PMPI_*), so every call is seen, h5infer's own and those
// parallel HDF5 makes, without a line of h5infer changed. Each rank keeps the sequence of its
// calls (name, payload bytes, seconds inside the call) and writes it at MPI_Finalize to
// $H5INFER_MPI_COUNT_DIR/rank-<rank>.tsv, one call a line. Calls Open MPI makes inside itself
// (OMPIO's own collectives under MPI_File_write_at_all) are not seen: they do not go through
// the MPI_* symbols.
//
//   mpirun -n 4 -x LD_PRELOAD=build/benchmarks/libmpi_count.so -x H5INFER_MPI_COUNT_DIR=DIR
//       build/h5infer run ...
#include <mpi.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

struct Call {
    const char* name;
    long long bytes;  // the payload this rank sends (collectives) or reads or writes (MPI-IO)
    double seconds;
};

// Enough for the jobs scaling.py runs; calls beyond it are dropped and the file says so.
constexpr std::size_t most_calls = std::size_t{1} << 18U;
std::array<Call, most_calls> calls;
std::size_t call_count = 0;
std::size_t dropped = 0;

long long bytes_of(int count, MPI_Datatype type) {
    int size = 0;
    PMPI_Type_size(type, &size);
    return static_cast<long long>(count) * size;
}

void note(const char* name, long long bytes, double start) {
    const double seconds = PMPI_Wtime() - start;
    if (call_count < most_calls) {
        calls[call_count++] = {name, bytes, seconds};
    } else {
        ++dropped;
    }
}

void write_calls() {
    const char* directory = std::getenv("H5INFER_MPI_COUNT_DIR");
    if (directory == nullptr) return;
    int rank = 0;
    PMPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const std::string path = std::string(directory) + "/rank-" + std::to_string(rank) + ".tsv";
    FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr) return;
    for (std::size_t i = 0; i < call_count; ++i) {
        std::fprintf(file, "%s\t%lld\t%.9f\n", calls[i].name, calls[i].bytes, calls[i].seconds);
    }
    if (dropped > 0) std::fprintf(file, "dropped\t%zu\t0\n", dropped);
    std::fclose(file);
}

}  // namespace

// Each wrapper: start the clock, call PMPI_<name>, note the call with its payload.
#define H5INFER_COUNTED(name, bytes, call) \
    const double start = PMPI_Wtime();     \
    const int status = call;               \
    note(#name, bytes, start);             \
    return status

extern "C" {

int MPI_Finalize() {
    write_calls();
    return PMPI_Finalize();
}

int MPI_Barrier(MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Barrier, 0, PMPI_Barrier(comm));
}

int MPI_Bcast(void* buffer, int count, MPI_Datatype type, int root, MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Bcast, bytes_of(count, type), PMPI_Bcast(buffer, count, type, root, comm));
}

int MPI_Allreduce(const void* send, void* receive, int count, MPI_Datatype type, MPI_Op op,
                  MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Allreduce, bytes_of(count, type),
                    PMPI_Allreduce(send, receive, count, type, op, comm));
}

int MPI_Reduce(const void* send, void* receive, int count, MPI_Datatype type, MPI_Op op, int root,
               MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Reduce, bytes_of(count, type),
                    PMPI_Reduce(send, receive, count, type, op, root, comm));
}

int MPI_Allgather(const void* send, int send_count, MPI_Datatype send_type, void* receive,
                  int receive_count, MPI_Datatype receive_type, MPI_Comm comm) {
    H5INFER_COUNTED(
        MPI_Allgather, bytes_of(send_count, send_type),
        PMPI_Allgather(send, send_count, send_type, receive, receive_count, receive_type, comm));
}

int MPI_Allgatherv(const void* send, int send_count, MPI_Datatype send_type, void* receive,
                   const int receive_counts[], const int displacements[], MPI_Datatype receive_type,
                   MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Allgatherv, bytes_of(send_count, send_type),
                    PMPI_Allgatherv(send, send_count, send_type, receive, receive_counts,
                                    displacements, receive_type, comm));
}

int MPI_Gather(const void* send, int send_count, MPI_Datatype send_type, void* receive,
               int receive_count, MPI_Datatype receive_type, int root, MPI_Comm comm) {
    H5INFER_COUNTED(
        MPI_Gather, bytes_of(send_count, send_type),
        PMPI_Gather(send, send_count, send_type, receive, receive_count, receive_type, root, comm));
}

int MPI_Scatter(const void* send, int send_count, MPI_Datatype send_type, void* receive,
                int receive_count, MPI_Datatype receive_type, int root, MPI_Comm comm) {
    H5INFER_COUNTED(MPI_Scatter, bytes_of(receive_count, receive_type),
                    PMPI_Scatter(send, send_count, send_type, receive, receive_count, receive_type,
                                 root, comm));
}

int MPI_Alltoall(const void* send, int send_count, MPI_Datatype send_type, void* receive,
                 int receive_count, MPI_Datatype receive_type, MPI_Comm comm) {
    H5INFER_COUNTED(
        MPI_Alltoall, bytes_of(send_count, send_type),
        PMPI_Alltoall(send, send_count, send_type, receive, receive_count, receive_type, comm));
}

int MPI_Comm_dup(MPI_Comm comm, MPI_Comm* copy) {
    H5INFER_COUNTED(MPI_Comm_dup, 0, PMPI_Comm_dup(comm, copy));
}

int MPI_Comm_split_type(MPI_Comm comm, int split_type, int key, MPI_Info info, MPI_Comm* part) {
    H5INFER_COUNTED(MPI_Comm_split_type, 0,
                    PMPI_Comm_split_type(comm, split_type, key, info, part));
}

int MPI_File_open(MPI_Comm comm, const char* name, int mode, MPI_Info info, MPI_File* file) {
    H5INFER_COUNTED(MPI_File_open, 0, PMPI_File_open(comm, name, mode, info, file));
}

int MPI_File_close(MPI_File* file) {
    H5INFER_COUNTED(MPI_File_close, 0, PMPI_File_close(file));
}

int MPI_File_set_size(MPI_File file, MPI_Offset size) {
    H5INFER_COUNTED(MPI_File_set_size, 0, PMPI_File_set_size(file, size));
}

int MPI_File_sync(MPI_File file) {
    H5INFER_COUNTED(MPI_File_sync, 0, PMPI_File_sync(file));
}

int MPI_File_set_view(MPI_File file, MPI_Offset offset, MPI_Datatype etype, MPI_Datatype filetype,
                      const char* representation, MPI_Info info) {
    H5INFER_COUNTED(MPI_File_set_view, 0,
                    PMPI_File_set_view(file, offset, etype, filetype, representation, info));
}

int MPI_File_write_at_all(MPI_File file, MPI_Offset offset, const void* buffer, int count,
                          MPI_Datatype type, MPI_Status* status_out) {
    H5INFER_COUNTED(MPI_File_write_at_all, bytes_of(count, type),
                    PMPI_File_write_at_all(file, offset, buffer, count, type, status_out));
}

int MPI_File_read_at_all(MPI_File file, MPI_Offset offset, void* buffer, int count,
                         MPI_Datatype type, MPI_Status* status_out) {
    H5INFER_COUNTED(MPI_File_read_at_all, bytes_of(count, type),
                    PMPI_File_read_at_all(file, offset, buffer, count, type, status_out));
}

int MPI_File_write_at(MPI_File file, MPI_Offset offset, const void* buffer, int count,
                      MPI_Datatype type, MPI_Status* status_out) {
    H5INFER_COUNTED(MPI_File_write_at, bytes_of(count, type),
                    PMPI_File_write_at(file, offset, buffer, count, type, status_out));
}

int MPI_File_read_at(MPI_File file, MPI_Offset offset, void* buffer, int count, MPI_Datatype type,
                     MPI_Status* status_out) {
    H5INFER_COUNTED(MPI_File_read_at, bytes_of(count, type),
                    PMPI_File_read_at(file, offset, buffer, count, type, status_out));
}

}  // extern "C"
