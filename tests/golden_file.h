// Loads tensors from tests/fixtures/kernels/golden-seed1.gguf (produced by ggml itself) for the
// kernel tests: the header through our reader, the data by offset.
#pragma once

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "format/gguf_reader.h"
#include "io/gguf_file.h"

namespace gguf_squash::test_support {

struct golden_tensor {
    gguf_tensor_info info;
    std::vector<uint8_t> bytes;
};

class golden_file {
  public:
    static const golden_file& get() {
        static golden_file g(std::string(GGUF_SQUASH_FIXTURES) + "/kernels/golden-seed1.gguf");
        return g;
    }
    const std::vector<golden_tensor>& tensors() const { return tensors_; }
    const golden_tensor* find(const std::string& name) const {
        auto it = index_.find(name);
        return it == index_.end() ? nullptr : &tensors_[it->second];
    }
    const std::string& error() const { return error_; }

  private:
    explicit golden_file(const std::string& path) {
        result<gguf_header> h = read_gguf_header_file(path);
        if (!h.ok()) {
            error_ = h.error().message();
            return;
        }
        std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
        for (const gguf_tensor_info& t : h->tensors) {
            golden_tensor g{t, std::vector<uint8_t>(t.nbytes())};
            std::fseek(f.get(), long(h->data_offset + t.offset), SEEK_SET);
            if (std::fread(g.bytes.data(), 1, g.bytes.size(), f.get()) != g.bytes.size()) {
                error_ = "short read of " + t.name;
                return;
            }
            index_[t.name] = tensors_.size();
            tensors_.push_back(std::move(g));
        }
    }
    std::vector<golden_tensor> tensors_;
    std::map<std::string, size_t> index_;
    std::string error_;
};

}  // namespace gguf_squash::test_support
