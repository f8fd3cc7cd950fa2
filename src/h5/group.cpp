#include "h5infer/h5/group.hpp"

#include "h5/check.hpp"

namespace h5infer::h5 {
namespace {

herr_t collect_child(hid_t /*group*/, const char* name, const H5L_info_t* /*info*/, void* data) {
    static_cast<std::vector<std::string>*>(data)->emplace_back(name);
    return 0;
}

void collect_datasets(hid_t file, const std::string& group_path, int depth,
                      std::vector<std::string>& paths) {
    constexpr int max_depth = 32;  // hard links can form cycles
    if (depth > max_depth) return;
    Handle group = open_group(file, group_path);
    for (const std::string& name : children(group.get())) {
        const std::string path = (group_path == "/" ? "/" : group_path + "/") + name;
        switch (object_type(file, path)) {
            case ObjectType::Dataset: paths.push_back(path); break;
            case ObjectType::Group: collect_datasets(file, path, depth + 1, paths); break;
            default: break;
        }
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
    collect_datasets(file, "/", 0, paths);
    return paths;
}

}  // namespace h5infer::h5
