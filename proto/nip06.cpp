#include "proto/nip06.hpp"

#include "proto/extended_key.hpp"

namespace pylon::proto {

std::string nip06_path(uint32_t account) {
    return "m/44'/1237'/" + std::to_string(account) + "'/0/0";
}

Result<SecretKey> nip06_secret_key(const Mnemonic& mnemonic, std::string_view passphrase,
                                   uint32_t account) {
    if (account > nip06_account_max) {
        return Error(Errc::invalid_input, "NIP-06 account must be below 2^31");
    }
    auto seed = mnemonic.seed(passphrase);
    if (!seed.ok()) {
        return std::move(seed).error();
    }
    auto master = ExtendedKey::from_seed(seed->span());
    if (!master.ok()) {
        return std::move(master).error();
    }
    auto key = master->derive_path(nip06_path(account));
    if (!key.ok()) {
        return std::move(key).error();
    }
    return key->secret_key();
}

Result<Keypair> nip06_keypair(const Mnemonic& mnemonic, std::string_view passphrase,
                              uint32_t account) {
    auto secret = nip06_secret_key(mnemonic, passphrase, account);
    if (!secret.ok()) {
        return std::move(secret).error();
    }
    return Keypair::from_secret(secret.value());
}

}  // namespace pylon::proto
