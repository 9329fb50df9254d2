#include "hf_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "convert/hf_tokenizer.h"
#include "convert/safetensors.h"
#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "io/whole_file.h"

namespace gguf_squash::cli {

namespace {

namespace fs = std::filesystem;

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

// The shards, open for the conversion's reads (closed with the last reader).
struct shard_files {
    std::vector<int> fds;
    std::vector<std::string> names;
    ~shard_files() {
        for (int fd : fds)
            if (fd >= 0) ::close(fd);
    }
};

}  // namespace

bool is_model_folder(const std::string& path) {
    std::error_code ec;
    return fs::is_directory(path, ec);
}

result<hf_folder> open_hf_folder(const std::string& model_dir, convert::outtype type) {
    auto fail = [](const std::string& message) {
        return make_error(status_code::invalid_argument, message);
    };
    const fs::path dir(model_dir);
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return fail(model_dir + ": not a model folder");
    convert::hf_inputs in;
    const fs::path config = dir / "config.json";
    if (!fs::is_regular_file(config, ec))
        return fail(config.string() +
                    ": missing (a Hugging Face checkpoint folder has config.json)");
    auto cfg = read_text(config);
    if (!cfg) return cfg.error();
    in.config_json = std::move(*cfg);
    const fs::path index = dir / "model.safetensors.index.json";
    if (fs::is_regular_file(index, ec)) {
        auto text = read_text(index);
        if (!text) return text.error();
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
        if (!header) return header.error();
        in.shards.push_back({name, std::move(*header)});
    }
    auto plan = convert::plan_hf_conversion(in, type);
    if (!plan) return plan.error();

    // general.* (folder name, generation_config.json) and the tokenizer keys.
    convert::hf_general_inputs gi;
    gi.folder_name = fs::absolute(dir, ec).lexically_normal().filename().string();
    if (gi.folder_name.empty())
        gi.folder_name = fs::absolute(dir, ec).lexically_normal().parent_path().filename().string();
    gi.config_json = in.config_json;
    gi.gguf_architecture = plan->gguf_architecture;
    gi.total_params = convert::total_parameters(*plan);
    if (fs::is_regular_file(dir / "README.md", ec)) {
        auto text = read_text(dir / "README.md");
        if (!text) return text.error();
        gi.has_model_card = true;
        gi.model_card = std::move(*text);
    }
    if (fs::is_regular_file(dir / "generation_config.json", ec)) {
        auto text = read_text(dir / "generation_config.json");
        if (!text) return text.error();
        gi.has_generation_config = true;
        gi.generation_config_json = std::move(*text);
    }
    auto general = convert::plan_general_metadata(gi);
    if (!general) return general.error();

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
        if (!text) return text.error();
        *f.has = true;
        *f.text = std::move(*text);
    }
    ti.has_additional_chat_templates = fs::is_directory(dir / "additional_chat_templates", ec);
    if (!has_tokenizer_json && !ti.has_tokenizer_model)
        return fail((dir / "tokenizer.json").string() +
                    ": missing (no tokenizer.json or tokenizer.model)");
    auto tokenizer = convert::plan_tokenizer_metadata(ti);
    if (!tokenizer) return tokenizer.error();

    hf_folder f;
    f.dir = model_dir;
    for (const auto& s : in.shards) f.shard_paths.push_back((dir / s.file).string());
    f.header = convert::assemble_header(*plan, general->kv, *tokenizer);
    auto header_bytes = encode_gguf_header(f.header, convert::gguf_py_layout());
    if (!header_bytes) return header_bytes.error();
    f.default_name = convert::default_output_name(*general, convert::output_type_name(*plan));
    f.general = std::move(*general);
    auto shards = std::make_shared<shard_files>();
    for (const auto& s : in.shards) {
        const std::string path = (dir / s.file).string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return make_error(status_code::io_error,
                              path + ": cannot open: " + std::strerror(errno));
        shards->fds.push_back(fd);
        shards->names.push_back(s.file);
    }
    // Each read names the shard and the planned tensor's source on a short read.
    auto read = [shards](int shard, uint64_t offset, uint8_t* buf, size_t size) -> status {
        const int fd = shards->fds[size_t(shard)];
        size_t got = 0;
        while (got < size) {
            const ssize_t n = ::pread(fd, buf + got, size - got, off_t(offset + got));
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                return make_error(
                    status_code::io_error,
                    shards->names[size_t(shard)] + ": read failed: " + std::strerror(errno));
            if (n == 0)
                return make_error(status_code::io_error, shards->names[size_t(shard)] +
                                                             ": short read at byte " +
                                                             std::to_string(offset + got));
            got += size_t(n);
        }
        return {};
    };
    f.gguf =
        std::make_shared<convert::virtual_gguf>(std::move(*plan), std::move(*header_bytes), read);
    return f;
}

result<gguf_header> folder_gguf_header(const hf_folder& folder) {
    const std::vector<uint8_t>& h = folder.gguf->header();
    return read_gguf_header(h.data(), h.size(), folder.gguf->size());
}

result<gguf_header> read_folder_gguf_header(const std::string& model_dir) {
    result<hf_folder> folder = open_hf_folder(model_dir, convert::outtype::auto_type);
    if (!folder.ok()) return folder.error();
    return folder_gguf_header(*folder);
}

}  // namespace gguf_squash::cli
