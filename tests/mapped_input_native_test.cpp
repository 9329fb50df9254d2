// io/mapped_input.h: the native CLI's view of its input files. The bytes of every view must be
// the file's, and a file cut short under a mapping must fail the check instead of crashing the
// process with SIGBUS (the truncation fault test in fault_quantize_test.cpp runs the whole CLI).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "cli_test_support.h"
#include "io/mapped_input.h"

namespace gguf_squash {
namespace {

using test_support::temp_dir;

struct open_file {
    int fd = -1;
    explicit open_file(const std::string& path) : fd(::open(path.c_str(), O_RDWR)) {}
    ~open_file() {
        if (fd >= 0) ::close(fd);
    }
};

std::vector<uint8_t> pattern(size_t n) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = uint8_t(i * 131 + (i >> 12) + 1);  // never 0
    return b;
}

std::string write_pattern(const temp_dir& dir, const std::vector<uint8_t>& bytes) {
    const std::string path = (dir.path / "in.bin").string();
    FILE* f = std::fopen(path.c_str(), "wb");
    EXPECT_NE(f, nullptr);
    EXPECT_EQ(std::fwrite(bytes.data(), 1, bytes.size(), f), bytes.size());
    std::fclose(f);
    return path;
}

TEST(PipelineMappedInput, ViewsHoldTheFileBytesAtAnyOffset) {
    temp_dir dir;
    const long page = ::sysconf(_SC_PAGESIZE);
    const std::vector<uint8_t> bytes = pattern(size_t(page) * 5 + 123);
    const std::string path = write_pattern(dir, bytes);
    open_file f(path);
    ASSERT_GE(f.fd, 0);
    mapped_input in({f.fd}, {path});
    int compared = 0;
    for (uint64_t offset :
         {uint64_t(0), uint64_t(1), uint64_t(page - 1), uint64_t(page), uint64_t(3 * page + 77)}) {
        for (size_t size : {size_t(1), size_t(page), size_t(2 * page + 5)}) {
            SCOPED_TRACE(std::to_string(offset) + "+" + std::to_string(size));
            result<input_span> v = in.view(0, offset, size);
            ASSERT_TRUE(v.ok()) << v.error().message();
            ASSERT_EQ(v->size, size);
            EXPECT_EQ(std::memcmp(v->data, bytes.data() + offset, size), 0);
            EXPECT_TRUE(in.check().ok());
            ++compared;
        }
    }
    EXPECT_EQ(compared, 15);
    // At the end of the file a view is short, and past it empty.
    result<input_span> tail = in.view(0, bytes.size() - 10, 100);
    ASSERT_TRUE(tail.ok());
    ASSERT_EQ(tail->size, 10u);
    EXPECT_EQ(std::memcmp(tail->data, bytes.data() + bytes.size() - 10, 10), 0);
    result<input_span> past = in.view(0, bytes.size(), 100);
    ASSERT_TRUE(past.ok());
    EXPECT_EQ(past->size, 0u);
    result<input_span> no_shard = in.view(1, 0, 1);
    EXPECT_FALSE(no_shard.ok());
}

TEST(PipelineMappedInput, FileCutUnderTheMappingReadsZerosAndFailsTheCheck) {
    temp_dir dir;
    const long page = ::sysconf(_SC_PAGESIZE);
    const std::vector<uint8_t> bytes = pattern(size_t(page) * 8);
    const std::string path = write_pattern(dir, bytes);
    open_file f(path);
    ASSERT_GE(f.fd, 0);
    mapped_input in({f.fd}, {path});
    result<input_span> v = in.view(0, 0, bytes.size());
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(v->size, bytes.size());
    EXPECT_EQ(v->data[0], bytes[0]);
    // Cut the file to two pages: touching page 5 raises SIGBUS, which the handler turns into a
    // zero page (this test would die without it).
    ASSERT_EQ(::ftruncate(f.fd, off_t(2 * page)), 0);
    const volatile uint8_t* p = v->data;
    EXPECT_EQ(p[5 * page + 3], 0);
    EXPECT_EQ(p[7 * page], 0);
    EXPECT_EQ(p[page], bytes[size_t(page)]);  // still in the file
    // Grown back to its size (the old bytes are gone: zeros), the file is long enough again, but
    // the check remembers that the window read past the end.
    ASSERT_EQ(::ftruncate(f.fd, off_t(bytes.size())), 0);
    status s = in.check();
    ASSERT_FALSE(s.ok());
    EXPECT_EQ(s.code(), status_code::invalid_file);
    EXPECT_NE(s.message().find("input ended early"), std::string::npos) << s.message();
    // A new view maps the file as it is now, and checks clean.
    result<input_span> again = in.view(0, 0, bytes.size());
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->data[0], bytes[0]);
    EXPECT_EQ(again->data[5 * page + 3], 0);
    EXPECT_TRUE(in.check().ok());
}

TEST(PipelineMappedInput, FileCutBeforeTheCheckFailsItWithoutAFault) {
    temp_dir dir;
    const std::vector<uint8_t> bytes = pattern(100000);
    const std::string path = write_pattern(dir, bytes);
    open_file f(path);
    ASSERT_GE(f.fd, 0);
    mapped_input in({f.fd}, {path});
    result<input_span> v = in.view(0, 1000, 90000);
    ASSERT_TRUE(v.ok());
    ASSERT_EQ(::ftruncate(f.fd, 50000), 0);
    status s = in.check();
    ASSERT_FALSE(s.ok());
    EXPECT_NE(s.message().find("was cut to 50000 bytes"), std::string::npos) << s.message();
}

}  // namespace
}  // namespace gguf_squash
