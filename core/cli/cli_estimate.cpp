// gguf-squash estimate [--imatrix F] [--ctx N] [--kv-type f16|q8_0|q4_0] [--flash-attn on|off]
//                      [--ubatch N] [--parallel N] [--memory GB] [--json] FILE|URL
// Every ftype's exact output size (from the quantization plan), memory at a context, the largest
// context that fits, and a recommendation; from the header alone. URLs are read with HTTP Range
// requests. Exit 0 on success, 1 for an unreadable or invalid input, 2 for a usage error.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "cli_common.h"
#include "commands.h"
#include "estimate/estimate_report.h"
#include "format/gguf_split.h"
#include "hf_folder.h"
#include "hf_repo.h"
#include "http_range_reader.h"
#include "io/gguf_file.h"
#include "plan/imatrix.h"

namespace gguf_squash::cli {
namespace {

void print_estimate_usage(FILE* out) {
    std::fprintf(
        out,
        "usage: gguf-squash estimate [options] FILE|URL\n"
        "  Exact output size of every llama-quantize type, memory needed to run it,\n"
        "  and a recommendation, from the GGUF header alone (URLs: HTTP Range reads;\n"
        "  split models: give the first shard, -00001-of-0000N.gguf).\n"
        "  --imatrix FILE        plan with this importance matrix (.gguf or .dat)\n"
        "  --ctx N               context length for the memory figures (default 4096)\n"
        "  --kv-type TYPE        KV cache type: f16 (default), q8_0, q4_0\n"
        "  --flash-attn on|off   flash attention as llama.cpp runs it (default on)\n"
        "  --ubatch N            micro-batch the compute buffer is sized for (default 512)\n"
        "  --parallel N          parallel sequences: KV streams, recurrent states and\n"
        "                        outputs (default 1)\n"
        "  --memory GB           memory budget in GiB: marks what fits, finds the\n"
        "                        largest context and recommends a type\n"
        "  --aliases             also list the aliases Q3_K, Q4_K, Q5_K\n"
        "  --stats               print the HTTP requests made (stderr)\n"
        "  --hf-token TOKEN      sent as Authorization: Bearer to the URL's host\n"
        "                        (default: HF_TOKEN)\n"
        "  --json                one JSON object instead of the table\n");
}

std::optional<uint64_t> parse_count(const char* s) {
    if (!s || !*s) return std::nullopt;
    char* end = nullptr;
    const unsigned long long v = std::strtoull(s, &end, 10);
    if (*end != '\0' || s[0] == '-') return std::nullopt;
    return v;
}

}  // namespace

int run_estimate(int argc, char** argv) {
    estimate_options opts;
    bool json = false, stats_wanted = false;
    std::string imatrix_path, input, token;
    auto bad_usage = [](const std::string& msg) {
        return usage_error("estimate", msg, print_estimate_usage);
    };
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        const bool has_value = i + 1 < argc;
        if (a == "-h" || a == "--help") {
            print_estimate_usage(stdout);
            return 0;
        } else if (a == "--json") {
            json = true;
        } else if (a == "--aliases") {
            opts.include_aliases = true;
        } else if (a == "--stats") {
            stats_wanted = true;
        } else if (a == "--hf-token") {
            if (!has_value) return bad_usage("--hf-token needs a value");
            token = argv[++i];
        } else if (a == "--imatrix") {
            if (!has_value) return bad_usage("--imatrix needs a file");
            imatrix_path = argv[++i];
        } else if (a == "--ctx") {
            std::optional<uint64_t> n = has_value ? parse_count(argv[i + 1]) : std::nullopt;
            if (!n || *n == 0 || *n > (1ull << 32))
                return bad_usage("--ctx needs a positive integer");
            opts.ctx = *n;
            ++i;
        } else if (a == "--kv-type") {
            std::optional<ggml_type> t =
                has_value ? parse_kv_cache_type(argv[i + 1]) : std::nullopt;
            if (!t) return bad_usage("--kv-type must be f16, q8_0 or q4_0");
            opts.kv_type = *t;
            ++i;
        } else if (a == "--flash-attn") {
            const std::string v = has_value ? argv[i + 1] : "";
            if (v != "on" && v != "off") return bad_usage("--flash-attn must be on or off");
            opts.flash_attn = v == "on";
            ++i;
        } else if (a == "--ubatch") {
            std::optional<uint64_t> n = has_value ? parse_count(argv[i + 1]) : std::nullopt;
            if (!n || *n == 0 || *n > 65536)
                return bad_usage("--ubatch needs an integer from 1 to 65536");
            opts.n_ubatch = uint32_t(*n);
            ++i;
        } else if (a == "--parallel") {
            std::optional<uint64_t> n = has_value ? parse_count(argv[i + 1]) : std::nullopt;
            if (!n || *n == 0 || *n > 256)
                return bad_usage("--parallel needs an integer from 1 to 256");
            opts.n_parallel = uint32_t(*n);
            ++i;
        } else if (a == "--memory") {
            if (!has_value) return bad_usage("--memory needs a size in GiB");
            char* end = nullptr;
            const double gb = std::strtod(argv[i + 1], &end);
            if (*end != '\0' || !(gb > 0) || !std::isfinite(gb) || gb > 1e9) {
                return bad_usage("--memory needs a positive size in GiB");
            }
            opts.memory_bytes = uint64_t(std::llround(gb * double(1ull << 30)));
            ++i;
        } else if (a.size() > 1 && a[0] == '-') {
            return bad_usage("unknown option '" + a + "'");
        } else if (!input.empty()) {
            return bad_usage("one model at a time");
        } else {
            input = a;
        }
    }
    if (input.empty()) return bad_usage("no input file or URL");

    imatrix_data imatrix;
    if (apply_imatrix_option("estimate", imatrix_path, imatrix, opts) != 0) return 1;

    http_read_stats stats;
    // A checkpoint folder: the GGUF `convert --outtype auto` would write (hf_folder.h).
    auto read_folder = [&](const std::string& dir) -> result<gguf_model> {
        result<gguf_header> h = read_checkpoint_gguf_header(dir, hf_token(token));
        if (!h.ok()) return h.error();
        std::vector<gguf_header> one;
        one.push_back(std::move(h.value()));
        return merge_gguf_shards(std::move(one));
    };
    result<gguf_model> model = is_http_url(input)
                                   ? read_gguf_model_url(input, &stats, hf_token(token))
                               : is_checkpoint_input(input) ? read_folder(input)
                                                            : read_gguf_model_file(input);
    if (!model.ok()) {
        std::fprintf(stderr, "gguf-squash estimate: %s%s%s\n",
                     is_http_url(input) ? "" : input.c_str(), is_http_url(input) ? "" : ": ",
                     single_line(model.error().message()).c_str());
        return 1;
    }
    if (stats_wanted) {
        std::fprintf(stderr, "http: %d requests, %llu bytes received, header %llu bytes\n",
                     stats.requests, (unsigned long long)stats.bytes,
                     (unsigned long long)stats.header_bytes);
    }
    result<estimate_report> report = make_estimate(merged_model_header(*model), opts);
    if (!report.ok()) {
        std::fprintf(stderr, "gguf-squash estimate: %s\n",
                     single_line(report.error().message()).c_str());
        return 1;
    }
    const std::string out = json ? estimate_to_json(*report) + "\n" : estimate_to_text(*report);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return std::fflush(stdout) == 0 ? 0 : 1;
}

}  // namespace gguf_squash::cli
