// Shared fixture for the NIP-90 tests: the dvm_flow and encrypted_job events of
// nostr-events.json, parsed, plus the provider and customer keypairs (NIP-06 test keys).
#pragma once

#include <map>
#include <string>

#include <gtest/gtest.h>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "tests/support/vectors.hpp"

namespace pylon::proto::testing {

struct Nip90Vectors {
    test::VectorFile file{"nostr-events.json"};
    JsonReader reader;
    std::map<std::string, Event, std::less<>> flow;  // by name
    Event nip44_request;
    Event nip04_request;

    Nip90Vectors() {
        for (simdjson::dom::element c : test::arr(file.root(), "dvm_flow")) {
            Event& e = flow[std::string(test::str(c, "name"))];
            EXPECT_EQ(e.read_json(reader, test::json_text(test::at(c, "event"))), Reject::none);
        }
        simdjson::dom::element enc = test::at(file.root(), "encrypted_job");
        EXPECT_EQ(nip44_request.read_json(
                      reader, test::json_text(test::at(test::at(enc, "nip44"), "event"))),
                  Reject::none);
        EXPECT_EQ(nip04_request.read_json(
                      reader, test::json_text(test::at(test::at(enc, "nip04"), "event"))),
                  Reject::none);
    }

    Keypair key(std::string_view who) const {
        auto sk = SecretKey::from_hex(
            test::str(test::at(test::at(file.root(), "keys"), who), "secret_hex"));
        EXPECT_TRUE(sk.ok());
        auto kp = Keypair::from_secret(sk.value());
        EXPECT_TRUE(kp.ok());
        return kp.value();
    }
    simdjson::dom::element encrypted_job() const { return test::at(file.root(), "encrypted_job"); }
};

}  // namespace pylon::proto::testing
