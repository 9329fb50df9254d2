#include "status.h"

namespace gguf_squash {

const char* status_code_name(status_code code) {
    switch (code) {
        case status_code::ok:
            return "ok";
        case status_code::invalid_file:
            return "invalid file";
        case status_code::unsupported:
            return "unsupported";
        case status_code::invalid_argument:
            return "invalid argument";
        case status_code::refused:
            return "refused";
        case status_code::io_error:
            return "I/O error";
        case status_code::cancelled:
            return "cancelled";
        case status_code::out_of_memory:
            return "out of memory";
        case status_code::internal:
            return "internal error";
    }
    return "unknown";
}

status make_error(status_code code, std::string message) {
    return status(code, std::move(message));
}

status invalid_file_at(const std::string& field, uint64_t offset, const std::string& what) {
    return status(status_code::invalid_file,
                  field + " at byte offset " + std::to_string(offset) + ": " + what);
}

}  // namespace gguf_squash
