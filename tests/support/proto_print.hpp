// Test support: GoogleTest printers for proto/ enums, so a failed EXPECT_EQ on a Reject prints
// "bad_event_id" instead of raw bytes. Header-only.
#pragma once

#include <ostream>

#include "proto/reject.hpp"

namespace pylon::proto {

inline void PrintTo(Reject reason, std::ostream* os) {
    *os << reject_name(reason);
}

}  // namespace pylon::proto
