// Status codes and Result<T>: the only way errors leave core/.
// core/ never throws past its API, never aborts and never prints. Every error carries a message
// that names the field and, where one exists, the absolute byte offset in the input.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

namespace gguf_squash {

enum class status_code : int {
    ok = 0,
    invalid_file,      // the input is not a valid GGUF (bad magic, truncated, hostile counts, ...)
    unsupported,       // valid but not something we handle (big-endian, v1, removed type ids)
    invalid_argument,  // the caller asked for something impossible (bad type name, bad option)
    refused,           // a combination llama-quantize refuses (no imatrix for IQ2_XXS, ...)
    io_error,          // read or write failed (disk full, unwritable path)
    cancelled,         // the caller cancelled
    out_of_memory,     // an allocation failed
    internal,          // a bug: an invariant did not hold
};

const char* status_code_name(status_code code);

class status {
  public:
    status() = default;
    status(status_code code, std::string message) : code_(code), message_(std::move(message)) {}

    bool ok() const { return code_ == status_code::ok; }
    explicit operator bool() const { return ok(); }
    status_code code() const { return code_; }
    const std::string& message() const { return message_; }

  private:
    status_code code_ = status_code::ok;
    std::string message_;
};

// Convenience constructors. `offset` < 0 means "no offset applies".
status make_error(status_code code, std::string message);
status invalid_file_at(const std::string& field, uint64_t offset, const std::string& what);

template <typename T>
class result {
  public:
    result(T value) : v_(std::move(value)) {}       // NOLINT: implicit by design
    result(status error) : v_(std::move(error)) {}  // NOLINT
    bool ok() const { return v_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() { return value(); }
    const status& error() const { return std::get<1>(v_); }

  private:
    std::variant<T, status> v_;
};

// Propagate an error status from an expression returning `status`.
#define GS_RETURN_IF_ERROR(expr)              \
    do {                                      \
        ::gguf_squash::status gs_s_ = (expr); \
        if (!gs_s_.ok()) return gs_s_;        \
    } while (0)

}  // namespace gguf_squash
