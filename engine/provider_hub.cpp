#include "engine/provider_hub.hpp"

#include <cstring>

#include "net/tls.hpp"
#include "reactor/assert.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {

ProviderHub::ProviderHub(unsigned shard_count, proto::Keypair keys,
                         std::shared_ptr<net::TlsContext> tls)
    : shard_count_(shard_count),
      keys_(std::move(keys)),
      pubkey_hex_(keys_.public_key().hex()),
      parts_(shard_count),
      tls_tried_(tls != nullptr),
      tls_(std::move(tls)) {
    PYLON_ASSERT(shard_count_ > 0);
}

std::shared_ptr<net::TlsContext> ProviderHub::make_tls() {
    auto made = net::TlsContext::create(net::TlsContextOptions{});
    if (!made.ok()) {
        LOG_WARN("TLS: %s; wss:// relays will not connect", made.error().message().c_str());
        return nullptr;
    }
    return std::move(made.value());
}

std::shared_ptr<net::TlsContext> ProviderHub::tls() {
    std::lock_guard<std::mutex> lock(tls_mutex_);
    if (!tls_tried_) {
        tls_tried_ = true;
        tls_ = make_tls();
    }
    return tls_;
}

ProviderHub::~ProviderHub() {
    resolver_.stop();
}

ShardParts& ProviderHub::parts(unsigned shard) noexcept {
    PYLON_ASSERT(shard < shard_count_);
    return parts_[shard];
}

unsigned ProviderHub::job_owner(const std::array<std::uint8_t, 32>& request_id) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, request_id.data(), sizeof h);  // an event id is a SHA-256: uniform
    return static_cast<unsigned>(h % shard_count_);
}

unsigned ProviderHub::customer_owner(const std::array<std::uint8_t, 32>& pubkey) const noexcept {
    std::uint64_t h = 0;
    std::memcpy(&h, pubkey.data() + 8, sizeof h);  // an x-only public key: uniform enough
    return static_cast<unsigned>(h % shard_count_);
}

unsigned ProviderHub::relay_owner(std::string_view url) const noexcept {
    std::uint64_t h = 14695981039346656037ULL;  // FNV-1a
    for (char c : url) {
        h ^= static_cast<unsigned char>(c);
        h *= 1099511628211ULL;
    }
    return static_cast<unsigned>(h % shard_count_);
}

bool ProviderHub::note_intake_open() noexcept {
    unsigned now = intakes_open_.fetch_add(1, std::memory_order_acq_rel) + 1;
    return now == shard_count_;
}

bool ProviderHub::intake_open_everywhere() const noexcept {
    return intakes_open_.load(std::memory_order_acquire) >= shard_count_;
}

}  // namespace pylon::engine
