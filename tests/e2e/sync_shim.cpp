// Test-only LD_PRELOAD library between h5infer and the C library's sync and rename calls. No
// healthy disk shows when a file reaches storage, or fails to: this library logs each
// fsync/fdatasync (with the path of its descriptor) and rename (with both names) to
// $H5INFER_SHIM_LOG as "PID CALL PATH...", in the order the calls happen, and fails
// fsync/fdatasync with EIO on files whose path contains $H5INFER_SHIM_FAIL_SYNC.
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

std::string path_of(int descriptor) {
    char link[64];
    std::snprintf(link, sizeof link, "/proc/self/fd/%d", descriptor);
    char target[4096];
    const ::ssize_t size = ::readlink(link, target, sizeof target - 1);
    return size > 0 ? std::string(target, static_cast<std::size_t>(size)) : "?";
}

void log_call(const std::string& line) {
    const char* log = std::getenv("H5INFER_SHIM_LOG");
    if (log == nullptr) return;
    const int file = ::open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (file < 0) return;
    const std::string text = std::to_string(::getpid()) + " " + line + "\n";
    (void)!::write(file, text.data(), text.size());  // one append: lines never interleave
    ::close(file);
}

template <typename Function>
Function next(const char* name) {
    return reinterpret_cast<Function>(::dlsym(RTLD_NEXT, name));  // NOLINT: dlsym's contract
}

int sync_call(const char* name, int descriptor, int (*real)(int)) {
    const std::string path = path_of(descriptor);
    log_call(std::string(name) + " " + path);
    const char* fail = std::getenv("H5INFER_SHIM_FAIL_SYNC");
    if (fail != nullptr && *fail != '\0' && path.find(fail) != std::string::npos) {
        errno = EIO;
        return -1;
    }
    return real(descriptor);
}

}  // namespace

extern "C" int fsync(int descriptor) {
    static const auto real = next<int (*)(int)>("fsync");
    return sync_call("fsync", descriptor, real);
}

extern "C" int fdatasync(int descriptor) {
    static const auto real = next<int (*)(int)>("fdatasync");
    return sync_call("fdatasync", descriptor, real);
}

extern "C" int rename(const char* from, const char* to) {
    static const auto real = next<int (*)(const char*, const char*)>("rename");
    log_call(std::string("rename ") + from + " " + to);
    return real(from, to);
}

extern "C" int renameat2(int from_directory, const char* from, int to_directory, const char* to,
                         unsigned flags) {
    static const auto real =
        next<int (*)(int, const char*, int, const char*, unsigned)>("renameat2");
    log_call(std::string("rename ") + from + " " + to);
    return real(from_directory, from, to_directory, to, flags);
}
