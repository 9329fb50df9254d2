// Byte identity with llama-quantize's own output headers: every header in
// models/llama-gqa.headers.tar.gz (written by llama.cpp's gguf.cpp) reads with our push reader and
// encodes back to the same bytes with the default (llama.cpp) layout. Native only: it unpacks
// the archive with tar.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "format/gguf_reader.h"
#include "format/gguf_writer.h"
#include "gguf_fixture_files.h"

namespace gguf_squash {
namespace {

TEST(GgufWriterNative, ReencodesEveryLlamaQuantizeHeader) {
    namespace fs = std::filesystem;
    const fs::path dir =
        fs::temp_directory_path() / ("gguf_squash_headers_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    const std::string cmd = "tar xzf '" +
                            test_support::fixture_path("models/llama-gqa.headers.tar.gz") +
                            "' -C '" + dir.string() + "'";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
    // file_size of every successful run, by the NAME in llama-gqa.NAME.header.bin
    std::map<std::string, uint64_t> file_sizes;
    {
        const std::vector<uint8_t> js =
            test_support::load_fixture("models/llama-gqa.reference.json");
        const nlohmann::json ref = nlohmann::json::parse(js.begin(), js.end());
        for (const auto& run : ref.at("runs"))
            if (run.contains("file_size"))
                file_sizes[run.at("name").get<std::string>()] = run.at("file_size").get<uint64_t>();
    }
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(dir)) {
        SCOPED_TRACE(e.path().filename().string());
        const std::vector<uint8_t> bytes = test_support::load_file(e.path().string());
        ASSERT_FALSE(bytes.empty());
        gguf_reader reader;  // file size unknown: only the header is here
        input_span in{bytes.data(), bytes.size(), 0};
        result<size_t> r = reader.feed(in);
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_TRUE(reader.finished());
        EXPECT_EQ(reader.position(), bytes.size());
        const gguf_header h = reader.take_header();
        ASSERT_FALSE(h.tensors.empty());
        // The offsets llama-quantize wrote are the ones assign_tensor_offsets computes.
        gguf_header planned = h;
        assign_tensor_offsets(planned);
        for (size_t i = 0; i < h.tensors.size(); ++i)
            EXPECT_EQ(planned.tensors[i].offset, h.tensors[i].offset) << h.tensors[i].name;
        result<std::vector<uint8_t>> enc = encode_gguf_header(h);
        ASSERT_TRUE(enc.ok()) << enc.error().message();
        EXPECT_TRUE(*enc == bytes);
        std::string name = e.path().filename().string();
        name = name.substr(10, name.size() - 10 - 11);  // strip "llama-gqa." and ".header.bin"
        ASSERT_TRUE(file_sizes.count(name)) << name;
        EXPECT_EQ(gguf_file_size(h), file_sizes[name]);
        ++n;
    }
    EXPECT_GT(n, 0u);
    fs::remove_all(dir);
}

}  // namespace
}  // namespace gguf_squash
