#include "kernels/network.hpp"

#include "h5infer/error.hpp"
#include "kernels/onednn/onednn.hpp"
#include "kernels/reference/reference.hpp"

namespace h5infer::kernels {

std::string_view backend_name(Backend backend) {
    switch (backend) {
        case Backend::Onednn: return "onednn";
        case Backend::Reference: return "reference";
    }
    return "unknown";
}

std::unique_ptr<Network> make_network(const Model& model, Backend backend, std::int64_t max_rows,
                                      int threads) {
    H5INFER_ASSERT(max_rows > 0);
    H5INFER_ASSERT(threads > 0);
    switch (backend) {
        case Backend::Onednn: return make_onednn_network(model, max_rows, threads);
        case Backend::Reference: return make_reference_network(model, max_rows);
    }
    H5INFER_ASSERT(false && "unknown backend");
    return nullptr;
}

}  // namespace h5infer::kernels
