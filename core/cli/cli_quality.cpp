// gguf-squash quality [--imatrix F] [--types T1,T2,…|all] [--rows N|all] [--json] MODEL
// What each ftype does to the model's weights: every tensor quantized as the plan says, with the
// quantizer's kernels, dequantized and compared with the source (core/quality). Reads only the
// measured rows, in bounded chunks. Exit 0 on success, 1 for an unreadable or invalid input,
// 2 for a usage error.
#include "cli_quality.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "commands.h"
#include "io/gguf_file.h"
#include "quality/quality_report.h"
#include "quant/quantize.h"

namespace gguf_squash::cli {

result<std::unique_ptr<model_files>> model_files::open(const std::string& path) {
    result<gguf_model> model = read_gguf_model_file(path);
    if (!model.ok()) return make_error(model.error().code(), path + ": " + model.error().message());
    std::unique_ptr<model_files> files(new model_files());
    files->model_ = std::move(*model);
    const uint32_t count = uint32_t(files->model_.shards.size());
    if (count <= 1) {
        files->paths_.push_back(path);
    } else {
        const std::optional<std::string> prefix = gguf_split_prefix(path, 0, count);
        if (!prefix) return make_error(status_code::refused, "invalid split file name: " + path);
        for (uint32_t i = 0; i < count; ++i)
            files->paths_.push_back(gguf_split_path(*prefix, i, count));
    }
    for (const std::string& p : files->paths_) {
        const int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) return make_error(status_code::io_error, p + ": " + std::strerror(errno));
        files->fds_.push_back(fd);
    }
    return files;
}

model_files::~model_files() {
    for (int fd : fds_) ::close(fd);
}

result<size_t> model_files::read(uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) const {
    if (shard >= fds_.size())
        return make_error(status_code::internal, "no input shard " + std::to_string(shard));
    while (true) {
        const ssize_t n = ::pread(fds_[shard], buf, size, off_t(offset));
        if (n >= 0) return size_t(n);
        if (errno == EINTR) continue;
        return make_error(status_code::io_error,
                          paths_[shard] + ": read failed: " + std::strerror(errno));
    }
}

namespace {

void print_quality_usage(FILE* out) {
    std::fprintf(out,
                 "usage: gguf-squash quality [options] MODEL\n"
                 "  Quantizes every tensor as each type's plan says (the quantizer's own mix and\n"
                 "  kernels), dequantizes it and measures the error against the source weights.\n"
                 "  This is weight reconstruction error, not perplexity.\n"
                 "  --imatrix FILE        quantize with this importance matrix (.gguf or .dat)\n"
                 "                        and report weighted_mse\n"
                 "  --types T1,T2,...     llama-quantize type names, or all (default: all)\n"
                 "  --rows N|all          evenly spaced rows measured per matrix, first and last\n"
                 "                        included (default %llu), or every row\n"
                 "  --json                one JSON object instead of the table\n",
                 (unsigned long long)kDefaultMeasuredRows);
}

}  // namespace

int run_quality(int argc, char** argv) {
    quality_options opts;
    bool json = false;
    std::string imatrix_path, input;
    auto bad_usage = [](const std::string& msg) {
        return usage_error("quality", msg, print_quality_usage);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "-h" || a == "--help") {
            print_quality_usage(stdout);
            return 0;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--imatrix") {
            if (!has_value) return bad_usage("--imatrix needs a file");
            imatrix_path = argv[++i];
        } else if (a == "--types") {
            if (!has_value) return bad_usage("--types needs a list of types or all");
            result<std::vector<std::string>> t = parse_quality_ftypes(argv[++i]);
            if (!t.ok()) return bad_usage(t.error().message());
            opts.ftypes = std::move(*t);
        } else if (a == "--rows") {
            if (!has_value) return bad_usage("--rows needs a number of rows or all");
            result<uint64_t> n = parse_quality_rows(argv[++i]);
            if (!n.ok()) return bad_usage(n.error().message());
            opts.rows_per_matrix = *n;
        } else if (a.size() > 1 && a[0] == '-') {
            return bad_usage("unknown option '" + a + "'");
        } else if (!input.empty()) {
            return bad_usage("one model at a time");
        } else {
            input = a;
        }
    }
    if (input.empty()) return bad_usage("no model file");

    imatrix_data imatrix;
    if (apply_imatrix_option("quality", imatrix_path, imatrix, opts) != 0) return 1;
    result<std::unique_ptr<model_files>> files = model_files::open(input);
    if (!files.ok()) {
        std::fprintf(stderr, "gguf-squash quality: %s\n",
                     single_line(files.error().message()).c_str());
        return 1;
    }
    result<quality_setup> setup = plan_quality((*files)->model(), opts);
    if (!setup.ok()) {
        std::fprintf(stderr, "gguf-squash quality: %s\n",
                     single_line(setup.error().message()).c_str());
        return 1;
    }
    measure_options mo;
    mo.rows_per_matrix = opts.rows_per_matrix;
    measure_job job(setup->measures.requests, mo);
    const bool tty = ::isatty(2);
    int last_percent = -1;
    auto progress = [&](const measure_progress& p) {
        if (tty && p.bytes_total) {
            const int percent = int(p.bytes_read * 100 / p.bytes_total);
            if (percent != last_percent) {
                std::fprintf(
                    stderr, "\rmeasuring: %3d%% (tensor %zu of %zu)", percent,
                    p.tensor_index + 1 > p.tensor_count ? p.tensor_count : p.tensor_index + 1,
                    p.tensor_count);
                last_percent = percent;
            }
        }
        return true;
    };
    const model_files& f = **files;
    status s = run_measure_job(
        job,
        [&](uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) {
            return f.read(shard, offset, buf, size);
        },
        progress);
    if (tty && last_percent >= 0) std::fprintf(stderr, "\n");
    if (!s.ok()) {
        std::fprintf(stderr, "gguf-squash quality: %s: %s\n", input.c_str(),
                     single_line(s.message()).c_str());
        return 1;
    }
    const quality_report report = make_quality_report(*setup, job.results());
    const std::string out = json ? quality_to_json(report) + "\n" : quality_to_text(report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace gguf_squash::cli
