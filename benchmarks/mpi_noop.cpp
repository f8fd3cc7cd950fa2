// MPI_Init and MPI_Finalize, nothing else: the start-up every MPI program pays. compare.py times
// `mpirun -n 1 mpi_noop` beside `mpirun -n 1 /bin/true` to tell MPI's share of a 1-row job.
#include <mpi.h>

int main(int argc, char** argv) {
    MPI_Init(&argc, &argv);
    MPI_Finalize();
    return 0;
}
