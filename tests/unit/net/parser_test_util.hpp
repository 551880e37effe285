// Feeding helpers for the pure parser tests: split an input at every size from 1 byte up, so
// each parser is checked against chunk boundaries falling anywhere.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace pylon::net::testutil {

inline std::span<const std::uint8_t> span_of(std::string_view s) {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

}  // namespace pylon::net::testutil
