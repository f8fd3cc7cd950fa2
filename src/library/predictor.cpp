#include "h5infer/predictor.hpp"

#include <omp.h>

#include <algorithm>
#include <mutex>
#include <optional>
#include <string_view>
#include <utility>

#include "h5infer/h5/handle.hpp"
#include "h5infer/model_file.hpp"
#include "h5infer/plan.hpp"
#include "h5infer/run.hpp"
#include "kernels/instruction_set.hpp"
#include "kernels/network.hpp"
#include "model/describe.hpp"

namespace h5infer {
namespace {

// HDF5 is not thread-safe, and the ONNX importer's protobuf parsing is not the time that
// matters: one model file is read at a time in the whole process.
std::mutex& loading_mutex() {
    static std::mutex mutex;
    return mutex;
}

template <typename Choice, typename Name>
Choice parse_choice(const std::string& option, const std::string& word,
                    std::initializer_list<Choice> choices, Name name) {
    std::string names;
    for (const Choice choice : choices) {
        if (word == name(choice)) return choice;
        names += (names.empty() ? "" : ", ") + std::string(name(choice));
    }
    throw ConfigError("unknown " + option + " '" + word + "'; use one of: " + names);
}

// PredictorOptions::isa, as `run --isa` checks and sets it on each rank.
void limit_instruction_set(const std::string& isa, kernels::Backend backend) {
    if (isa.empty()) return;
    if (backend != kernels::Backend::Onednn) {
        throw ConfigError("isa '" + isa + "' chooses the onednn backend's instruction set; the " +
                          std::string(kernels::backend_name(backend)) +
                          " backend computes the same bits on every CPU");
    }
    const std::optional<kernels::InstructionSet> set = kernels::parse_instruction_set(isa);
    if (!set) {
        throw ConfigError("unknown isa '" + isa +
                          "'; use one of: " + kernels::instruction_set_names());
    }
    const kernels::InstructionSet local = kernels::local_instruction_set();
    if ((local & *set) != *set) {
        throw ConfigError("isa '" + isa + "': this CPU can use at most " +
                          kernels::instruction_set_name(kernels::best_named_within(local)));
    }
    kernels::limit_instruction_set(*set);
}

Model read_model_quietly(const std::string& path) {
    const std::lock_guard<std::mutex> lock(loading_mutex());
    const h5::SilencedErrors silenced;
    return read_model(path);
}

// The kernels set the calling thread's OpenMP thread count to theirs (they build their
// primitives under it); the program's own OpenMP code keeps the count it had.
class OmpThreadsKept {
public:
    OmpThreadsKept() : saved_(omp_get_max_threads()) {}
    ~OmpThreadsKept() { omp_set_num_threads(saved_); }
    OmpThreadsKept(const OmpThreadsKept&) = delete;
    OmpThreadsKept& operator=(const OmpThreadsKept&) = delete;
    OmpThreadsKept(OmpThreadsKept&&) = delete;
    OmpThreadsKept& operator=(OmpThreadsKept&&) = delete;

private:
    int saved_ = 1;
};

}  // namespace

struct Predictor::Impl {
    std::unique_ptr<kernels::Network> network;
    std::int64_t input_width = 0;
    std::int64_t output_width = 0;
    std::int64_t chunk_rows = 0;
    int threads = 1;
    std::vector<std::string> feature_names;
    std::vector<std::string> labels;
};

Predictor::Predictor(const std::string& model_path, const PredictorOptions& options)
    : impl_(std::make_unique<Impl>()) {
    const auto backend = parse_choice("backend", options.backend,
                                      {kernels::Backend::Onednn, kernels::Backend::Reference},
                                      kernels::backend_name);
    const auto precision =
        parse_choice("precision", options.precision,
                     {kernels::Precision::F32, kernels::Precision::Bf16}, kernels::precision_name);
    if (options.threads < 0) {
        throw ConfigError("threads must be 0 (as h5infer run chooses) or more, not " +
                          std::to_string(options.threads));
    }
    if (options.chunk_rows < 0) {
        throw ConfigError("chunk rows must be 0 (as h5infer run chooses) or more, not " +
                          std::to_string(options.chunk_rows));
    }
    limit_instruction_set(options.isa, backend);
    Model model = read_model_quietly(model_path);
    Impl& impl = *impl_;
    std::string source;
    impl.threads = resolve_threads(options.threads, source);
    impl.input_width = model.input_width;
    impl.output_width = model.output_width();
    impl.chunk_rows =
        options.chunk_rows > 0 ? options.chunk_rows : auto_chunk_rows(flops_per_row(model));
    impl.feature_names = model.feature_names;
    impl.labels = model.labels;
    const OmpThreadsKept kept;
    // As `run` builds it for an input of at least chunk_rows rows; fewer rows per call keep the
    // bits (kernels/network.hpp: a row depends on its input, the model and the call's rows).
    impl.network =
        kernels::make_network(std::move(model), backend, impl.chunk_rows, impl.threads, precision);
}

Predictor::~Predictor() = default;
Predictor::Predictor(Predictor&& other) noexcept = default;
Predictor& Predictor::operator=(Predictor&& other) noexcept = default;

std::int64_t Predictor::input_width() const {
    return impl_->input_width;
}
std::int64_t Predictor::output_width() const {
    return impl_->output_width;
}
const std::vector<std::string>& Predictor::feature_names() const {
    return impl_->feature_names;
}
const std::vector<std::string>& Predictor::labels() const {
    return impl_->labels;
}
std::int64_t Predictor::chunk_rows() const {
    return impl_->chunk_rows;
}
int Predictor::threads() const {
    return impl_->threads;
}

void Predictor::predict(const float* src, std::int64_t rows, float* dst) {
    if (rows < 0) throw ConfigError("rows must be 0 or more, not " + std::to_string(rows));
    if (rows > 0 && (src == nullptr || dst == nullptr)) {
        throw ConfigError(std::string("the ") + (src == nullptr ? "input" : "output") +
                          " rows are a null pointer; pass " + std::to_string(rows) + " rows");
    }
    // `run`'s chunk grid (ChunkPlan): each chunk one forward() call, as `run` computes it.
    const ChunkPlan plan(rows, impl_->chunk_rows, 1);
    for (std::int64_t chunk = 0; chunk < plan.chunk_count(); ++chunk) {
        const Range range = plan.chunk(chunk);
        impl_->network->forward(src + range.begin * impl_->input_width, range.size(),
                                dst + range.begin * impl_->output_width);
    }
}

std::vector<float> Predictor::predict(const std::vector<float>& src) {
    const auto values = static_cast<std::int64_t>(src.size());
    if (values % impl_->input_width != 0) {
        throw InputError("the rows hold " + std::to_string(values) +
                         " values, not a multiple of the model's " +
                         std::to_string(impl_->input_width) + " features per row");
    }
    const std::int64_t rows = values / impl_->input_width;
    std::vector<float> dst(static_cast<std::size_t>(rows * impl_->output_width));
    predict(src.data(), rows, dst.data());
    return dst;
}

}  // namespace h5infer
