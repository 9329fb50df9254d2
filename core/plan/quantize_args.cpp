#include "quantize_args.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "llama_ftype.h"

namespace gguf_squash {
namespace {

status usage_error(const std::string& why) {
    return make_error(status_code::invalid_argument, why);
}

// std::stoi for NTHREADS: leading integer or failure.
std::optional<int> leading_int(const std::string& s) {
    errno = 0;
    char* end = nullptr;
    const long v = std::strtol(s.c_str(), &end, 10);
    if (end == s.c_str() || errno == ERANGE || v > 2147483647L || v < -2147483647L - 1) {
        return std::nullopt;
    }
    return int(v);
}

}  // namespace

result<kv_override> parse_kv_override(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq >= 128) {
        return make_error(status_code::invalid_argument, "malformed KV override '" + text + "'");
    }
    kv_override o;
    // The key is a C string in llama.cpp: it ends at the first NUL.
    o.key = std::string(text.c_str(), std::min(eq, std::strlen(text.c_str())));
    const std::string rest = text.substr(eq + 1);
    auto starts = [&](const char* p) { return rest.compare(0, std::strlen(p), p) == 0; };
    if (starts("int:")) {
        o.type = kv_override::kind::integer;
        o.int_value = std::strtoll(rest.c_str() + 4, nullptr, 10);  // atol
    } else if (starts("float:")) {
        o.type = kv_override::kind::floating;
        o.float_value = std::strtod(rest.c_str() + 6, nullptr);  // atof
    } else if (starts("bool:")) {
        o.type = kv_override::kind::boolean;
        const std::string v = rest.substr(5);
        if (v == "true") {
            o.bool_value = true;
        } else if (v == "false") {
            o.bool_value = false;
        } else {
            return make_error(status_code::invalid_argument,
                              "invalid boolean value for KV override '" + text + "'");
        }
    } else if (starts("str:")) {
        o.type = kv_override::kind::string;
        o.string_value = rest.substr(4);
        if (o.string_value.size() > 127) {
            return make_error(
                status_code::invalid_argument,
                "malformed KV override '" + text + "', value cannot exceed 127 chars");
        }
    } else {
        return make_error(status_code::invalid_argument,
                          "invalid type for KV override '" + text + "'");
    }
    return o;
}

result<tensor_type_override> parse_tensor_type_override(const std::string& text) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
        return make_error(status_code::invalid_argument, "malformed tensor type '" + text + "'");
    }
    if (eq == 0) return make_error(status_code::invalid_argument, "missing tensor name");
    if (eq + 1 == text.size()) {
        return make_error(status_code::invalid_argument, "missing quantization type");
    }
    tensor_type_override o;
    o.pattern = text.substr(0, eq);
    for (char& c : o.pattern) c = char(std::tolower(static_cast<unsigned char>(c)));
    std::optional<ggml_type> t = parse_ggml_type_name(text.substr(eq + 1));
    if (!t) {
        return make_error(status_code::invalid_argument,
                          "invalid quantization type '" + text.substr(eq + 1) + "'");
    }
    o.type = *t;
    return o;
}

result<std::vector<int>> parse_prune_layers(const std::string& text) {
    std::vector<int> layers;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        const std::string part =
            text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        // std::stoi: leading integer; anything unparsable counts as -1, which is refused.
        char* end = nullptr;
        errno = 0;
        const long v = std::strtol(part.c_str(), &end, 10);
        int id = (end == part.c_str() || errno == ERANGE || v > 2147483647L) ? -1 : int(v);
        if (id < 0) {
            return make_error(status_code::invalid_argument, "invalid layer id '" + part + "'");
        }
        layers.push_back(id);
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    std::sort(layers.begin(), layers.end());
    layers.erase(std::unique(layers.begin(), layers.end()), layers.end());
    return layers;
}

std::string default_output_name(const std::string& input, const std::string& ftype_name,
                                bool keep_split) {
    std::string dir;
    const size_t slash = input.find_last_of("/\\");
    // A URL's folder is not a local one: its output goes to the current folder.
    const bool url = input.rfind("http://", 0) == 0 || input.rfind("https://", 0) == 0;
    if (slash != std::string::npos && !url) dir = input.substr(0, slash + 1);
    std::string out = dir + "ggml-model-" + ftype_name;
    if (!keep_split) out += ".gguf";
    return out;
}

result<quantize_args> parse_quantize_args(const std::vector<std::string>& args,
                                          const read_text_file_fn& read_text_file) {
    quantize_args a;
    quantize_options& o = a.options;
    size_t i = 0;
    auto value = [&](const std::string& flag) -> result<std::string> {
        if (i + 1 >= args.size()) return usage_error(flag + " needs a value");
        return args[++i];
    };
    auto type_value = [&](const std::string& flag) -> result<ggml_type> {
        auto v = value(flag);
        if (!v.ok()) return v.error();
        std::optional<ggml_type> t = parse_ggml_type_name(*v);
        if (!t) return usage_error("invalid ggml_type '" + *v + "'");
        return *t;
    };
    for (; i < args.size() && args[i].compare(0, 2, "--") == 0; ++i) {
        const std::string& flag = args[i];
        if (flag == "--help") {
            a.help = true;
            return a;
        } else if (flag == "--leave-output-tensor") {
            o.quantize_output_tensor = false;
        } else if (flag == "--output-tensor-type") {
            auto t = type_value(flag);
            if (!t.ok()) return t.error();
            o.output_tensor_type = *t;
        } else if (flag == "--token-embedding-type") {
            auto t = type_value(flag);
            if (!t.ok()) return t.error();
            o.token_embedding_type = *t;
        } else if (flag == "--tensor-type") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            auto tt = parse_tensor_type_override(*v);
            if (!tt.ok()) return tt.error();
            o.tensor_types.push_back(*tt);
        } else if (flag == "--tensor-type-file") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            if (!read_text_file) return usage_error("--tensor-type-file is not available here");
            result<std::string> text = read_text_file(*v);
            if (!text.ok()) {
                return usage_error("failed to open file '" + *v + "': " + text.error().message());
            }
            // Entries separated by white space, as `file >> word` reads them.
            const std::string& s = *text;
            size_t p = 0;
            while (p < s.size()) {
                while (p < s.size() && std::isspace(static_cast<unsigned char>(s[p]))) ++p;
                size_t q = p;
                while (q < s.size() && !std::isspace(static_cast<unsigned char>(s[q]))) ++q;
                if (q > p) {
                    auto tt = parse_tensor_type_override(s.substr(p, q - p));
                    if (!tt.ok()) return tt.error();
                    o.tensor_types.push_back(*tt);
                }
                p = q;
            }
        } else if (flag == "--prune-layers") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            auto layers = parse_prune_layers(*v);
            if (!layers.ok()) return layers.error();
            o.prune_layers = *layers;
        } else if (flag == "--override-kv") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            auto kv = parse_kv_override(*v);
            if (!kv.ok()) return kv.error();
            o.kv_overrides.push_back(*kv);
        } else if (flag == "--dry-run") {
            o.dry_run = true;
        } else if (flag == "--allow-requantize") {
            o.allow_requantize = true;
        } else if (flag == "--pure") {
            o.pure = true;
        } else if (flag == "--imatrix") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            a.imatrix_file = *v;
        } else if (flag == "--include-weights") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            a.include_weights.push_back(*v);
        } else if (flag == "--exclude-weights") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            a.exclude_weights.push_back(*v);
        } else if (flag == "--allow-non-finite") {
            a.allow_non_finite = true;
        } else if (flag == "--keep-split") {
            a.keep_split = true;
            a.options.keep_split = true;
        } else if (flag == "--max-buffer-size") {
            auto v = value(flag);
            if (!v.ok()) return v.error();
            const long mib = std::atol(v->c_str());
            if (mib <= 0) return usage_error("invalid --max-buffer-size '" + *v + "'");
            a.max_buffer_size = uint64_t(mib) * 1024 * 1024;
        } else {
            return usage_error("unknown option " + flag);
        }
    }
    if (args.size() - i < 2) return usage_error("bad arguments");
    if (!a.include_weights.empty() && !a.exclude_weights.empty()) {
        return usage_error("--include-weights and --exclude-weights cannot be used together");
    }
    a.input = args[i++];
    // The argument after IN is TYPE when it parses as one, else OUT.
    if (std::optional<parsed_ftype> f = parse_ftype(args[i])) {
        a.ftype_name = f->name;
        o.ftype = f->ftype;
        o.only_copy = f->only_copy;
        if (!o.dry_run) a.output = default_output_name(a.input, a.ftype_name, a.keep_split);
        ++i;
    } else {
        a.output = args[i++];
        const std::string suffix = ".gguf";
        if (a.keep_split && a.output.find(suffix) != std::string::npos) {
            a.output = a.output.substr(0, a.output.size() - suffix.size());
        }
        if (i >= args.size()) return usage_error("missing ftype");
        std::optional<parsed_ftype> t = parse_ftype(args[i]);
        if (!t) return usage_error("invalid ftype '" + args[i] + "'");
        a.ftype_name = t->name;
        o.ftype = t->ftype;
        o.only_copy = t->only_copy;
        ++i;
    }
    if (i < args.size()) {
        std::optional<int> n = leading_int(args[i]);
        if (!n) return usage_error("invalid nthread '" + args[i] + "'");
        a.nthreads = *n;
        ++i;
    }
    o.imatrix_file = a.imatrix_file;
    return a;
}

std::string quantize_usage_text(const std::string& exe) {
    std::string out = "usage: " + exe +
                      " quantize [--help] [--allow-requantize] [--leave-output-tensor] "
                      "[--pure] [--imatrix] [--include-weights]\n"
                      "       [--exclude-weights] [--output-tensor-type] [--token-embedding-type] "
                      "[--tensor-type] [--tensor-type-file]\n"
                      "       [--prune-layers] [--keep-split] [--override-kv] [--dry-run] "
                      "[--max-buffer-size] [--allow-non-finite]\n"
                      "       model-f32.gguf [model-quant.gguf] type [nthreads]\n\n";
    out +=
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
        "note: --include-weights and --exclude-weights cannot be used together\n\n";
    out +=
        "-----------------------------------------------------------------------------\n"
        " allowed quantization types (size and perplexity notes as llama-quantize "
        "publishes them)\n"
        "-----------------------------------------------------------------------------\n\n";
    for (const ftype_option& o : quantize_ftype_options()) {
        std::string id = std::string(o.name) == "COPY" ? "" : std::to_string(uint32_t(o.ftype));
        std::string name = o.name;
        if (!id.empty())
            out += "  " + std::string(id.size() < 2 ? 2 - id.size() : 0, ' ') + id + "  or  ";
        else
            out += "          ";
        name.resize(std::max<size_t>(name.size(), 9), ' ');
        out += name + " : " + o.note + "\n";
    }
    return out;
}

}  // namespace gguf_squash
