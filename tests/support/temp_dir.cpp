#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <cerrno>
#include <filesystem>
#include <system_error>
#include <utility>

#include "reactor/assert.hpp"

namespace pylon::test {

Result<TempDir> TempDir::create(std::string_view prefix) {
    PYLON_ASSERT(prefix.find('/') == std::string_view::npos);
    std::string templ = "/tmp/" + std::string(prefix) + "-XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
        return Error::from_errno(errno, "mkdtemp " + templ);
    }
    return TempDir(std::move(templ));
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::exchange(other.path_, {})) {}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
    if (this != &other) {
        remove();
        path_ = std::exchange(other.path_, {});
    }
    return *this;
}

TempDir::~TempDir() {
    remove();
}

std::string TempDir::file(std::string_view name) const {
    PYLON_ASSERT(!path_.empty());
    return path_ + "/" + std::string(name);
}

void TempDir::remove() noexcept {
    if (path_.empty()) {
        return;
    }
    PYLON_ASSERT(path_.starts_with("/tmp/"));
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);  // noexcept overload; a failure leaves litter only
    path_.clear();
}

}  // namespace pylon::test
