// gguf-squash convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR|OWNER/REPO
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
#include "hf_folder.h"
#include "hf_repo.h"
#include "url_input.h"

namespace gguf_squash::cli {

namespace {

const char* kConvertUsage =
    "usage: gguf-squash convert [--outtype auto|f32|f16|bf16|q8_0] [--outfile OUT] MODEL_DIR\n"
    "\n"
    "  Convert a Hugging Face safetensors checkpoint (config.json, tokenizer files,\n"
    "  model*.safetensors) to GGUF as llama.cpp's convert_hf_to_gguf.py does.\n"
    "  MODEL_DIR may be OWNER/REPO: a Hub repo, read by HTTP Range requests\n"
    "  (HF_ENDPOINT for another Hub; --hf-token TOKEN or HF_TOKEN for gated repos).\n"
    "  --outtype   auto (default: the checkpoint's 16-bit type), f32, f16, bf16, q8_0\n"
    "  --outfile   output path (default: in MODEL_DIR, named as the converter names it;\n"
    "              for OWNER/REPO in the current folder)\n";

int fail(const std::string& message) {
    std::fprintf(stderr, "gguf-squash convert: %s\n", message.c_str());
    return 1;
}

}  // namespace

int run_convert(int argc, char** argv) {
    std::string outtype_text = "auto";
    std::string outfile;
    std::string model_dir;
    std::vector<std::string> args(argv + 1, argv + argc);
    result<std::string> token = take_hf_token(args);
    if (!token.ok()) {
        std::fprintf(stderr, "gguf-squash convert: %s\n%s", token.error().message().c_str(),
                     kConvertUsage);
        return 2;
    }
    const int n = int(args.size());
    for (int i = 0; i < n; ++i) {
        const std::string a = args[size_t(i)];
        if (a == "-h" || a == "--help") {
            std::fputs(kConvertUsage, stdout);
            return 0;
        }
        if ((a == "--outtype" || a == "--outfile") && i + 1 < n) {
            (a == "--outtype" ? outtype_text : outfile) = args[size_t(++i)];
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
    auto folder = is_model_folder(model_dir) || !is_hub_repo(model_dir)
                      ? open_hf_folder(model_dir, *type)
                      : open_hf_repo(model_dir, *type, *token);
    if (!folder) return fail(folder.error().message());
    convert::virtual_gguf& gguf = *folder->gguf;

    if (outfile.empty()) {
        outfile = (std::filesystem::path(folder->dir) / folder->default_name).string();
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
    // The virtual GGUF in file order, 4 MiB at a time: each tensor is converted chunk by chunk
    // as it is read (virtual_gguf.h).
    std::vector<uint8_t> buf(size_t(4) << 20);
    for (uint64_t offset = 0; offset < gguf.size();) {
        auto n = gguf.read(offset, buf.data(), buf.size());
        if (!n) return abandon(n.error().message());
        if (*n == 0) return abandon(tmp + ": the planned file ended early");
        if (std::fwrite(buf.data(), 1, *n, out) != *n) return abandon(tmp + ": write failed");
        offset += *n;
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
