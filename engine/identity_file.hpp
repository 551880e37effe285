// IdentityFile: the node's key as the daemon and the CLI read it: identity.mnemonic (one line,
// a BIP-39 phrase, mode 0600, Pylon v0.1's format) in `data_dir` when the config sets one, else
// in the home. The key is NIP-06 account `identity.account` (0 by default: Pylon's key).
// Writing the file is `pylon init`'s job. Pure apart from reading the file: any thread.
#pragma once

#include <string>

#include "engine/config.hpp"
#include "engine/home.hpp"
#include "proto/keys.hpp"
#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr std::size_t identity_file_bytes_max = 4096;

struct NodeIdentity {
    proto::Keypair keypair;
    std::string npub;
    std::string pubkey_hex;
    std::uint32_t account = 0;
};

// Where identity.mnemonic lives for this home and config.
std::string identity_path(const Home& home, const Config& config);

// Errc::not_found when the file does not exist; Errc::invalid_input when it holds no valid
// phrase (the message says which word is wrong, never the phrase itself).
Result<NodeIdentity> load_identity(const std::string& path, std::uint32_t account);

}  // namespace pylon::engine
