#include "h5infer/h5/group.hpp"

#include <set>
#include <utility>

#include "h5/check.hpp"

namespace h5infer::h5 {
namespace {

herr_t collect_child(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

// An object of an open file: external links lead into other files.
using ObjectAddress = std::pair<unsigned long, haddr_t>;  // NOLINT(google-runtime-int): HDF5's

// Hard links can reach one object by several paths and make a group its own descendant: each
// object is taken once, at the first path that reaches it, so a walk ends whatever the links.
bool first_visit(hid_t file, const std::string& path, std::set<ObjectAddress>& visited) {
    H5O_info_t info{};
    if (H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return false;
    }
    return visited.insert({info.fileno, info.addr}).second;
}

void collect_datasets(hid_t file, const std::string& group_path, std::set<ObjectAddress>& visited,
                      std::vector<std::string>& paths) {
    Handle group = open_group(file, group_path);
    for (const std::string& name : children(group.get())) {
        const std::string path = (group_path == "/" ? "/" : group_path + "/") + name;
        const ObjectType type = object_type(file, path);
        if (type == ObjectType::Missing || !first_visit(file, path, visited)) continue;
        if (type == ObjectType::Dataset) paths.push_back(path);
        if (type == ObjectType::Group) collect_datasets(file, path, visited, paths);
    }
}

}  // namespace

void delete_link(hid_t location, const std::string& path) {
    check_status(H5Ldelete(location, path.c_str(), H5P_DEFAULT), "cannot delete '" + path + "'");
}

ObjectType object_type(hid_t location, const std::string& path) {
    // H5Lexists fails (rather than answering no) when a parent is missing: check each prefix.
    std::string prefix = path.rfind('/', 0) == 0 ? "" : ".";
    std::size_t begin = 0;
    while (begin < path.size()) {
        std::size_t end = path.find('/', begin);
        if (end == std::string::npos) end = path.size();
        if (end > begin) {
            prefix += "/" + path.substr(begin, end - begin);
            if (H5Lexists(location, prefix.c_str(), H5P_DEFAULT) <= 0) {
                H5Eclear2(H5E_DEFAULT);
                return ObjectType::Missing;
            }
        }
        begin = end + 1;
    }
    const hid_t object = H5Oopen(location, prefix.empty() ? "/" : prefix.c_str(), H5P_DEFAULT);
    if (object < 0) {
        H5Eclear2(H5E_DEFAULT);
        return ObjectType::Missing;  // a dangling soft or external link
    }
    const H5I_type_t type = H5Iget_type(object);
    H5Oclose(object);
    if (type == H5I_GROUP) return ObjectType::Group;
    if (type == H5I_DATASET) return ObjectType::Dataset;
    return ObjectType::Other;
}

Handle open_group(hid_t location, const std::string& path) {
    return Handle(
        check(H5Gopen2(location, path.c_str(), H5P_DEFAULT), "cannot open group '" + path + "'"));
}

Handle create_group(hid_t location, const std::string& path) {
    Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE), "cannot create a link creation list"));
    check_status(H5Pset_create_intermediate_group(lcpl.get(), 1), "cannot set link creation");
    return Handle(check(H5Gcreate2(location, path.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                        "cannot create group '" + path + "'"));
}

std::vector<std::string> children(hid_t group) {
    std::vector<std::string> names;
    hsize_t index = 0;
    check_status(H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, collect_child, &names),
                 "cannot list a group");
    return names;
}

std::vector<std::string> dataset_paths(hid_t file) {
    std::vector<std::string> paths;
    std::set<ObjectAddress> visited;
    (void)first_visit(file, "/", visited);
    collect_datasets(file, "/", visited, paths);
    return paths;
}

}  // namespace h5infer::h5
