#include "hf_repo.h"

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>

#include "convert/checkpoint.h"
#include "convert/json_value.h"
#include "http_client.h"

namespace gguf_squash::cli {

namespace {

bool repo_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
}

// The Hub's file URLs take each path segment percent-encoded.
std::string encode_path(const std::string& path) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : path) {
        if (repo_name_char(char(c)) || c == '/' || c == '~') {
            out += char(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

struct repo_file {
    std::string path;
    uint64_t size = 0;
};

// The repo's files from GET /api/models/OWNER/REPO/tree/main?recursive=true.
result<std::vector<repo_file>> list_repo(const std::string& hub, const std::string& repo,
                                         const std::string& token) {
    http_resource res;
    res.url = hub + "/api/models/" + repo + "/tree/main?recursive=true";
    res.token = token;
    auto body = http_read_all(res, nullptr);
    if (!body) return body.error();
    auto tree = convert::parse_json(
        std::string_view(reinterpret_cast<const char*>(body->data()), body->size()), res.url);
    if (!tree) return tree.error();
    if (!tree->is_array())
        return make_error(status_code::invalid_file, res.url + ": not a file list");
    std::vector<repo_file> files;
    for (const auto& f : tree->items()) {
        const convert::json_value* type = f.find("type");
        const convert::json_value* path = f.find("path");
        if (!type || !path || !type->is_string() || type->text() != "file" || !path->is_string())
            continue;
        repo_file rf;
        rf.path = path->text();
        const convert::json_value* lfs = f.find("lfs");
        const convert::json_value* size =
            lfs && lfs->find("size") ? lfs->find("size") : f.find("size");
        if (size && size->as_u64()) rf.size = *size->as_u64();
        files.push_back(std::move(rf));
    }
    return files;
}

// Bytes [offset, offset + size) of a remote file, exactly.
status read_exact(http_resource& res, uint64_t offset, uint8_t* buf, size_t size,
                  const std::string& name) {
    size_t got = 0;
    auto n = http_read_range(
        res, offset, size,
        [&](const uint8_t* data, size_t len) {
            const size_t take = std::min(len, size - got);
            std::copy(data, data + take, buf + got);
            got += take;
            return true;
        },
        nullptr);
    if (!n) return n.error();
    if (got != size)
        return make_error(status_code::io_error,
                          name + ": short read at byte " + std::to_string(offset + got));
    return {};
}

}  // namespace

bool is_hub_repo(const std::string& s) {
    const size_t slash = s.find('/');
    if (slash == std::string::npos || slash == 0 || slash + 1 == s.size() ||
        s.find('/', slash + 1) != std::string::npos)
        return false;
    for (char c : s)
        if (c != '/' && !repo_name_char(c)) return false;
    const std::string ext = s.size() >= 5 ? s.substr(s.size() - 5) : "";
    if (ext.size() == 5 && ext[0] == '.' && (ext[1] | 32) == 'g' && (ext[2] | 32) == 'g' &&
        (ext[3] | 32) == 'u' && (ext[4] | 32) == 'f')
        return false;
    std::error_code ec;
    return !std::filesystem::exists(s, ec);
}

std::string hub_endpoint() {
    const char* e = std::getenv("HF_ENDPOINT");
    std::string hub = e && *e ? e : "https://huggingface.co";
    while (!hub.empty() && hub.back() == '/') hub.pop_back();
    return hub;
}

result<hf_folder> open_hf_repo(const std::string& repo, convert::outtype type,
                               const std::string& token) {
    const std::string hub = hub_endpoint();
    auto listed = list_repo(hub, repo, token);
    if (!listed) return listed.error();
    auto url_of = [&](const std::string& path) {
        return hub + "/" + repo + "/resolve/main/" + encode_path(path);
    };
    convert::checkpoint_files files;
    files.display_path = repo;
    files.folder_name = repo.substr(repo.find('/') + 1);
    std::vector<repo_file> shards;
    for (const repo_file& f : *listed) {
        if (f.path.rfind("additional_chat_templates/", 0) == 0)
            files.has_additional_chat_templates = true;
        if (f.path.find('/') != std::string::npos) continue;  // only the repo's top
        if (convert::is_checkpoint_shard(f.path)) {
            shards.push_back(f);
            continue;
        }
        for (const std::string& name : convert::checkpoint_small_files()) {
            if (name != f.path) continue;
            http_resource res;
            res.url = url_of(f.path);
            res.token = token;
            auto bytes = http_read_all(res, nullptr);
            if (!bytes) return bytes.error();
            files.texts[name] = std::string(bytes->begin(), bytes->end());
        }
    }
    // Each shard: its first 8 bytes, then the header they announce when the file holds it.
    auto resources = std::make_shared<std::vector<http_resource>>();
    std::vector<std::string> names;
    for (const repo_file& f : shards) {
        http_resource res;
        res.url = url_of(f.path);
        res.token = token;
        convert::checkpoint_shard s;
        s.name = f.path;
        s.file_size = f.size;
        uint8_t first8[8] = {};
        const size_t n8 = size_t(std::min<uint64_t>(8, f.size));
        GS_RETURN_IF_ERROR(read_exact(res, 0, first8, n8, f.path));
        if (res.size) s.file_size = *res.size;
        s.first8.assign(reinterpret_cast<const char*>(first8), n8);
        if (n8 == 8) {
            uint64_t len = 0;
            for (int i = 7; i >= 0; --i) len = (len << 8) | first8[i];
            if (len <= s.file_size - 8) {  // else the core refuses it, naming the length
                s.json.resize(size_t(len));
                GS_RETURN_IF_ERROR(read_exact(res, 8, reinterpret_cast<uint8_t*>(s.json.data()),
                                              s.json.size(), f.path));
            }
        }
        files.shards.push_back(std::move(s));
        resources->push_back(std::move(res));
        names.push_back(f.path);
    }
    auto planned = convert::plan_checkpoint(files, type);
    if (!planned) return planned.error();

    hf_folder out;
    out.dir = "";  // outputs go to the current folder, as for a URL
    out.header = std::move(planned->header);
    out.default_name = planned->default_name;
    out.general = std::move(planned->general);
    // The plan's shard order, by name, into the resources read above.
    auto ordered = std::make_shared<std::vector<http_resource>>();
    for (const std::string& name : planned->shard_names) {
        for (size_t i = 0; i < names.size(); ++i)
            if (names[i] == name) ordered->push_back((*resources)[i]);
        out.shard_paths.push_back(url_of(name));
    }
    auto lock = std::make_shared<std::mutex>();
    auto shard_names = std::make_shared<std::vector<std::string>>(planned->shard_names);
    auto read = [ordered, lock, shard_names](int shard, uint64_t offset, uint8_t* buf,
                                             size_t size) -> status {
        std::lock_guard<std::mutex> hold(*lock);
        return read_exact((*ordered)[size_t(shard)], offset, buf, size,
                          (*shard_names)[size_t(shard)]);
    };
    out.gguf = std::make_shared<convert::virtual_gguf>(std::move(planned->plan),
                                                       std::move(planned->header_bytes), read);
    return out;
}

bool is_checkpoint_input(const std::string& s) {
    return is_model_folder(s) || is_hub_repo(s);
}

result<hf_folder> open_checkpoint_input(const std::string& s, convert::outtype type,
                                        const std::string& token) {
    if (is_model_folder(s)) return open_hf_folder(s, type);
    return open_hf_repo(s, type, token);
}

result<gguf_header> read_checkpoint_gguf_header(const std::string& s, const std::string& token) {
    result<hf_folder> folder = open_checkpoint_input(s, convert::outtype::auto_type, token);
    if (!folder.ok()) return folder.error();
    return folder_gguf_header(*folder);
}

}  // namespace gguf_squash::cli
