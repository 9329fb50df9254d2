// gguf-squash fit (--target-size SIZE | --target-bpw X | --memory SIZE [--ctx N] [--kv-type T])
//                  [--imatrix F] [--base FTYPE] [--rows N|all] [--json] MODEL [-o TYPES.txt]
// Chooses a type per tensor that minimises the measured error within the target (core/quality/
// fit_report.h), writes llama-quantize's --tensor-type-file and prints the command that makes the
// file, with its exact size. Exit 0 on success, 1 for an unreadable input or an impossible
// target, 2 for a usage error.
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "cli_common.h"
#include "cli_quality.h"
#include "commands.h"
#include "estimate/memory_model.h"
#include "quality/fit_report.h"

namespace gguf_squash::cli {
namespace {

void print_fit_usage(FILE* out) {
    std::fprintf(
        out,
        "usage: gguf-squash fit TARGET [options] MODEL [-o TYPES.txt]\n"
        "  Chooses one type per tensor (among those the plan allows it) that minimises the\n"
        "  measured weight error within the target, and writes them as a --tensor-type-file\n"
        "  for llama-quantize. TARGET is one of:\n"
        "  --target-size SIZE    the output file's size: bytes, or 4.5GiB, 4800MB, 512M\n"
        "  --target-bpw X        bits per weight of the tensor data\n"
        "  --memory SIZE         memory to run it in (weights + KV cache + buffers, as\n"
        "                        estimate counts them), with\n"
        "    --ctx N             context length (default 4096)\n"
        "    --kv-type TYPE      KV cache type: f16 (default), q8_0, q4_0\n"
        "  options:\n"
        "  --imatrix FILE        quantize and weigh the error with this importance matrix\n"
        "  --base FTYPE          the type given to llama-quantize (default: the largest\n"
        "                        standard type not above the fit)\n"
        "  --rows N|all          rows measured per matrix (default %llu)\n"
        "  -o FILE               write the tensor types there (one ^name$=type per line)\n"
        "  --json                one JSON object instead of the text\n",
        (unsigned long long)kDefaultMeasuredRows);
}

std::string fit_output_name(const std::string& model) {
    std::string stem = model;
    if (stem.size() > 5 && stem.compare(stem.size() - 5, 5, ".gguf") == 0) {
        stem.resize(stem.size() - 5);
    }
    return stem + "-fit.gguf";
}

}  // namespace

int run_fit(int argc, char** argv) {
    fit_options opts;
    int targets = 0;
    bool json = false, ctx_given = false, kv_given = false;
    std::string imatrix_path, input, types_path;
    auto bad_usage = [](const std::string& msg) {
        return usage_error("fit", msg, print_fit_usage);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "-h" || a == "--help") {
            print_fit_usage(stdout);
            return 0;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--target-size" || a == "--memory") {
            if (!has_value) return bad_usage(a + " needs a size");
            result<uint64_t> size = parse_size(argv[++i]);
            if (!size.ok()) return bad_usage(a + ": " + size.error().message());
            opts.target.kind =
                a == "--memory" ? fit_target_kind::memory : fit_target_kind::file_size;
            opts.target.bytes = *size;
            ++targets;
        } else if (a == "--target-bpw") {
            if (!has_value) return bad_usage("--target-bpw needs a number");
            char* end = nullptr;
            const double bpw = std::strtod(argv[++i], &end);
            if (*end != '\0' || !(bpw > 0) || !std::isfinite(bpw) || bpw > 64) {
                return bad_usage("--target-bpw needs a positive number of bits per weight");
            }
            opts.target.kind = fit_target_kind::bpw;
            opts.target.bpw = bpw;
            ++targets;
        } else if (a == "--ctx") {
            if (!has_value) return bad_usage("--ctx needs a positive integer");
            char* end = nullptr;
            const unsigned long long n = std::strtoull(argv[++i], &end, 10);
            if (*end != '\0' || argv[i][0] == '-' || n == 0 || n > (1ull << 32)) {
                return bad_usage("--ctx needs a positive integer");
            }
            opts.target.ctx = n;
            ctx_given = true;
        } else if (a == "--kv-type") {
            std::optional<ggml_type> t = has_value ? parse_kv_cache_type(argv[++i]) : std::nullopt;
            if (!t) return bad_usage("--kv-type must be f16, q8_0 or q4_0");
            opts.target.kv_type = *t;
            kv_given = true;
        } else if (a == "--imatrix") {
            if (!has_value) return bad_usage("--imatrix needs a file");
            imatrix_path = argv[++i];
        } else if (a == "--base") {
            if (!has_value) return bad_usage("--base needs a type");
            opts.base = argv[++i];
        } else if (a == "--rows") {
            if (!has_value) return bad_usage("--rows needs a number of rows or all");
            result<uint64_t> n = parse_quality_rows(argv[++i]);
            if (!n.ok()) return bad_usage(n.error().message());
            opts.rows_per_matrix = *n;
        } else if (a == "-o") {
            if (!has_value) return bad_usage("-o needs a file");
            types_path = argv[++i];
        } else if (a.size() > 1 && a[0] == '-') {
            return bad_usage("unknown option '" + a + "'");
        } else if (!input.empty()) {
            return bad_usage("one model at a time");
        } else {
            input = a;
        }
    }
    if (targets != 1) {
        return bad_usage("give one target: --target-size, --target-bpw or --memory");
    }
    if ((ctx_given || kv_given) && opts.target.kind != fit_target_kind::memory) {
        return bad_usage("--ctx and --kv-type apply to --memory only");
    }
    if (input.empty()) return bad_usage("no model file");

    imatrix_data imatrix;
    if (apply_imatrix_option("fit", imatrix_path, imatrix, opts) != 0) return 1;
    result<std::unique_ptr<model_files>> files = model_files::open(input);
    if (!files.ok()) {
        std::fprintf(stderr, "gguf-squash fit: %s\n", single_line(files.error().message()).c_str());
        return 1;
    }
    result<fit_setup> setup = plan_fit((*files)->model(), opts);
    if (!setup.ok()) {
        std::fprintf(stderr, "gguf-squash fit: %s\n", single_line(setup.error().message()).c_str());
        return setup.error().code() == status_code::invalid_argument ? 2 : 1;
    }
    measure_options mo;
    mo.rows_per_matrix = opts.rows_per_matrix;
    measure_job job(setup->measures.requests, mo);
    const bool tty = ::isatty(2);
    int last_percent = -1;
    const model_files& f = **files;
    status s = run_measure_job(
        job,
        [&](uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) {
            return f.read(shard, offset, buf, size);
        },
        [&](const measure_progress& p) {
            if (tty && p.bytes_total) {
                const int percent = int(p.bytes_read * 100 / p.bytes_total);
                if (percent != last_percent) {
                    std::fprintf(stderr, "\rmeasuring: %3d%%", percent);
                    last_percent = percent;
                }
            }
            return true;
        });
    if (tty && last_percent >= 0) std::fprintf(stderr, "\n");
    if (!s.ok()) {
        std::fprintf(stderr, "gguf-squash fit: %s: %s\n", input.c_str(),
                     single_line(s.message()).c_str());
        return 1;
    }
    result<fit_result> fit = solve_fit_setup(*setup, job.results());
    if (!fit.ok()) {
        std::fprintf(stderr, "gguf-squash fit: %s\n", single_line(fit.error().message()).c_str());
        return 1;
    }
    const std::string command = fit_command(*fit, types_path.empty() ? "TYPES.txt" : types_path,
                                            imatrix_path, input, fit_output_name(input));
    if (!types_path.empty()) {
        // Written whole to a temporary name, then renamed: never a partial file.
        const std::string text = fit_type_file(*fit);
        const std::string tmp = types_path + ".tmp." + std::to_string(::getpid());
        FILE* out = std::fopen(tmp.c_str(), "wb");
        bool ok = out && std::fwrite(text.data(), 1, text.size(), out) == text.size();
        if (out) ok = std::fclose(out) == 0 && ok;
        if (!ok || std::rename(tmp.c_str(), types_path.c_str()) != 0) {
            const int err = errno;
            std::remove(tmp.c_str());
            std::fprintf(stderr, "gguf-squash fit: cannot write '%s': %s\n", types_path.c_str(),
                         std::strerror(err));
            return 1;
        }
    }
    const std::string out = json ? fit_to_json(*fit, command, types_path) + "\n"
                                 : fit_to_text(*fit, command, types_path);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace gguf_squash::cli
