#include "io/mapped_input.h"

#ifndef __EMSCRIPTEN__
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace gguf_squash {
namespace {

// The window the SIGBUS handler may repair (one mapped_input at a time: the CLI's), and whether
// it had to.
std::atomic<uintptr_t> g_window_begin{0}, g_window_end{0};
std::atomic<bool> g_window_faulted{false};
uintptr_t g_page_size = 4096;  // set before the handler is installed (sysconf is not signal-safe)
struct sigaction g_previous_sigbus;
int g_installed = 0;

extern "C" void on_sigbus(int sig, siginfo_t* info, void*) {
    const uintptr_t at = reinterpret_cast<uintptr_t>(info->si_addr);
    const uintptr_t begin = g_window_begin.load(), end = g_window_end.load();
    if (at >= begin && at < end) {
        // The file ends before this page: the rest of the window reads as zeros from now on.
        const uintptr_t page = at & ~(g_page_size - 1);
        void* p = ::mmap(reinterpret_cast<void*>(page), end - page, PROT_READ,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
        if (p != MAP_FAILED) {
            g_window_faulted.store(true);
            return;  // the faulting access runs again, on a zero page
        }
    }
    // Not a fault in our window: what would have happened without this handler (the raised
    // signal waits until the handler returns, then takes the previous action).
    ::sigaction(SIGBUS, &g_previous_sigbus, nullptr);
    ::raise(sig);
}

}  // namespace

mapped_input::mapped_input(std::vector<int> fds, std::vector<std::string> paths)
    : fds_(std::move(fds)), paths_(std::move(paths)) {
    if (g_installed++ == 0) {
        g_page_size = uintptr_t(::sysconf(_SC_PAGESIZE));
        struct sigaction sa {};
        sa.sa_sigaction = on_sigbus;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_SIGINFO;
        if (::sigaction(SIGBUS, &sa, &g_previous_sigbus) != 0) mapping_failed_ = true;
    }
}

mapped_input::~mapped_input() {
    unmap();
    if (--g_installed == 0) ::sigaction(SIGBUS, &g_previous_sigbus, nullptr);
}

void mapped_input::unmap() {
    if (!map_) return;
    g_window_begin.store(0);
    g_window_end.store(0);
    ::munmap(map_, map_size_);
    map_ = nullptr;
    map_size_ = 0;
}

result<input_span> mapped_input::view(uint32_t shard, uint64_t offset, size_t size) {
    unmap();
    if (shard >= fds_.size())
        return make_error(status_code::internal, "no input shard " + std::to_string(shard));
    const int fd = fds_[shard];
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        return make_error(status_code::io_error,
                          paths_[shard] + ": cannot read: " + std::strerror(errno));
    const uint64_t file_size = uint64_t(st.st_size);
    if (offset >= file_size) return input_span{};
    size = size_t(std::min<uint64_t>(size, file_size - offset));
    shard_ = shard;
    end_ = offset + size;
    g_window_faulted.store(false);
    if (!mapping_failed_) {
        const uint64_t start = offset & ~uint64_t(g_page_size - 1);
        const size_t length = size_t(end_ - start);
        void* p = ::mmap(nullptr, length, PROT_READ, MAP_SHARED, fd, off_t(start));
        if (p != MAP_FAILED) {
            map_ = static_cast<uint8_t*>(p);
            map_size_ = length;
            const uintptr_t begin = reinterpret_cast<uintptr_t>(p);
            g_window_begin.store(begin);
            g_window_end.store((begin + length + g_page_size - 1) & ~(g_page_size - 1));
            return input_span{map_ + (offset - start), size, 0};
        }
        mapping_failed_ = true;  // not a mappable file: read it from here on
    }
    try {
        if (buffer_.size() < size) buffer_.resize(size);
    } catch (...) {
        return make_error(status_code::out_of_memory, "cannot allocate an input buffer");
    }
    size_t got = 0;
    while (got < size) {
        const ssize_t n = ::pread(fd, buffer_.data() + got, size - got, off_t(offset + got));
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR) continue;
            return make_error(status_code::io_error,
                              paths_[shard] + ": read failed: " + std::strerror(errno));
        }
        got += size_t(n);
    }
    end_ = offset + got;
    return input_span{buffer_.data(), got, 0};
}

status mapped_input::check() {
    if (!map_) return {};
    struct stat st {};
    const bool stat_ok = ::fstat(fds_[shard_], &st) == 0;
    if (g_window_faulted.load() || (stat_ok && uint64_t(st.st_size) < end_)) {
        return make_error(status_code::invalid_file,
                          "input ended early: '" + paths_[shard_] + "' was cut to " +
                              (stat_ok ? std::to_string(st.st_size) : std::string("fewer")) +
                              " bytes while being read, before offset " + std::to_string(end_));
    }
    return {};
}

}  // namespace gguf_squash
#endif
