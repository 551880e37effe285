// Nip06: Nostr keys from a BIP-39 mnemonic (NIP-06): seed = PBKDF2 of the phrase (see
// mnemonic.hpp), then BIP-32 private derivation along m/44'/1237'/<account>'/0/0; the resulting
// scalar is the secret key as is (no even-y negation; BIP-340 handles parity when signing). Fleets
// derive one key per node from one mnemonic with different accounts. Pure functions: any thread;
// intermediate secrets are wiped.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "proto/keys.hpp"
#include "proto/mnemonic.hpp"
#include "reactor/result.hpp"

namespace pylon::proto {

inline constexpr uint32_t nip06_account_max = 0x7fffffff;

// "m/44'/1237'/<account>'/0/0".
std::string nip06_path(uint32_t account);

Result<SecretKey> nip06_secret_key(const Mnemonic& mnemonic, std::string_view passphrase,
                                   uint32_t account);
Result<Keypair> nip06_keypair(const Mnemonic& mnemonic, std::string_view passphrase,
                              uint32_t account);

}  // namespace pylon::proto
