// BuyerHistory: the customer side's local record of the jobs `pylon job submit` published, in
// <home>/jobs.db (Pylon v0.1's buyer database, same table): id = the request event id, kind,
// prompt, relay (the relays used, comma-separated), provider (who answered, or who was asked),
// bid_msats, status (pending -> processing -> completed | failed), result, bolt11,
// amount_msats, created_at and completed_at in unix seconds. Small and synchronous (the CLI's
// main thread); a missing file is created on first write, a read of a missing file is empty.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "reactor/result.hpp"

struct sqlite3;

namespace pylon::engine {

struct BuyerJob {
    std::string id;  // request event id, 64 hex
    std::uint32_t kind = 5050;
    std::string prompt;
    std::string relay;
    std::string provider;
    std::optional<std::int64_t> bid_msats;
    std::string status = "pending";
    std::string result;
    std::string bolt11;
    std::optional<std::int64_t> amount_msats;
    std::int64_t created_at = 0;
    std::optional<std::int64_t> completed_at;
};

inline constexpr std::size_t buyer_prompt_bytes_kept = 4096;

class BuyerHistory {
  public:
    // Opens (creating when `create`) the database at `path`.
    static Result<std::unique_ptr<BuyerHistory>> open(const std::string& path, bool create);
    BuyerHistory(const BuyerHistory&) = delete;
    BuyerHistory& operator=(const BuyerHistory&) = delete;
    ~BuyerHistory();

    Status insert(const BuyerJob& job);
    // Sets status (and result, provider, completed_at when given).
    Status update(const std::string& id, const std::string& status, const std::string& provider,
                  const std::optional<std::string>& result, std::optional<std::int64_t> done_at);
    Result<std::optional<BuyerJob>> get(const std::string& id);
    Result<std::vector<BuyerJob>> list(std::size_t limit);

  private:
    explicit BuyerHistory(sqlite3* db) : db_(db) {}
    Status exec(const char* sql);
    sqlite3* db_;
};

}  // namespace pylon::engine
