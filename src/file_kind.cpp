#include "file_kind.hpp"

#include <sys/stat.h>

namespace h5infer {

std::string special_file_kind(const std::string& path) {
    struct stat info {};
    if (::stat(path.c_str(), &info) != 0 || S_ISREG(info.st_mode)) return "";
    if (S_ISDIR(info.st_mode)) return "a directory";
    if (S_ISFIFO(info.st_mode)) return "a FIFO (named pipe)";
    if (S_ISCHR(info.st_mode)) return "a character device";
    if (S_ISBLK(info.st_mode)) return "a block device";
    if (S_ISSOCK(info.st_mode)) return "a socket";
    return "a special file";
}

}  // namespace h5infer
