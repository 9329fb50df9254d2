// Hand-built hostile GGUF files, one per class of damage. Each case knows which field the reader
// must name and the absolute byte offset it must report. tests/fixtures/malformed/ holds the same
// bytes as files (gguf_malformed_test checks they stay in sync), for the CLI, wasm and fuzz seeds.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace gguf_squash::test_support {

// Little-endian byte builder that remembers where the field under test starts.
class gguf_bytes {
  public:
    std::vector<uint8_t> b;
    uint64_t mark = 0;  // absolute offset of the damaged field

    size_t here() const { return b.size(); }
    void set_mark() { mark = b.size(); }
    void raw(const void* p, size_t n) {
        const uint8_t* c = static_cast<const uint8_t*>(p);
        b.insert(b.end(), c, c + n);
    }
    void u8(uint8_t v) { b.push_back(v); }
    void u32(uint32_t v) { raw(&v, 4); }
    void u64(uint64_t v) { raw(&v, 8); }
    void str(std::string_view s) {
        u64(s.size());
        raw(s.data(), s.size());
    }
    void start(uint64_t n_tensors, uint64_t n_kv, uint32_t version = 3) {
        raw("GGUF", 4);
        u32(version);
        u64(n_tensors);
        u64(n_kv);
    }
    void key(std::string_view k, uint32_t type) {
        str(k);
        u32(type);
    }
    void kv_str(std::string_view k, std::string_view v) {
        key(k, 8);
        str(v);
    }
    void kv_u32(std::string_view k, uint32_t v) {
        key(k, 4);
        u32(v);
    }
    void tensor(std::string_view name, std::vector<uint64_t> ne, uint32_t type, uint64_t offset) {
        str(name);
        u32(uint32_t(ne.size()));
        for (uint64_t e : ne) u64(e);
        u32(type);
        u64(offset);
    }
    void pad(uint64_t alignment) {
        while (b.size() % alignment) u8(0);
    }
    void zeros(size_t n) { b.insert(b.end(), n, 0); }
};

struct malformed_case {
    std::string name;   // file name without .gguf, says what is wrong
    std::string field;  // text the error must contain to name the field
    std::function<gguf_bytes()> build;
    bool unsupported = false;      // refused as unsupported (big-endian, old version) not invalid
    bool needs_file_size = false;  // only detectable when the reader knows the file size
};

// The valid two-tensor file the cases start from: F32 [8,2] (64 bytes) and Q4_0 [32,2] (36 bytes,
// padded to 64), alignment 32.
inline gguf_bytes valid_small_file() {
    gguf_bytes g;
    g.start(2, 3);
    g.kv_str("general.architecture", "test");
    g.kv_u32("general.alignment", 32);
    g.key("tokenizer.ggml.tokens", 9);
    g.u32(8);
    g.u64(3);
    g.str("a");
    g.str("\xff\xfe invalid utf-8 \xc3");  // not refused: strings are bytes
    g.str("");
    g.tensor("t0", {8, 2}, 0, 0);
    g.tensor("t1", {32, 2}, 2, 64);
    g.mark = g.here() - 8;  // t1's offset field
    g.pad(32);
    g.zeros(64 + 36);
    g.pad(32);
    return g;
}

// A file with one F32 tensor [n] at `offset` after the given key-values (written by `kvs`).
inline gguf_bytes one_tensor_file(uint64_t n_kv, const std::function<void(gguf_bytes&)>& kvs,
                                  const std::function<void(gguf_bytes&)>& tensors,
                                  uint64_t n_tensors = 1, size_t data = 32) {
    gguf_bytes g;
    g.start(n_tensors, n_kv);
    kvs(g);
    tensors(g);
    g.pad(32);
    g.zeros(data);
    return g;
}

inline std::vector<malformed_case> malformed_cases() {
    using B = gguf_bytes;
    auto no_kv = [](B&) {};
    std::vector<malformed_case> c;
    c.push_back({"bad_magic", "magic", [] {
                     B g = valid_small_file();
                     std::memcpy(g.b.data(), "GGML", 4);
                     g.mark = 0;
                     return g;
                 }});
    c.push_back({"big_endian", "big-endian",
                 [] {
                     B g;
                     g.raw("GGUF", 4);
                     g.set_mark();
                     g.u32(0x03000000);  // version 3 written big-endian
                     g.zeros(64);
                     return g;
                 },
                 true});
    c.push_back({"version_1", "version",
                 [] {
                     B g = valid_small_file();
                     g.b[4] = 1;
                     g.mark = 4;
                     return g;
                 },
                 true});
    c.push_back({"version_unknown", "version",
                 [] {
                     B g = valid_small_file();
                     g.b[4] = 4;
                     g.mark = 4;
                     return g;
                 },
                 true});
    c.push_back({"truncated_in_key", "key 1", [] {
                     B g = valid_small_file();
                     g.b.resize(24 + 8 + 20 + 4 + 8 + 4 + 8 +
                                5);  // inside general.alignment's name
                     g.mark = 24 + 8 + 20 + 4 + 8 + 4;
                     return g;
                 }});
    c.push_back({"truncated_in_data", "tensor 't1' data offset",
                 [] {
                     B g = valid_small_file();
                     g.b.resize(g.b.size() - 40);  // t1's 36 bytes end past the file
                     return g;
                 },
                 false, true});
    c.push_back({"unknown_value_type", "type", [] {
                     B g;
                     g.start(0, 1);
                     g.str("general.architecture");
                     g.set_mark();
                     g.u32(13);
                     g.str("x");
                     return g;
                 }});
    c.push_back({"unknown_array_item_type", "array item type", [] {
                     B g;
                     g.start(0, 1);
                     g.key("x.arr", 9);
                     g.set_mark();
                     g.u32(77);
                     g.u64(1);
                     g.u32(0);
                     return g;
                 }});
    c.push_back({"unknown_tensor_type", "tensor 'w' type", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.u64(8);
                         g.set_mark();
                         g.u32(43);
                         g.u64(0);
                     });
                 }});
    c.push_back({"removed_tensor_type_q4_2", "tensor 'w' type", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.u64(32);
                         g.set_mark();
                         g.u32(4);
                         g.u64(0);
                     });
                 }});
    c.push_back({"removed_tensor_type_q4_0_4_4", "tensor 'w' type", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.u64(32);
                         g.set_mark();
                         g.u32(31);
                         g.u64(0);
                     });
                 }});
    c.push_back({"n_dims_zero", "tensor 'w' n_dims", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.set_mark();
                         g.u32(0);
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"n_dims_five", "tensor 'w' n_dims", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.set_mark();
                         g.u32(5);
                         for (int i = 0; i < 5; ++i) g.u64(1);
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"zero_dimension", "tensor 'w' dimension 1", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(2);
                         g.u64(8);
                         g.set_mark();
                         g.u64(0);
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"negative_dimension", "tensor 'w' dimension 0", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.set_mark();
                         g.u64(~uint64_t(0));
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"element_count_overflow", "tensor 'w' dimension 2", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(3);
                         g.u64(1ull << 31);
                         g.u64(1ull << 31);
                         g.set_mark();
                         g.u64(1ull << 31);
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"byte_count_overflow", "tensor 'w' type", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(2);
                         g.u64(1ull << 31);
                         g.u64(1ull << 30);  // 2^61 elements fit int64, 2^63 F32 bytes do not
                         g.set_mark();
                         g.u32(0);
                         g.u64(0);
                     });
                 }});
    c.push_back({"row_not_multiple_of_block", "tensor 'w' type", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(2);
                         g.u64(48);  // Q4_0 blocks hold 32
                         g.u64(2);
                         g.set_mark();
                         g.u32(2);
                         g.u64(0);
                     });
                 }});
    c.push_back({"offset_misaligned", "tensor 'b' data offset", [no_kv] {
                     return one_tensor_file(
                         0, no_kv,
                         [](B& g) {
                             g.tensor("a", {4}, 0, 0);
                             g.str("b");
                             g.u32(1);
                             g.u64(8);
                             g.u32(0);
                             g.set_mark();
                             g.u64(16);
                         },
                         2, 64);
                 }});
    c.push_back({"offset_overlapping", "tensor 'b' data offset", [no_kv] {
                     return one_tensor_file(
                         0, no_kv,
                         [](B& g) {
                             g.tensor("a", {16}, 0, 0);  // 64 bytes
                             g.str("b");
                             g.u32(1);
                             g.u64(8);
                             g.u32(0);
                             g.set_mark();
                             g.u64(32);
                         },
                         2, 128);
                 }});
    c.push_back({"offset_out_of_order", "tensor 'a' data offset", [no_kv] {
                     return one_tensor_file(
                         0, no_kv,
                         [](B& g) {
                             g.str("a");  // a's data placed after b's
                             g.u32(1);
                             g.u64(8);
                             g.u32(0);
                             g.set_mark();
                             g.u64(32);
                             g.tensor("b", {8}, 0, 0);
                         },
                         2, 64);
                 }});
    c.push_back({"offset_past_end", "tensor 'w' data offset",
                 [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.u64(1024);  // 4 KiB of data in a file that has 32 bytes of it
                         g.u32(0);
                         g.set_mark();
                         g.u64(0);
                     });
                 },
                 false, true});
    c.push_back({"offset_huge", "tensor 'w' data offset", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.str("w");
                         g.u32(1);
                         g.u64(8);
                         g.u32(0);
                         g.set_mark();
                         g.u64(~uint64_t(0) - 31);
                     });
                 }});
    c.push_back({"duplicate_key", "key 'general.name'", [] {
                     B g;
                     g.start(0, 2);
                     g.kv_str("general.name", "a");
                     g.set_mark();
                     g.kv_str("general.name", "b");
                     return g;
                 }});
    c.push_back({"duplicate_tensor_name", "tensor 'w' name", [no_kv] {
                     return one_tensor_file(
                         0, no_kv,
                         [](B& g) {
                             g.tensor("w", {8}, 0, 0);
                             g.set_mark();
                             g.tensor("w", {8}, 0, 32);
                         },
                         2, 64);
                 }});
    c.push_back({"empty_key", "key 0", [] {
                     B g;
                     g.start(0, 1);
                     g.set_mark();
                     g.kv_str("", "a");
                     return g;
                 }});
    c.push_back({"tensor_name_too_long", "name of tensor 0", [no_kv] {
                     return one_tensor_file(0, no_kv, [](B& g) {
                         g.set_mark();
                         g.tensor(std::string(64, 'n'), {8}, 0, 0);
                     });
                 }});
    c.push_back({"alignment_zero", "general.alignment", [] {
                     B g;
                     g.start(0, 1);
                     g.key("general.alignment", 4);
                     g.set_mark();
                     g.u32(0);
                     return g;
                 }});
    c.push_back({"alignment_not_power_of_two", "general.alignment", [] {
                     B g;
                     g.start(0, 1);
                     g.key("general.alignment", 4);
                     g.set_mark();
                     g.u32(48);
                     return g;
                 }});
    c.push_back({"alignment_wrong_type", "general.alignment", [] {
                     B g;
                     g.start(0, 1);
                     g.key("general.alignment", 10);
                     g.set_mark();
                     g.u64(32);
                     return g;
                 }});
    c.push_back({"bool_not_0_or_1", "value of key 'x.flag'", [] {
                     B g;
                     g.start(0, 1);
                     g.key("x.flag", 7);
                     g.set_mark();
                     g.u8(2);
                     return g;
                 }});
    c.push_back({"nesting_too_deep", "value of key 'x.deep'", [] {
                     B g;
                     g.start(0, 1);
                     g.key("x.deep", 9);
                     for (int depth = 1; depth <= 5; ++depth) {  // the limit is 4 levels
                         if (depth == 5) g.set_mark();
                         g.u32(9);
                         g.u64(1);
                     }
                     g.u32(0);
                     g.u64(0);
                     return g;
                 }});
    c.push_back({"huge_tensor_count", "tensor count", [] {
                     B g;
                     g.raw("GGUF", 4);
                     g.u32(3);
                     g.set_mark();
                     g.u64(1ull << 40);
                     g.u64(0);
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_key_count", "metadata key count", [] {
                     B g;
                     g.raw("GGUF", 4);
                     g.u32(3);
                     g.u64(0);
                     g.set_mark();
                     g.u64(~uint64_t(0));
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_key_length", "key 0 length", [] {
                     B g;
                     g.start(0, 1);
                     g.set_mark();
                     g.u64(1ull << 60);
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_string_length", "value of key 'general.name' string", [] {
                     B g;
                     g.start(0, 1);
                     g.key("general.name", 8);
                     g.set_mark();
                     g.u64(1ull << 40);
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_string_in_array", "array item 1", [] {
                     B g;
                     g.start(0, 1);
                     g.key("tokenizer.ggml.tokens", 9);
                     g.u32(8);
                     g.u64(2);
                     g.str("ok");
                     g.set_mark();
                     g.u64(~uint64_t(0) - 7);
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_array_length", "array length", [] {
                     B g;
                     g.start(0, 1);
                     g.key("tokenizer.ggml.scores", 9);
                     g.u32(10);
                     g.set_mark();
                     g.u64(1ull << 25);  // 256 MiB of UINT64 items in a 100-byte file
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"array_byte_size_overflow", "array length", [] {
                     B g;
                     g.start(0, 1);
                     g.key("x.arr", 9);
                     g.u32(12);
                     g.set_mark();
                     g.u64(1ull << 62);  // * 8 bytes wraps
                     g.zeros(64);
                     return g;
                 }});
    c.push_back({"huge_string_array_length", "array length", [] {
                     B g;
                     g.start(0, 1);
                     g.key("tokenizer.ggml.tokens", 9);
                     g.u32(8);
                     g.set_mark();
                     g.u64(1ull << 33);
                     g.zeros(64);
                     return g;
                 }});
    return c;
}

}  // namespace gguf_squash::test_support
