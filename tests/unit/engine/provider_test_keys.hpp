// Test helpers for the provider's unit tests: fixed keys for a provider and two customers, and
// signed NIP-90 job requests built the way a client would.
#pragma once

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "proto/payload_cipher.hpp"

namespace pylon::engine::testing {

inline proto::Keypair test_key(char fill) {
    auto sk = proto::SecretKey::from_hex(std::string(63, '0') + fill);
    EXPECT_TRUE(sk.ok());
    auto kp = proto::Keypair::from_secret(sk.value());
    EXPECT_TRUE(kp.ok());
    return kp.value();
}

inline proto::Event job_request(const proto::Keypair& customer, std::int64_t created_at,
                                std::vector<std::vector<std::string>> tags,
                                std::string content = "", std::uint32_t kind = 5050) {
    proto::Event e;
    e.set_kind(kind);
    e.set_created_at(created_at);
    e.set_content(content);
    for (const auto& t : tags) {
        e.add_tag(std::span<const std::string>(t));
    }
    e.sign(customer);
    return e;
}

// A NIP-44 encrypted request to `provider` (NDK's shape: the tags in the content, p + encrypted
// in clear).
inline proto::Event encrypted_request(const proto::Keypair& customer,
                                      const proto::PublicKey& provider, std::int64_t created_at,
                                      const std::string& inner_json,
                                      proto::Cipher cipher = proto::Cipher::nip44) {
    std::string payload;
    EXPECT_EQ(proto::encrypt_payload(cipher, customer.secret(), provider, inner_json,
                                     proto::csprng(), payload),
              proto::Reject::none);
    return job_request(customer, created_at, {{"p", provider.hex()}, {"encrypted"}}, payload);
}

}  // namespace pylon::engine::testing
