#include "hf_folder.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "convert/checkpoint.h"
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

// A shard's first 8 bytes and the header length they give (checked by the core).
result<convert::checkpoint_shard> read_shard_start(const fs::path& path) {
    convert::checkpoint_shard s;
    s.name = path.filename().string();
    FILE* f = std::fopen(path.string().c_str(), "rb");
    if (!f)
        return make_error(status_code::io_error, s.name + ": cannot open: " + std::strerror(errno));
    std::error_code ec;
    s.file_size = fs::file_size(path, ec);
    char first8[8] = {};
    s.first8.assign(first8, std::fread(first8, 1, 8, f));
    if (s.first8.size() == 8) {
        uint64_t len = 0;
        for (int i = 7; i >= 0; --i) len = (len << 8) | uint8_t(s.first8[size_t(i)]);
        if (len <= s.file_size - 8) {  // else the core refuses it, naming the length
            s.json.resize(size_t(len));
            s.json.resize(std::fread(s.json.data(), 1, s.json.size(), f));
        }
    }
    std::fclose(f);
    return s;
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
    convert::checkpoint_files files;
    files.display_path = model_dir;
    files.folder_name = fs::absolute(dir, ec).lexically_normal().filename().string();
    if (files.folder_name.empty())
        files.folder_name =
            fs::absolute(dir, ec).lexically_normal().parent_path().filename().string();
    for (const std::string& name : convert::checkpoint_small_files()) {
        if (!fs::is_regular_file(dir / name, ec)) continue;
        auto text = read_text(dir / name);
        if (!text) return text.error();
        files.texts[name] = std::move(*text);
    }
    files.has_additional_chat_templates = fs::is_directory(dir / "additional_chat_templates", ec);
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (!convert::is_checkpoint_shard(entry.path().filename().string())) continue;
        auto shard = read_shard_start(entry.path());
        if (!shard) return shard.error();
        files.shards.push_back(std::move(*shard));
    }
    auto planned = convert::plan_checkpoint(files, type);
    if (!planned) return planned.error();

    hf_folder f;
    f.dir = model_dir;
    for (const auto& name : planned->shard_names) f.shard_paths.push_back((dir / name).string());
    f.header = std::move(planned->header);
    f.default_name = planned->default_name;
    f.general = std::move(planned->general);
    auto shards = std::make_shared<shard_files>();
    for (const auto& name : planned->shard_names) {
        const std::string path = (dir / name).string();
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return make_error(status_code::io_error,
                              path + ": cannot open: " + std::strerror(errno));
        shards->fds.push_back(fd);
        shards->names.push_back(name);
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
    f.gguf = std::make_shared<convert::virtual_gguf>(std::move(planned->plan),
                                                     std::move(planned->header_bytes), read);
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
