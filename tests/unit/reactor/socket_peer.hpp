// The peer side of the reactor's socket tests (plain blocking syscalls, for a std::thread): a
// recognisable byte pattern, and writing it out in 4 KB writes as a sender would.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>

namespace pylon::reactor::testing {

inline std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; i++) {
        s[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    return s;
}

// Writes `data` to the blocking socket `fd` 4 KB at a time; returns the bytes written (fewer
// than data.size() when a write failed).
inline std::size_t write_all(int fd, std::string_view data) {
    std::size_t off = 0;
    while (off < data.size()) {
        ssize_t n = ::write(fd, data.data() + off, std::min<std::size_t>(4096, data.size() - off));
        if (n <= 0) {
            break;
        }
        off += static_cast<std::size_t>(n);
    }
    return off;
}

}  // namespace pylon::reactor::testing
