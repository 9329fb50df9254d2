// gguf-squash convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR
//
// Writes the GGUF that llama.cpp's convert_hf_to_gguf.py writes for a Hugging Face checkpoint
// folder. The core plans everything from the small files (config.json, generation_config.json,
// the tokenizer files, the index and every shard's safetensors header: core/convert/), so the
// header and every size are known before a weight is read; the tensors then stream from their
// shards in chunks of rows, converted on the way. The output goes to a temporary file renamed at
// the end, so a failed run leaves nothing behind.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "commands.h"
#include "convert/hf_convert.h"
#include "convert/hf_metadata.h"
#include "convert/hf_tokenizer.h"
#include "convert/safetensors.h"
#include "format/gguf_writer.h"
#include "io/whole_file.h"

namespace gguf_squash::cli {

namespace {

namespace fs = std::filesystem;

const char* kConvertUsage =
    "usage: gguf-squash convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR\n"
    "\n"
    "  Convert a Hugging Face safetensors checkpoint (config.json, tokenizer files,\n"
    "  model*.safetensors) to GGUF as llama.cpp's convert_hf_to_gguf.py does.\n"
    "  --outtype   auto (default: the checkpoint's 16-bit type), f32, f16, bf16, q8_0\n"
    "  --outfile   output path (default: in MODEL_DIR, named as the converter names it)\n";

int fail(const std::string& message) {
    std::fprintf(stderr, "gguf-squash convert: %s\n", message.c_str());
    return 1;
}

result<std::string> read_text(const fs::path& path) {
    auto bytes = read_whole_file(path.string());
    if (!bytes) return bytes.error();
    return std::string(bytes->begin(), bytes->end());
}

// Reads the safetensors header of one shard: 8 bytes, then the length they give (checked
// against the file's size before anything is allocated).
result<convert::st_header> read_shard_header(const fs::path& path) {
    const std::string name = path.filename().string();
    FILE* f = std::fopen(path.string().c_str(), "rb");
    if (!f)
        return make_error(status_code::io_error, name + ": cannot open: " + std::strerror(errno));
    std::error_code ec;
    const uint64_t size = fs::file_size(path, ec);
    uint8_t first8[8] = {};
    const size_t got = std::fread(first8, 1, 8, f);
    auto len = convert::safetensors_header_length(first8, got == 8 ? size : got, name);
    if (!len) {
        std::fclose(f);
        return len.error();
    }
    std::string json(size_t(*len), '\0');
    const size_t n = std::fread(json.data(), 1, json.size(), f);
    std::fclose(f);
    if (n != json.size())
        return make_error(status_code::io_error, name + ": short read of the header");
    return convert::parse_safetensors_header(json, size, name);
}

}  // namespace

int run_convert(int argc, char** argv) {
    std::string outtype_text = "auto";
    std::string outfile;
    std::string model_dir;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fputs(kConvertUsage, stdout);
            return 0;
        }
        if ((a == "--outtype" || a == "--outfile") && i + 1 < argc) {
            (a == "--outtype" ? outtype_text : outfile) = argv[++i];
        } else if (a.rfind("--outtype=", 0) == 0) {
            outtype_text = a.substr(10);
        } else if (a.rfind("--outfile=", 0) == 0) {
            outfile = a.substr(10);
        } else if (!a.empty() && a[0] == '-') {
            std::fprintf(stderr, "gguf-squash convert: unknown or incomplete option '%s'\n%s",
                         a.c_str(), kConvertUsage);
            return 2;
        } else if (model_dir.empty()) {
            model_dir = a;
        } else {
            std::fprintf(stderr, "gguf-squash convert: more than one MODEL_DIR\n%s", kConvertUsage);
            return 2;
        }
    }
    if (model_dir.empty()) {
        std::fputs(kConvertUsage, stderr);
        return 2;
    }
    auto type = convert::outtype_from_name(outtype_text);
    if (!type) {
        std::fprintf(stderr, "gguf-squash convert: %s\n%s", type.error().message().c_str(),
                     kConvertUsage);
        return 2;
    }
    const fs::path dir(model_dir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail(model_dir + ": not a model folder");

    convert::hf_inputs in;
    const fs::path config = dir / "config.json";
    if (!fs::is_regular_file(config, ec))
        return fail(config.string() +
                    ": missing (a Hugging Face checkpoint folder has config.json)");
    auto cfg = read_text(config);
    if (!cfg) return fail(cfg.error().message());
    in.config_json = std::move(*cfg);
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::is_regular_file(index, ec)) {
        auto text = read_text(index);
        if (!text) return fail(text.error().message());
        in.has_index = true;
        in.index_json = std::move(*text);
    }
    // ModelBase.get_model_part_names: files named model*.safetensors.
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        const std::string suffix = ".safetensors";
        if (name.rfind("model", 0) != 0 || name.size() < suffix.size() ||
            name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
            continue;
        auto header = read_shard_header(entry.path());
        if (!header) return fail(header.error().message());
        in.shards.push_back({name, std::move(*header)});
    }
    auto plan = convert::plan_hf_conversion(in, *type);
    if (!plan) return fail(plan.error().message());

    // general.* (folder name, generation_config.json) and the tokenizer keys.
    convert::hf_general_inputs gi;
    gi.folder_name = fs::absolute(dir, ec).lexically_normal().filename().string();
    if (gi.folder_name.empty())
        gi.folder_name = fs::absolute(dir, ec).lexically_normal().parent_path().filename().string();
    gi.config_json = in.config_json;
    gi.gguf_architecture = plan->gguf_architecture;
    gi.total_params = convert::total_parameters(*plan);
    gi.has_model_card = fs::is_regular_file(dir / "README.md", ec);
    if (fs::is_regular_file(dir / "generation_config.json", ec)) {
        auto text = read_text(dir / "generation_config.json");
        if (!text) return fail(text.error().message());
        gi.has_generation_config = true;
        gi.generation_config_json = std::move(*text);
    }
    auto general = convert::plan_general_metadata(gi);
    if (!general) return fail(general.error().message());

    convert::hf_tokenizer_inputs ti;
    ti.config_json = in.config_json;
    ti.llama_family = plan->gguf_architecture == "llama";
    ti.has_tokenizer_model = fs::is_regular_file(dir / "tokenizer.model", ec);
    ti.vocab_size = plan->vocab_size;
    struct optional_file {
        const char* name;
        bool* has;
        std::string* text;
    };
    bool has_tokenizer_json = false;
    const optional_file files[] = {
        {"tokenizer.json", &has_tokenizer_json, &ti.tokenizer_json},
        {"tokenizer_config.json", &ti.has_tokenizer_config, &ti.tokenizer_config_json},
        {"chat_template.jinja", &ti.has_chat_template_jinja, &ti.chat_template_jinja},
        {"chat_template.json", &ti.has_chat_template_json, &ti.chat_template_json},
    };
    for (const auto& f : files) {
        if (!fs::is_regular_file(dir / f.name, ec)) continue;
        auto text = read_text(dir / f.name);
        if (!text) return fail(text.error().message());
        *f.has = true;
        *f.text = std::move(*text);
    }
    ti.has_additional_chat_templates = fs::is_directory(dir / "additional_chat_templates", ec);
    if (!has_tokenizer_json && !ti.has_tokenizer_model)
        return fail((dir / "tokenizer.json").string() +
                    ": missing (no tokenizer.json or tokenizer.model)");
    auto tokenizer = convert::plan_tokenizer_metadata(ti);
    if (!tokenizer) return fail(tokenizer.error().message());

    const gguf_header header = convert::assemble_header(*plan, general->kv, *tokenizer);
    auto header_bytes = encode_gguf_header(header, convert::gguf_py_layout());
    if (!header_bytes) return fail(header_bytes.error().message());

    if (outfile.empty()) {
        outfile = (dir / convert::default_output_name(*general, convert::output_type_name(*plan)))
                      .string();
    } else if (outfile.find_first_of("{}") != std::string::npos) {
        return fail("--outfile: templated names ({ftype}) are not supported yet");
    }
    const std::string tmp = outfile + ".part";
    FILE* out = std::fopen(tmp.c_str(), "wb");
    if (!out) return fail(tmp + ": cannot create: " + std::strerror(errno));
    auto abandon = [&](const std::string& why) {
        std::fclose(out);
        std::remove(tmp.c_str());
        return fail(why);
    };
    if (std::fwrite(header_bytes->data(), 1, header_bytes->size(), out) != header_bytes->size())
        return abandon(tmp + ": write failed");
    constexpr uint64_t kChunkBytes = uint64_t(4) << 20;  // source bytes read at a time
    std::vector<uint8_t> src, ordered, dst;
    for (const auto& t : plan->tensors) {
        const uint64_t rows = t.info.n_rows();
        const uint64_t row_src = t.shard >= 0 ? t.source.nbytes / rows : 0;
        const uint64_t row_dst = t.info.nbytes() / rows;
        // Chunks of whole rows; a permuted tensor's chunk holds whole heads (the permutation
        // stays inside a head).
        uint64_t step = row_src ? std::max<uint64_t>(1, kChunkBytes / row_src) : rows;
        if (t.permute_heads) {
            const uint64_t per_head = rows / t.permute_heads;
            step = std::max<uint64_t>(1, step / per_head) * per_head;
        }
        FILE* shard = nullptr;
        if (t.shard >= 0) {
            const std::string path = (dir / in.shards[size_t(t.shard)].file).string();
            shard = std::fopen(path.c_str(), "rb");
            if (!shard) return abandon(path + ": cannot open: " + std::strerror(errno));
        }
        for (uint64_t r0 = 0; r0 < rows; r0 += step) {
            const uint64_t n = std::min(step, rows - r0);
            if (shard) {
                src.resize(n * row_src);
                if (fseeko(shard, off_t(t.source.data_begin + r0 * row_src), SEEK_SET) != 0 ||
                    std::fread(src.data(), 1, src.size(), shard) != src.size()) {
                    std::fclose(shard);
                    return abandon(in.shards[size_t(t.shard)].file + ": short read of tensor '" +
                                   t.source_name + "'");
                }
                ordered.resize(src.size());
                for (uint64_t r = 0; r < n; ++r)
                    std::memcpy(ordered.data() + r * row_src,
                                src.data() + (convert::source_row(t, r0 + r) - r0) * row_src,
                                row_src);
            }
            dst.resize(n * row_dst);
            const status s = convert::convert_rows(t, ordered.data(), r0, n, dst.data());
            if (!s.ok()) {
                if (shard) std::fclose(shard);
                return abandon(s.message());
            }
            if (std::fwrite(dst.data(), 1, dst.size(), out) != dst.size()) {
                if (shard) std::fclose(shard);
                return abandon(tmp + ": write failed");
            }
        }
        if (shard) std::fclose(shard);
        const uint64_t pad = tensor_padding(t.info.nbytes(), header.alignment);
        static const uint8_t zeros[64] = {};
        if (pad && std::fwrite(zeros, 1, size_t(pad), out) != pad)
            return abandon(tmp + ": write failed");
    }
    if (std::fclose(out) != 0) {
        std::remove(tmp.c_str());
        return fail(tmp + ": write failed");
    }
    if (std::rename(tmp.c_str(), outfile.c_str()) != 0) {
        std::remove(tmp.c_str());
        return fail(outfile + ": cannot rename the finished file: " + std::strerror(errno));
    }
    std::printf("%s\n", outfile.c_str());
    return 0;
}

}  // namespace gguf_squash::cli
