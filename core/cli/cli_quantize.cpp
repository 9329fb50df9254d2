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
#include "hf_folder.h"
#include "hf_repo.h"
#include "io/gguf_file.h"
#include "io/mapped_input.h"
#include "io/whole_file.h"
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
    std::fputs(quantize_usage_text(exe).c_str(), out);
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

// Everything one run works with, filled in step by step.
struct quantize_run {
    quantize_args args;
    std::string token;  // for URL inputs (url_input.h)
    imatrix_data imatrix;
    std::vector<std::string> input_paths;  // the input files (none once a URL input is open)
    std::vector<url_shard_source> url_shards;
    std::optional<gguf_model> model;
    std::optional<quant_plan> plan;
    std::vector<std::string> output_paths;  // OUT, or with --keep-split one per input shard
    std::vector<int> input_fds;
    std::optional<url_model_input> url_input;
    std::optional<hf_folder> folder;  // a checkpoint folder, quantized in one pass
    int nthreads = 1;

    ~quantize_run() {
        for (int fd : input_fds) ::close(fd);
    }
};

constexpr const char* kExe = "gguf-squash";
constexpr double kMiB = 1024.0 * 1024.0;

// The command line; an exit code when the run ends here (usage error, --help).
std::optional<int> parse_command_line(int argc, char** argv, quantize_run& run) {
    std::vector<std::string> args(argv + 1, argv + argc);
    result<std::string> token = take_hf_token(args);
    if (!token.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: %s\n\n", token.error().message().c_str());
        print_usage(stderr, kExe);
        return 2;
    }
    run.token = *token;
    auto read_text = [](const std::string& path) -> result<std::string> {
        result<std::vector<uint8_t>> b = read_whole_file(path);
        if (!b.ok()) return b.error();
        return std::string(b->begin(), b->end());
    };
    result<quantize_args> parsed = parse_quantize_args(args, read_text);
    if (!parsed.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: %s\n\n", parsed.error().message().c_str());
        print_usage(stderr, kExe);
        return 2;
    }
    run.args = std::move(*parsed);
    if (run.args.help) {
        print_usage(stdout, kExe);
        return 0;
    }
    return std::nullopt;
}

// --imatrix (a file or a URL), filtered by --include-weights / --exclude-weights.
std::optional<int> load_imatrix(quantize_run& run) {
    quantize_args& a = run.args;
    if (a.imatrix_file.empty()) return std::nullopt;
    const bool url = is_http_url(a.imatrix_file);
    result<std::vector<uint8_t>> bytes =
        url ? read_url_file(a.imatrix_file, run.token) : read_whole_file(a.imatrix_file);
    // llama-quantize records the name it was given; for a URL, the file's own name is what it
    // would be given after downloading it.
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
    run.imatrix = std::move(*im);
    std::printf(
        "load_imatrix: loaded %zu importance matrix entries from %s computed on %d "
        "chunks\n",
        run.imatrix.entries.size(), a.imatrix_file.c_str(), run.imatrix.chunk_count);
    status fs = filter_imatrix(run.imatrix, a.include_weights, a.exclude_weights);
    if (!fs.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: %s\n", fs.message().c_str());
        return 2;
    }
    a.options.imatrix = &run.imatrix;
    return std::nullopt;
}

// The model's headers: one file, the shards of a split model found next to the first one, or a
// URL (whose shards are found the same way).
result<gguf_model> read_model(quantize_run& run) {
    const std::string& input = run.args.input;
    run.input_paths = {input};
    if (is_http_url(input)) return read_gguf_model_url(input, nullptr, run.token, &run.url_shards);
    if (is_checkpoint_input(input)) {
        // A Hugging Face checkpoint (a folder, or OWNER/REPO on the Hub: hf_repo.h): the GGUF
        // `convert --outtype auto` would write, read from the virtual file (hf_folder.h) as if
        // it were on disk.
        result<hf_folder> folder =
            open_checkpoint_input(input, convert::outtype::auto_type, run.token);
        if (!folder.ok()) return folder.error();
        run.folder = std::move(*folder);
        run.input_paths.clear();
        result<gguf_header> header = folder_gguf_header(*run.folder);
        if (!header.ok()) return header.error();
        // The default OUT goes where llama-quantize would put it next to the converted file.
        if (run.args.output == default_output_name(input, run.args.ftype_name, run.args.keep_split))
            run.args.output = default_output_name(
                (std::filesystem::path(run.folder->dir) / run.folder->default_name).string(),
                run.args.ftype_name, run.args.keep_split);
        std::vector<gguf_header> one;
        one.push_back(std::move(header.value()));
        return merge_gguf_shards(std::move(one));
    }
    result<gguf_header> first = read_gguf_header_file(input);
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
                              " (file: " + input + "), model must be loaded with the first split");
    }
    const std::optional<std::string> prefix = gguf_split_prefix(input, 0, (*info)->count);
    if (!prefix) return make_error(status_code::refused, "invalid split file name: " + input);
    run.input_paths.clear();
    for (uint32_t i = 0; i < (*info)->count; ++i) {
        run.input_paths.push_back(gguf_split_path(*prefix, i, (*info)->count));
    }
    return read_gguf_model_file(input);
}

std::optional<int> load_model(quantize_run& run) {
    const std::string& input = run.args.input;
    result<gguf_model> model = read_model(run);
    if (!model.ok()) {
        // URL errors name their URL already.
        const std::string& m = model.error().message();
        std::fprintf(stderr, "gguf-squash quantize: %s%s%s\n",
                     m.rfind(input, 0) == 0 ? "" : input.c_str(),
                     m.rfind(input, 0) == 0 ? "" : ": ", m.c_str());
        return 1;
    }
    if (run.input_paths.size() > 1) {
        std::fprintf(stderr, "loaded %zu shards of '%s'\n", run.input_paths.size(), input.c_str());
    }
    run.model = std::move(*model);
    return std::nullopt;
}

std::optional<int> make_plan(quantize_run& run) {
    result<quant_plan> plan = make_quant_plan(*run.model, run.args.options);
    if (!plan.ok()) {
        std::fprintf(stderr, "gguf-squash quantize: failed to quantize '%s': %s\n",
                     run.args.input.c_str(), plan.error().message().c_str());
        return 1;
    }
    run.plan = std::move(*plan);
    return std::nullopt;
}

void print_sizes(const quant_plan& plan) {
    std::printf("model size  = %8.2f MiB (%.2f BPW)\n", plan.source_bytes / kMiB,
                plan.n_elements ? plan.source_bytes * 8.0 / plan.n_elements : 0.0);
    std::printf("quant size  = %8.2f MiB (%.2f BPW)\n", plan.target_bytes / kMiB,
                plan_bits_per_weight(plan));
}

// --dry-run: every tensor's line, the sizes and the output's exact size.
int print_dry_run(const quantize_run& run) {
    const quant_plan& plan = *run.plan;
    std::fprintf(stderr, "calculating quantization size for '%s' as %s\n", run.args.input.c_str(),
                 run.args.ftype_name.c_str());
    for (size_t i = 0; i < plan.tensors.size(); ++i) {
        print_tensor_line(stderr, i, plan.tensors.size(), plan.tensors[i]);
    }
    print_sizes(plan);
    uint64_t file_size = 0;
    for (uint32_t f = 0; f < plan.output_file_count; ++f) {
        result<quant_plan> part = output_file_plan(plan, f);
        file_size += part.ok() ? part->file_size : 0;
    }
    std::printf("file size   = %llu bytes%s\n", (unsigned long long)file_size,
                plan.output_file_count > 1 ? " (all shards)" : "");
    if (plan.will_require_imatrix) {
        std::printf(
            "WARNING: dry run completed successfully, but actually completing this "
            "quantization will require an imatrix!\n");
    }
    return 0;
}

// The output names, refusing an output that is one of the inputs.
std::optional<int> choose_outputs(quantize_run& run) {
    for (uint32_t f = 0; f < run.plan->output_file_count; ++f) {
        run.output_paths.push_back(
            output_file_name(run.args.output, *run.plan, run.args.keep_split, f));
    }
    for (const std::string& out : run.output_paths) {
        for (const std::string& in : run.input_paths) {
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
    return std::nullopt;
}

// The input files, or the URL input's background downloads in the plan's read order.
std::optional<int> open_inputs(quantize_run& run) {
    if (!run.url_shards.empty()) {
        run.url_input.emplace(std::move(run.url_shards), url_read_schedule(*run.plan),
                              [] { return g_signal.load() != 0; });
        run.input_paths.clear();
    }
    for (const std::string& path : run.input_paths) {
        const int fd = ::open(path.c_str(), O_RDONLY);
        if (fd < 0) {
            std::fprintf(stderr, "gguf-squash quantize: %s: %s\n", path.c_str(),
                         std::strerror(errno));
            return 1;
        }
        run.input_fds.push_back(fd);
    }
    return std::nullopt;
}

// Signals: stop cleanly and remove the temporary files. SIGXFSZ (ulimit -f) becomes an EFBIG
// write error instead of killing the process with a file in place.
void install_signal_handlers() {
    struct sigaction sa {};
    sa.sa_handler = on_terminate_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked write returns EINTR
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    signal(SIGXFSZ, SIG_IGN);
}

result<size_t> read_input(quantize_run& run, uint32_t shard, uint64_t offset, uint8_t* buf,
                          size_t size) {
    if (run.url_input) return run.url_input->read(shard, offset, buf, size);
    if (run.folder) {
        if (shard != 0)
            return make_error(status_code::internal, "no input shard " + std::to_string(shard));
        return run.folder->gguf->read(offset, buf, size);
    }
    if (shard >= run.input_fds.size())
        return make_error(status_code::internal, "no input shard " + std::to_string(shard));
    while (true) {
        const ssize_t n = ::pread(run.input_fds[shard], buf, size, off_t(offset));
        if (n >= 0) return size_t(n);
        if (errno == EINTR && !g_signal.load()) continue;
        if (g_signal.load()) return make_error(status_code::cancelled, "interrupted");
        return make_error(status_code::io_error,
                          run.input_paths[shard] + ": read failed: " + std::strerror(errno));
    }
}

// Quantizes every output file to its temporary name in `temps`; `written` counts their bytes.
// On a terminal, each tensor's line is printed once it is done.
status write_outputs(quantize_run& run, std::vector<temp_output>& temps, uint64_t& written) {
    const quant_plan& plan = *run.plan;
    const std::vector<std::string>& output_paths = run.output_paths;
    const bool tty = ::isatty(2);
    quantize_job_options jo;
    jo.threads = run.nthreads;
    jo.max_buffer_bytes = run.args.max_buffer_size;
    jo.allow_non_finite = run.args.allow_non_finite;
    auto read = [&](uint32_t shard, uint64_t offset, uint8_t* buf, size_t size) {
        return read_input(run, shard, offset, buf, size);
    };
    // Files on disk are converted where the page cache holds them (io/mapped_input.h); URLs and
    // checkpoint folders are read into the job's buffers.
    std::optional<mapped_input> input;
    if (!run.url_input && !run.folder) input.emplace(run.input_fds, run.input_paths);
    const size_t n_tensors = plan.tensors.size();
    size_t last_reported = 0;  // tensor lines printed, over all files
    status s;
    for (uint32_t f = 0; s.ok() && f < output_paths.size(); ++f) {
        result<quant_plan> part = output_file_plan(plan, f);
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
        quantize_job job(*part, run.args.options.imatrix, jo);
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
        if (input) {
            s = run_quantize_job_in_place(
                job,
                [&](uint32_t shard, uint64_t offset, size_t size) {
                    return input->view(shard, offset, size);
                },
                [&] { return input->check(); }, write, size_t(8) << 20, progress);
        } else {
            s = run_quantize_job(job, read, write, size_t(1) << 20, progress);
        }
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
    return s;
}

// Renames every temporary file to its output name, once all are complete.
status commit_outputs(std::vector<temp_output>& temps, const std::vector<std::string>& outputs) {
    for (size_t renamed = 0; renamed < temps.size(); ++renamed) {
        if (std::rename(temps[renamed].path.c_str(), outputs[renamed].c_str()) != 0) {
            return make_error(status_code::io_error, "cannot rename '" + temps[renamed].path +
                                                         "' to '" + outputs[renamed] +
                                                         "': " + std::strerror(errno));
        }
        temps[renamed].path = outputs[renamed];  // now removed on failure under its name
    }
    return {};
}

int report_failure(const quantize_run& run, const status& s) {
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
                 run.args.input.c_str(), s.message().c_str());
    return 1;
}

void print_summary(const quantize_run& run, uint64_t written, double seconds) {
    const quant_plan& plan = *run.plan;
    print_sizes(plan);
    if (plan.n_fallback > 0) {
        std::printf("WARNING: %d of %zu tensor(s) required fallback quantization\n",
                    plan.n_fallback, plan.tensors.size());
    }
    for (size_t f = 0; f + 1 < run.output_paths.size(); ++f) {
        std::printf("wrote '%s'\n", run.output_paths[f].c_str());
    }
    std::printf("wrote '%s': %llu bytes in %.2f s (%.1f MB/s of input)\n",
                run.output_paths.back().c_str(), (unsigned long long)written, seconds,
                seconds > 0 ? plan.source_bytes / 1e6 / seconds : 0.0);
}

}  // namespace

int run_quantize(int argc, char** argv) {
    quantize_run run;
    if (std::optional<int> exit = parse_command_line(argc, argv, run)) return *exit;
    if (std::optional<int> exit = load_imatrix(run)) return *exit;
    if (std::optional<int> exit = load_model(run)) return *exit;
    if (std::optional<int> exit = make_plan(run)) return *exit;
    if (run.args.options.dry_run) return print_dry_run(run);
    if (std::optional<int> exit = choose_outputs(run)) return *exit;
    run.nthreads = run.args.nthreads > 0 ? run.args.nthreads
                                         : int(std::max(1u, std::thread::hardware_concurrency()));
    if (std::optional<int> exit = open_inputs(run)) return *exit;
    install_signal_handlers();

    std::fprintf(stderr, "quantizing '%s' to '%s' as %s using %d threads\n", run.args.input.c_str(),
                 run.output_paths.front().c_str(), run.args.ftype_name.c_str(), run.nthreads);
    // Which kernels run (GGUF_SQUASH_KERNELS or the best available), so a forced choice is visible.
    std::fprintf(stderr, "kernel implementation: %s\n", kernel_isa_name(active_kernel_isa()));

    // Every output goes to a temporary name first; all are renamed once all are complete. On
    // failure, temps' destructors remove every temporary file and any output already renamed.
    std::vector<temp_output> temps(run.output_paths.size());
    uint64_t written = 0;
    const auto t0 = std::chrono::steady_clock::now();
    status s = write_outputs(run, temps, written);
    if (s.ok()) s = commit_outputs(temps, run.output_paths);
    if (!s.ok()) return report_failure(run, s);
    for (temp_output& t : temps) t.committed = true;
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    print_summary(run, written, seconds);
    return 0;
}

}  // namespace gguf_squash::cli
