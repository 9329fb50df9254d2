// gguf-squash quantize [options] IN [OUT] TYPE [NTHREADS]: llama-quantize's command, writing
// byte-identical files. The core plans and streams; this file does the I/O: it reads the input by
// offset, writes the output to a temporary name next to OUT and renames it only when complete, so
// no partial file is ever left (failure, refusal, full disk, SIGINT/SIGTERM).
//
// Split models: IN names the first shard (NAME-00001-of-0000N.gguf), as llama-quantize requires;
// the others are opened next to it. With --keep-split the output is one file per input shard,
// OUT-0000K-of-0000N.gguf; every file is written to a temporary name and all are renamed only
// once all are complete.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "commands.h"
#include "format/gguf_reader.h"
#include "format/gguf_split.h"
#include "io/gguf_file.h"
#include "pipeline/quantize_job.h"
#include "plan/imatrix.h"
#include "plan/quant_plan.h"
#include "plan/quantize_args.h"
#include "quant/quantize.h"
#include "url_input.h"

namespace gguf_squash::cli {
namespace {

// Set by SIGINT/SIGTERM; the run loop stops at the next step and the temporary file is removed.
std::atomic<int> g_signal{0};

extern "C" void on_terminate_signal(int sig) {
    g_signal.store(sig);
}

void print_usage(FILE* out, const char* exe) {
    std::fprintf(
        out,
        "usage: %s quantize [--help] [--allow-requantize] [--leave-output-tensor] [--pure] "
        "[--imatrix] [--include-weights]\n"
        "       [--exclude-weights] [--output-tensor-type] [--token-embedding-type] "
        "[--tensor-type] [--tensor-type-file]\n"
        "       [--prune-layers] [--keep-split] [--override-kv] [--dry-run] "
        "[--max-buffer-size] [--allow-non-finite]\n"
        "       model-f32.gguf [model-quant.gguf] type [nthreads]\n\n",
        exe);
    std::fprintf(out,
                 "  --allow-requantize\n"
                 "        allow requantizing tensors that have already been quantized\n"
                 "        WARNING: this can severely reduce quality compared to quantizing from "
                 "16bit or 32bit!\n"
                 "  --leave-output-tensor\n"
                 "        leave output.weight un(re)quantized\n"
                 "        increases model size but may also increase quality, especially when "
                 "requantizing\n"
                 "  --pure\n"
                 "        disable k-quant mixtures and quantize all tensors to the same type\n"
                 "  --imatrix file_name\n"
                 "        use data in file_name as importance matrix for quant optimizations\n"
                 "  --include-weights tensor_name\n"
                 "        use importance matrix for this/these tensor(s)\n"
                 "  --exclude-weights tensor_name\n"
                 "        do not use importance matrix for this/these tensor(s)\n"
                 "  --output-tensor-type ggml_type\n"
                 "        use this ggml_type for the output.weight tensor\n"
                 "  --token-embedding-type ggml_type\n"
                 "        use this ggml_type for the token embeddings tensor\n"
                 "  --tensor-type tensor_name=ggml_type\n"
                 "        quantize this tensor to this ggml_type (tensor_name is a regular "
                 "expression)\n"
                 "        may be specified multiple times. example: --tensor-type attn_q=q8_0\n"
                 "  --tensor-type-file tensor_types.txt\n"
                 "        list of tensor_name=ggml_type entries, separated by spaces or newlines\n"
                 "  --prune-layers L0,L1,L2...\n"
                 "        comma-separated list of layer numbers to prune from the model\n"
                 "        WARNING: this is an advanced option, use with care.\n"
                 "  --keep-split\n"
                 "        generate quantized model in the same shards as input\n"
                 "  --override-kv KEY=TYPE:VALUE\n"
                 "        override model metadata by key in the quantized model (TYPE: int, "
                 "float, bool, str)\n"
                 "        may be specified multiple times. WARNING: advanced option, use with "
                 "care.\n"
                 "  --dry-run\n"
                 "        calculate and show the final quantization size without quantizing\n"
                 "  --max-buffer-size MiB\n"
                 "        max amount of tensor rows kept in memory while quantizing one tensor "
                 "(default: 32)\n"
                 "  --allow-non-finite\n"
                 "        quantize weights holding NaN or Inf instead of refusing the model\n\n"
                 "note: --include-weights and --exclude-weights cannot be used together\n\n");
    std::fprintf(
        out,
        "-----------------------------------------------------------------------------\n"
        " allowed quantization types (size and perplexity notes as llama-quantize "
        "publishes them)\n"
        "-----------------------------------------------------------------------------\n\n");
    for (const ftype_option& o : quantize_ftype_options()) {
        if (std::strcmp(o.name, "COPY") != 0) {
            std::fprintf(out, "  %2u  or  ", unsigned(o.ftype));
        } else {
            std::fprintf(out, "          ");
        }
        std::fprintf(out, "%-9s : %s\n", o.name, o.note);
    }
}

result<std::vector<uint8_t>> read_whole_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "rb");
    if (!f) return make_error(status_code::io_error, path + ": " + std::strerror(errno));
    std::vector<uint8_t> bytes;
    uint8_t buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
    const bool bad = std::ferror(f);
    std::fclose(f);
    if (bad) return make_error(status_code::io_error, path + ": read error");
    return bytes;
}

std::string shape_text(const tensor_plan& t) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%5llu, %5llu, %5llu, %5llu", (unsigned long long)t.ne[0],
                  (unsigned long long)t.ne[1], (unsigned long long)t.ne[2],
                  (unsigned long long)t.ne[3]);
    return buf;
}

void print_tensor_line(FILE* out, size_t i, size_t n, const tensor_plan& t) {
    const double mib = 1024.0 * 1024.0;
    std::fprintf(out, "[%4zu/%4zu] %-36s - [%s], type = %6s, ", i + 1, n, t.name.c_str(),
                 shape_text(t).c_str(), type_info(t.source_type).ggml_name);
    if (t.converts()) {
        std::fprintf(out, "converting to %s .. size = %8.2f MiB -> %8.2f MiB\n",
                     type_info(t.target_type).ggml_name, t.source_bytes / mib,
                     t.target_bytes / mib);
    } else {
        std::fprintf(out, "size = %8.3f MiB\n", t.source_bytes / mib);
    }
}

// Removes the temporary output unless committed.
struct temp_output {
    std::string path;
    int fd = -1;
    bool committed = false;
    ~temp_output() {
        if (fd >= 0) ::close(fd);
        if (!committed && !path.empty()) ::unlink(path.c_str());
    }
};

status write_all(int fd, const uint8_t* data, size_t size) {
    while (size > 0) {
        const ssize_t n = ::write(fd, data, size);
        if (n < 0) {
            if (errno == EINTR) {
                if (g_signal.load()) return make_error(status_code::cancelled, "interrupted");
                continue;
            }
            return make_error(status_code::io_error,
                              std::string("write failed: ") + std::strerror(errno));
        }
        data += n;
        size -= size_t(n);
    }
    return {};
}

}  // namespace

int run_quantize(int argc, char** argv) {
    const char* exe = "gguf-squash";
    std::vector<std::string> args(argv + 1, argv + argc);
    result<std::string> token = take_hf_token(args);  // for URL inputs (url_input.h)
    if (!token.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: %s\n\n", token.error().message().c_str());
        print_usage(stderr, exe);
        return 2;
    }
    auto read_text = [](const std::string& path) -> result<std::string> {
        result<std::vector<uint8_t>> b = read_whole_file(path);
        if (!b.ok()) return b.error();
        return std::string(b->begin(), b->end());
    };
    result<quantize_args> parsed = parse_quantize_args(args, read_text);
    if (!parsed.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: %s\n\n", parsed.error().message().c_str());
        print_usage(stderr, exe);
        return 2;
    }
    quantize_args& a = *parsed;
    if (a.help) {
        print_usage(stdout, exe);
        return 0;
    }
    // Importance matrix.
    imatrix_data imatrix;
    if (!a.imatrix_file.empty()) {
        const bool url = is_http_url(a.imatrix_file);
        result<std::vector<uint8_t>> bytes =
            url ? read_url_file(a.imatrix_file, *token) : read_whole_file(a.imatrix_file);
        // llama-quantize records the name it was given; for a URL, the file's own name is what
        // it would be given after downloading it.
        if (url) a.options.imatrix_file = url_file_name(a.imatrix_file);
        if (!bytes.ok()) {
            std::fprintf(stderr, "gguf-squash quantize: failed to load imatrix from '%s': %s\n",
                         a.imatrix_file.c_str(), bytes.error().message().c_str());
            return 1;
        }
        result<imatrix_data> im = parse_imatrix(bytes->data(), bytes->size());
        if (!im.ok()) {
            std::fprintf(stderr, "gguf-squash quantize: failed to load imatrix from '%s': %s\n",
                         a.imatrix_file.c_str(), im.error().message().c_str());
            return 1;
        }
        imatrix = std::move(*im);
        std::printf(
            "load_imatrix: loaded %zu importance matrix entries from %s computed on %d "
            "chunks\n",
            imatrix.entries.size(), a.imatrix_file.c_str(), imatrix.chunk_count);
        status fs = filter_imatrix(imatrix, a.include_weights, a.exclude_weights);
        if (!fs.ok()) {
            std::fprintf(stderr, "gguf-squash quantize: %s\n", fs.message().c_str());
            return 2;
        }
        a.options.imatrix = &imatrix;
    }

    // The model: one file, or the shards of a split model found next to the first one.
    std::vector<std::string> input_paths{a.input};
    std::vector<url_shard_source> url_shards;
    result<gguf_model> model = [&]() -> result<gguf_model> {
        if (is_http_url(a.input)) return read_gguf_model_url(a.input, nullptr, *token, &url_shards);
        result<gguf_header> first = read_gguf_header_file(a.input);
        if (!first.ok()) return first.error();
        result<std::optional<gguf_split_info>> info = read_split_info(*first);
        if (!info.ok()) return info.error();
        if (!*info || (*info)->count <= 1) {
            std::vector<gguf_header> one;
            one.push_back(std::move(first.value()));
            return merge_gguf_shards(std::move(one));
        }
        if ((*info)->no != 0) {
            return make_error(status_code::refused,
                              "illegal split file idx: " + std::to_string((*info)->no) +
                                  " (file: " + a.input +
                                  "), model must be loaded with the first split");
        }
        const std::optional<std::string> prefix = gguf_split_prefix(a.input, 0, (*info)->count);
        if (!prefix) return make_error(status_code::refused, "invalid split file name: " + a.input);
        input_paths.clear();
        for (uint32_t i = 0; i < (*info)->count; ++i) {
            input_paths.push_back(gguf_split_path(*prefix, i, (*info)->count));
        }
        return read_gguf_model_file(a.input);
    }();
    if (!model.ok()) {
        // URL errors name their URL already.
        const std::string& m = model.error().message();
        std::fprintf(stderr, "gguf-squash quantize: %s%s%s\n",
                     m.rfind(a.input, 0) == 0 ? "" : a.input.c_str(),
                     m.rfind(a.input, 0) == 0 ? "" : ": ", m.c_str());
        return 1;
    }
    if (input_paths.size() > 1) {
        std::fprintf(stderr, "loaded %zu shards of '%s'\n", input_paths.size(), a.input.c_str());
    }
    result<quant_plan> plan = make_quant_plan(*model, a.options);
    if (!plan.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: failed to quantize '%s': %s\n", a.input.c_str(),
                     plan.error().message().c_str());
        return 1;
    }
    const bool tty = ::isatty(2);
    const double mib = 1024.0 * 1024.0;

    if (a.options.dry_run) {
        std::fprintf(stderr, "calculating quantization size for '%s' as %s\n", a.input.c_str(),
                     a.ftype_name.c_str());
        for (size_t i = 0; i < plan->tensors.size(); ++i) {
            print_tensor_line(stderr, i, plan->tensors.size(), plan->tensors[i]);
        }
        std::printf("model size  = %8.2f MiB (%.2f BPW)\n", plan->source_bytes / mib,
                    plan->n_elements ? plan->source_bytes * 8.0 / plan->n_elements : 0.0);
        std::printf("quant size  = %8.2f MiB (%.2f BPW)\n", plan->target_bytes / mib,
                    plan_bits_per_weight(*plan));
        uint64_t file_size = 0;
        for (uint32_t f = 0; f < plan->output_file_count; ++f) {
            result<quant_plan> part = output_file_plan(*plan, f);
            file_size += part.ok() ? part->file_size : 0;
        }
        std::printf("file size   = %llu bytes%s\n", (unsigned long long)file_size,
                    plan->output_file_count > 1 ? " (all shards)" : "");
        if (plan->will_require_imatrix) {
            std::printf(
                "WARNING: dry run completed successfully, but actually completing this "
                "quantization will require an imatrix!\n");
        }
        return 0;
    }

    // Output files: OUT, or with --keep-split one per input shard.
    std::vector<std::string> output_paths;
    for (uint32_t f = 0; f < plan->output_file_count; ++f) {
        output_paths.push_back(output_file_name(a.output, *plan, a.keep_split, f));
    }
    for (const std::string& out : output_paths) {
        for (const std::string& in : input_paths) {
            std::error_code ec;
            if (std::filesystem::equivalent(in, out, ec)) {
                std::fprintf(
                    stderr,
                    "gguf-squash quantize: error: input and output files are the same: '%s'\n",
                    in.c_str());
                return 1;
            }
        }
    }
    int nthreads = a.nthreads;
    if (nthreads <= 0) nthreads = int(std::max(1u, std::thread::hardware_concurrency()));

    struct fd_closer {
        std::vector<int> fds;
        ~fd_closer() {
            for (int fd : fds) ::close(fd);
        }
    } inputs;
    std::optional<url_model_input> url_input;
    if (!url_shards.empty()) {
        url_input.emplace(std::move(url_shards), url_read_schedule(*plan),
                          [] { return g_signal.load() != 0; });
        input_paths.clear();
    }
    for (const std::string& path : input_paths) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
            std::fprintf(stderr, "gguf-squash quantize: %s: %s\n", path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        inputs.fds.push_back(fd);
    }

    // Signals: stop cleanly and remove the temporary files. SIGXFSZ (ulimit -f) becomes an EFBIG
    // write error instead of killing the process with a file in place.
    struct sigaction sa {};
    sa.sa_handler = on_terminate_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked write returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGXFSZ, SIG_IGN);

    std::fprintf(stderr, "quantizing '%s' to '%s' as %s using %d threads\n", a.input.c_str(),
                 output_paths.front().c_str(), a.ftype_name.c_str(), nthreads);
    // Which kernels run (GGUF_SQUASH_KERNELS or the best available), so a forced choice is visible.
    std::fprintf(stderr, "kernel implementation: %s\n", kernel_isa_name(active_kernel_isa()));

    quantize_job_options jo;
    jo.threads = nthreads;
    jo.max_buffer_bytes = a.max_buffer_size;
    jo.allow_non_finite = a.allow_non_finite;

    auto read = [&](uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) -> result<size_t> {
        if (url_input) return url_input->read(shard, offset, buf, size);
        if (shard >= inputs.fds.size())
            return make_error(status_code::internal, "no input shard " + std::to_string(shard));
        while (true) {
            const ssize_t n = ::pread(inputs.fds[shard], buf, size, off_t(offset));
            if (n >= 0) return size_t(n);
            if (errno == EINTR && !g_signal.load()) continue;
            if (g_signal.load()) return make_error(status_code::cancelled, "interrupted");
            return make_error(status_code::io_error,
                              input_paths[shard] + ": read failed: " + std::strerror(errno));
        }
    };

    // Every output goes to a temporary name first; all are renamed once all are complete.
    std::vector<temp_output> temps(output_paths.size());
    const size_t n_tensors = plan->tensors.size();
    size_t last_reported = 0;  // tensor lines printed, over all files
    uint64_t written = 0;
    const auto t0 = std::chrono::steady_clock::now();
    status s;
    for (uint32_t f = 0; s.ok() && f < output_paths.size(); ++f) {
        result<quant_plan> part = output_file_plan(*plan, f);
        if (!part.ok()) {
            s = part.error();
            break;
        }
        temp_output& tmp = temps[f];
        tmp.path = output_paths[f] + ".tmp." + std::to_string(::getpid());
        tmp.fd = ::open(tmp.path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (tmp.fd < 0) {
            s = make_error(status_code::io_error,
                           "cannot create '" + tmp.path + "': " + std::strerror(errno));
            tmp.path.clear();
            break;
        }
        if (output_paths.size() > 1) {
            std::fprintf(stderr, "writing shard %u of %zu: '%s'\n", f + 1, output_paths.size(),
                         output_paths[f].c_str());
        }
        quantize_job job(*part, a.options.imatrix, jo);
        auto write = [&](const uint8_t* data, size_t size) {
            return write_all(tmp.fd, data, size);
        };
        const size_t first_line = last_reported;
        auto progress = [&](const quantize_job_progress& p) {
            if (tty) {
                while (last_reported < first_line + p.tensor_index) {
                    print_tensor_line(stderr, last_reported, n_tensors,
                                      part->tensors[last_reported - first_line]);
                    ++last_reported;
                }
            }
            return g_signal.load() == 0;
        };
        s = run_quantize_job(job, read, write, size_t(1) << 20, progress);
        if (s.ok() && ::fsync(tmp.fd) != 0 && errno != EINVAL) {
            s = make_error(status_code::io_error,
                           std::string("fsync failed: ") + std::strerror(errno));
        }
        if (s.ok() && ::close(tmp.fd) != 0) {
            tmp.fd = -1;
            s = make_error(status_code::io_error,
                           std::string("close failed: ") + std::strerror(errno));
        }
        tmp.fd = -1;
        if (tty) {
            while (s.ok() && last_reported < first_line + part->tensors.size()) {
                print_tensor_line(stderr, last_reported, n_tensors,
                                  part->tensors[last_reported - first_line]);
                ++last_reported;
            }
        }
        written += part->file_size;
    }
    if (s.ok() && g_signal.load()) s = make_error(status_code::cancelled, "interrupted");
    size_t renamed = 0;
    for (; s.ok() && renamed < temps.size(); ++renamed) {
        if (std::rename(temps[renamed].path.c_str(), output_paths[renamed].c_str()) != 0) {
            s = make_error(status_code::io_error, "cannot rename '" + temps[renamed].path +
                                                      "' to '" + output_paths[renamed] +
                                                      "': " + std::strerror(errno));
            break;
        }
        temps[renamed].path = output_paths[renamed];  // now removed on failure under its name
    }
    if (!s.ok()) {
        // temps' destructors remove every temporary file and any output already renamed.
        if (s.code() == status_code::cancelled && g_signal.load()) {
            std::fprintf(stderr,
                         "\ngguf-squash quantize: interrupted by signal %d; no output "
                         "written\n",
                         g_signal.load());
            return 128 + g_signal.load();
        }
        std::fprintf(stderr,
                     "gguf-squash quantize: failed to quantize '%s': %s; no output "
                     "written\n",
                     a.input.c_str(), s.message().c_str());
        return 1;
    }
    for (temp_output& t : temps) t.committed = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("model size  = %8.2f MiB (%.2f BPW)\n", plan->source_bytes / mib,
                plan->n_elements ? plan->source_bytes * 8.0 / plan->n_elements : 0.0);
    std::printf("quant size  = %8.2f MiB (%.2f BPW)\n", plan->target_bytes / mib,
                plan_bits_per_weight(*plan));
    if (plan->n_fallback > 0) {
        std::printf("WARNING: %d of %zu tensor(s) required fallback quantization\n",
                    plan->n_fallback, plan->tensors.size());
    }
    for (size_t f = 0; f + 1 < output_paths.size(); ++f) {
        std::printf("wrote '%s'\n", output_paths[f].c_str());
    }
    std::printf("wrote '%s': %llu bytes in %.2f s (%.1f MB/s of input)\n",
                output_paths.back().c_str(), (unsigned long long)written, seconds,
                seconds > 0 ? plan->source_bytes / 1e6 / seconds : 0.0);
    return 0;
}

}  // namespace gguf_squash::cli
