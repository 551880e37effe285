// Shared by the libFuzzer targets: FUZZ_CHECK aborts (a finding) when an invariant breaks, and
// the keys the decrypting targets use. Header-only.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "proto/keys.hpp"

#define FUZZ_CHECK(cond)                                                                        \
    do {                                                                                        \
        if (!(cond)) {                                                                          \
            std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
            std::abort();                                                                       \
        }                                                                                       \
    } while (0)

namespace pylon::fuzz {

inline std::string_view as_text(const uint8_t* data, size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

// Fixed test keys (NIP-06 vectors 1 and 2): never use them for anything real.
inline const proto::Keypair& provider_keys() {
    static const proto::Keypair kp =
        proto::Keypair::from_secret(
            proto::SecretKey::from_hex(
                "7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a")
                .value())
            .value();
    return kp;
}

inline const proto::Keypair& customer_keys() {
    static const proto::Keypair kp =
        proto::Keypair::from_secret(
            proto::SecretKey::from_hex(
                "c15d739894c81a2fcfd3a2df85a0d2c0dbc47a280d092799f144d73d7ae78add")
                .value())
            .value();
    return kp;
}

}  // namespace pylon::fuzz
