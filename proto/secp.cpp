#include "proto/secp.hpp"

#include <array>
#include <cstdint>

#include <openssl/crypto.h>

#include "proto/random_source.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

secp256k1_context* make_context() noexcept {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    PYLON_ASSERT_MSG(ctx != nullptr, "secp256k1_context_create failed");
    std::array<uint8_t, 32> seed{};
    csprng().fill(seed);
    int ok = secp256k1_context_randomize(ctx, seed.data());
    OPENSSL_cleanse(seed.data(), seed.size());
    PYLON_ASSERT_MSG(ok == 1, "secp256k1_context_randomize failed");
    return ctx;
}

}  // namespace

const secp256k1_context* secp_context() noexcept {
    // Intentionally never destroyed: other static destructors may still sign or verify.
    static const secp256k1_context* ctx = make_context();
    return ctx;
}

}  // namespace pylon::proto
