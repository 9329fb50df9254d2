// Helpers for the native-only tests that run the gguf-squash CLI through the shell: quoting an
// argument, and a temporary directory that is removed afterwards and can list what was left in it
// (to prove that a failed run leaves nothing partial).
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <vector>

namespace gguf_squash::test_support {

// `s` as one POSIX shell word.
inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') {
            q += "'\\''";
        } else {
            q += c;
        }
    }
    return q + "'";
}

struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        char tmpl[] = "/tmp/gs-cli-test-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    // The names of the files in the directory, sorted.
    std::vector<std::string> files() const {
        std::vector<std::string> out;
        for (const auto& e : std::filesystem::directory_iterator(path))
            out.push_back(e.path().filename());
        std::sort(out.begin(), out.end());
        return out;
    }
};

// A shell command's exit status (128 + N when killed by signal N), standard output and standard
// error (through a temporary file, so that neither stream can block the other).
struct shell_result {
    int status = -1;
    std::string out, err;
};
inline shell_result run_shell(const std::string& cmd) {
    const std::string err_path =
        ::testing::TempDir() + "gs_shell_err_" + std::to_string(::getpid()) + ".txt";
    shell_result r;
    FILE* p = ::popen((cmd + " 2>" + shell_quote(err_path)).c_str(), "r");
    if (!p) return r;
    char buf[65536];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
    const int st = ::pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    std::ifstream err(err_path, std::ios::binary);
    r.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
    std::remove(err_path.c_str());
    return r;
}

}  // namespace gguf_squash::test_support
