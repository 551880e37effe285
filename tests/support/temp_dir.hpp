// TempDir: a fresh directory under /tmp (mkdtemp) owned by one test, removed recursively with
// everything in it when the TempDir is destroyed. Move-only; use from one thread.
#pragma once

#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::test {

class TempDir {
  public:
    // Creates /tmp/<prefix>-XXXXXX (mode 0700).
    static Result<TempDir> create(std::string_view prefix = "pylon-test");

    TempDir(TempDir&& other) noexcept;
    TempDir& operator=(TempDir&& other) noexcept;
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir();

    const std::string& path() const { return path_; }
    // path() + "/" + name.
    std::string file(std::string_view name) const;

  private:
    explicit TempDir(std::string path) : path_(std::move(path)) {}
    void remove() noexcept;

    std::string path_;  // empty once moved from
};

}  // namespace pylon::test
