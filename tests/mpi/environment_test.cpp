// The MPI environment's start-up choices, registered at 1, 2, 3 and 4 ranks.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <string>

#include "h5infer/mpi/comm.hpp"

namespace h5infer::mpi {
namespace {

// First in this file (GoogleTest runs suites in the order they are defined), before any test
// here calls disable_nagle_on_loopback() itself: under mpiexec this process has a TCP
// connection to the launcher's daemon, which MPI_Init opened with Nagle's algorithm on.
TEST(Environment, LeavesNoLoopbackConnectionWithNagleOn) {
    EXPECT_EQ(disable_nagle_on_loopback(), 0);
}

// A file descriptor closed at the end of a test.
class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    Fd(Fd&&) = delete;
    Fd& operator=(Fd&&) = delete;
    [[nodiscard]] int get() const { return fd_; }

private:
    int fd_ = -1;
};

int nodelay(int fd) {
    int value = -1;
    socklen_t size = sizeof value;
    EXPECT_EQ(::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &size), 0);
    return value;
}

TEST(DisableNagleOnLoopback, SetsNoDelayOnBothEndsOfALoopbackConnection) {
    const Fd listener(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_GE(listener.get(), 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = 0;  // any free port
    ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    ASSERT_EQ(::listen(listener.get(), 1), 0);
    socklen_t size = sizeof address;
    ASSERT_EQ(::getsockname(listener.get(), reinterpret_cast<sockaddr*>(&address), &size), 0);
    const Fd client(::socket(AF_INET, SOCK_STREAM, 0));
    ASSERT_EQ(::connect(client.get(), reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    const Fd server(::accept(listener.get(), nullptr, nullptr));
    ASSERT_GE(server.get(), 0);
    int pair[2] = {-1, -1};
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    const Fd local_a(pair[0]);
    const Fd local_b(pair[1]);
    ASSERT_EQ(nodelay(client.get()), 0);  // the kernel's default: Nagle on
    ASSERT_EQ(nodelay(server.get()), 0);

    EXPECT_EQ(disable_nagle_on_loopback(), 2);  // not the listener: it has no peer
    EXPECT_EQ(nodelay(client.get()), 1);
    EXPECT_EQ(nodelay(server.get()), 1);
    EXPECT_EQ(disable_nagle_on_loopback(), 0);
}

// launched_on_one_node() takes a getenv-like function; this one reads a test's table.
std::map<std::string, std::string>& fake_environment() {
    static std::map<std::string, std::string> variables;
    return variables;
}

const char* from_fake(const char* name) {
    const auto found = fake_environment().find(name);
    return found == fake_environment().end() ? nullptr : found->second.c_str();
}

bool one_node(std::map<std::string, std::string> variables) {
    fake_environment() = std::move(variables);
    return launched_on_one_node(from_fake);
}

TEST(LaunchedOnOneNode, ReadsEachLaunchersVariables) {
    EXPECT_TRUE(one_node({{"OMPI_COMM_WORLD_SIZE", "4"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}));
    EXPECT_FALSE(one_node({{"OMPI_COMM_WORLD_SIZE", "8"}, {"OMPI_COMM_WORLD_LOCAL_SIZE", "4"}}));
    EXPECT_TRUE(one_node({{"SLURM_STEP_NUM_NODES", "1"}, {"PMIX_RANK", "0"}}));
    EXPECT_FALSE(one_node({{"SLURM_STEP_NUM_NODES", "2"}, {"PMIX_RANK", "0"}}));
    EXPECT_TRUE(one_node({}));  // a singleton
    // A launcher this code does not know: it cannot tell.
    EXPECT_FALSE(one_node({{"PMIX_RANK", "3"}}));
    EXPECT_FALSE(one_node({{"PMI_RANK", "3"}}));
}

// CTest starts these tests with mpiexec on one machine, so the environment asked for ob1
// unless the caller had chosen a pml itself.
TEST(Environment, AsksForSharedMemoryOnOneNode) {
    ASSERT_TRUE(
        launched_on_one_node([](const char* name) -> const char* { return std::getenv(name); }));
    const char* pml = std::getenv("OMPI_MCA_pml");
    ASSERT_NE(pml, nullptr);
    EXPECT_EQ(std::string(pml), "ob1");
}

}  // namespace
}  // namespace h5infer::mpi
