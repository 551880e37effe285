// Secp: the process-wide libsecp256k1 context. Created on first use (thread-safe static
// initialisation), randomized once with 32 CSPRNG bytes (side-channel blinding), and never
// modified afterwards, so any thread may sign, verify, derive or do ECDH with it at the same time
// (libsecp256k1 only reads a const context). Lives until process exit.
#pragma once

#include <secp256k1.h>

namespace pylon::proto {

const secp256k1_context* secp_context() noexcept;

}  // namespace pylon::proto
