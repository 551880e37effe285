// StoreDb: one SQLite connection to pylon.db and the typed operations on it: Pylon v0.1's schema
// plus ours (engine/migrations.hpp). Opening checks before it changes anything: a file that is
// not a database, a damaged one (PRAGMA quick_check), or one written by a newer Pylon (an
// unknown migration) is refused with a clear message and left untouched; otherwise WAL mode,
// synchronous=NORMAL and a busy timeout are set and missing migrations applied, each in its own
// transaction. A read-only open (the CLI reading jobs and earnings while no daemon runs) never
// writes and needs an up-to-date schema.
//
// Synchronous and not thread-safe: the daemon's only StoreDb lives on the store thread
// (engine/store.hpp), which batches requests into transactions with begin()/commit() and
// savepoints; tests and the CLI use a StoreDb directly on their own thread.
//
// Jobs keep Pylon's row shape: id = "job_" + the first 16 hex characters of the request event
// id (job_id_for_request), seconds in Pylon's columns, and ours beside them (full request id,
// milliseconds, backend, model, tokens, timings). Earnings are recorded at most once per job.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/control_protocol.hpp"
#include "reactor/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace pylon::engine {

struct StoreDbOptions {
    std::string path;  // ":memory:" for a private in-memory database
    bool read_only = false;
    std::int64_t busy_timeout_ms = 5000;
};

// A job as accepted by intake (status `pending` unless told otherwise).
struct NewJob {
    std::string id;          // job_id_for_request(request_id)
    std::string request_id;  // 64 hex
    // The request event's created_at (unix s): with the id, the key of the processed_requests
    // row; 0 = unknown (received_at_ms / 1000 is used).
    std::int64_t request_created_at = 0;
    std::uint32_t kind = 0;
    std::string customer_pubkey;
    std::int64_t received_at_ms = 0;  // unix ms
    std::string status = "pending";
    std::int64_t price_msats = 0;
    std::optional<std::int64_t> bid_msats;
    std::string relay_hint;                 // the relay the request came from
    std::vector<std::string> reply_relays;  // the request's `relays` tag
    std::string request_json;               // the request event, to re-run it after a restart
    bool encrypted = false;
};

struct JobMetrics {
    std::string backend;
    std::string model;
    std::optional<std::int64_t> prompt_tokens;
    std::optional<std::int64_t> completion_tokens;
    std::optional<std::int64_t> queue_ms;
    std::optional<std::int64_t> first_token_ms;
    std::optional<std::int64_t> total_ms;
    std::optional<std::int64_t> started_at_ms;  // unix ms the generation started
};

struct JobCompletion {
    std::int64_t at_ms = 0;  // unix ms
    std::int64_t price_msats = 0;
    std::optional<std::int64_t> earned_msats;  // records one `job` earning when set
    std::string payment_hash;
    std::string result_event_id;
    JobMetrics metrics;
    // The job's pending_results row (record_pending_result's number), deleted with this final
    // state; 0: it has none.
    std::int64_t pending_seq = 0;
};

// A job left `pending` or `processing` by a previous run.
struct UnfinishedJob {
    std::string id;
    std::string request_id;
    std::uint32_t kind = 0;
    std::string customer_pubkey;
    std::string status;
    std::int64_t received_at_ms = 0;
    std::int64_t attempts = 0;
    std::string relay_hint;
    std::vector<std::string> reply_relays;
    std::string request_json;
    // Its result, signed and recorded (record_pending_result) before a crash kept it from being
    // recorded completed: published again as it is, never generated again. Empty: none.
    std::string result_event_id;  // 64 hex
    std::string result_frame;     // ["EVENT",{...}]
    std::int64_t result_seq = 0;  // its pending_results row (0: none)
    // Set by reconcile for a job it failed: the reason its row says, which the customer hears.
    std::string failed_reason;
};

// A job the node died running this many times after restarts is not run again (a request that
// crashes the node would otherwise do so at every start within rerun_window_s): it fails with
// rerun_attempts_text. A job whose result was signed is still published again.
inline constexpr std::int64_t rerun_attempts_max = 3;
inline constexpr const char* rerun_attempts_text =
    "not run again: the node stopped before it finished 3 times after restarts";
static_assert(rerun_attempts_max == 3, "rerun_attempts_text and docs/provider.md say 3 times");

struct Reconciliation {
    // Young enough (or with a pending result, whatever its age): set back to pending, attempts + 1.
    std::vector<UnfinishedJob> rerun;
    std::vector<UnfinishedJob> failed;  // too old (or unknown request): marked failed
};

struct StoreCounts {
    std::uint64_t jobs_completed = 0;
    std::uint64_t earnings_msats = 0;
    std::uint64_t jobs_total = 0;
};

struct JobQuery {
    std::uint64_t limit = 10;
    std::string status;  // "" = any
};

enum class AcceptOutcome : std::uint8_t { accepted, duplicate };

// A host-mode agent's row (Pylon's agents table plus the supervision columns).
struct AgentRow {
    std::string npub;
    std::string name;
    std::string lifecycle_state;  // Pylon's: embryonic | active | dormant | terminated
    std::optional<std::int64_t> account_index;
    std::string supervisor_state;  // ours: starting | running | restarting | failed | ...
    std::optional<std::int64_t> pid;
    std::int64_t restarts = 0;
    std::string last_error;
    std::int64_t balance_sats = 0;
    std::int64_t tick_count = 0;
};

// What the supervisor records about an agent on each state change.
struct AgentSupervision {
    std::string lifecycle_state;   // Pylon's value derived from the state
    std::string supervisor_state;  // child_state_name()
    std::optional<std::int64_t> pid;
    std::int64_t restarts = 0;
    std::string last_error;
};

// "job_" + the first 16 characters of the request id (Pylon v0.1's job id).
std::string job_id_for_request(std::string_view request_id);

// Who holds the WAL write lock of the database at db_path now (SQLite's unix VFS takes it as a
// POSIX lock on byte wal_write_lock_byte of the -shm file; /proc/locks names the process):
// "pid N (name)", or "" when none does, it cannot be told, or the holder is `except`.
inline constexpr std::uint64_t wal_write_lock_byte = 120;
std::string wal_write_lock_holder(const std::string& db_path, pid_t except = 0);

class StoreDb {
  public:
    static Result<std::unique_ptr<StoreDb>> open(const StoreDbOptions& options);
    static Result<std::unique_ptr<StoreDb>> open_memory();
    // A second, read-only connection to a database another StoreDb of this process opened
    // (and so checked and migrated): no checks, a small page cache. The store thread's reads
    // while its own connection waits for another process's write lock.
    static Result<std::unique_ptr<StoreDb>> open_reader(const std::string& path,
                                                        std::int64_t busy_timeout_ms);
    StoreDb(const StoreDb&) = delete;
    StoreDb& operator=(const StoreDb&) = delete;
    ~StoreDb();

    bool read_only() const noexcept { return read_only_; }
    // While a statement waits for a lock another connection holds (up to busy_timeout_ms, in
    // steps of 1 to 100 ms as SQLite's own timeout does), each step calls wait(step_ms), which
    // must return after at most that long (and may do other work meanwhile: not on this
    // connection). Without one, the step is a sleep.
    void set_busy_wait(std::function<void(std::int64_t step_ms)> wait) {
        busy_wait_ = std::move(wait);
    }
    // Names of the applied migrations, in order.
    Result<std::vector<std::string>> applied_migrations();

    // Transactions (the store thread batches requests with these). begin() takes the write lock
    // at once (BEGIN IMMEDIATE); begin_read() takes none (a snapshot in WAL mode), so a batch of
    // reads proceeds while another process holds the write lock.
    Status begin();
    Status begin_read();
    // PRAGMA query_only: while on, a statement that would write fails (SQLITE_READONLY).
    Status set_query_only(bool on);
    Status commit();
    Status rollback();
    Status savepoint();
    Status release_savepoint();
    Status rollback_to_savepoint();
    bool in_transaction() const;

    // -- Requests and jobs --
    // A request is known by its id and its event's created_at (unix s; the event id covers it,
    // so a re-sent request has both the same). An accepted request is known by its job row
    // (accept_job); the others are remembered here (outcome: refused, ignored, ...). True if it
    // was new (neither a job row nor an earlier outcome).
    Result<bool> remember_request(std::string_view request_id, std::int64_t created_at,
                                  std::string_view outcome, std::int64_t at_ms);
    Result<bool> request_seen(std::string_view request_id, std::int64_t created_at);
    // Ids of the requests created at or after since_s, at most limit_max, newest first:
    // the accepted ones (job rows), then the others (to fill the intake's DedupCache at start;
    // ids carried over from before migration 008, whose created_at is unknown, count if seen at
    // or after since_s).
    Result<std::vector<std::string>> requests_created_since(std::int64_t since_s,
                                                            std::size_t limit_max);
    // Forgets the requests created before before_ms (and carried-over ids seen before it).
    Result<std::int64_t> prune_requests(std::int64_t before_ms);
    // Dedup check, request id and job row in one step: duplicate if the id was seen before.
    Result<AcceptOutcome> accept_job(const NewJob& job);
    Status insert_job(const NewJob& job);
    // Only a job still pending or processing (a late mark never undoes its final state).
    Status mark_processing(std::string_view job_id, std::int64_t at_ms, std::string_view model);
    Status record_metrics(std::string_view job_id, const JobMetrics& metrics);
    // A job's signed result, about to be published; returns its row's number, which the job's
    // final state (below) gets to delete the row in the same transaction. A job has at most one:
    // replaces_seq (the job's earlier row, 0: none) is deleted first.
    Result<std::int64_t> record_pending_result(std::string_view job_id,
                                               std::string_view result_event_id,
                                               std::string_view frame, std::int64_t at_ms,
                                               std::int64_t replaces_seq);
    Status complete_job(std::string_view job_id, const JobCompletion& completion);
    // pending_seq: the job's pending_results row, deleted with the final state (0: none).
    Status fail_job(std::string_view job_id, std::string_view reason, std::int64_t at_ms,
                    std::int64_t pending_seq = 0);
    Status cancel_job(std::string_view job_id, std::string_view reason, std::int64_t at_ms,
                      std::int64_t pending_seq = 0);
    Result<std::optional<proto::JobInfo>> get_job(std::string_view job_id);
    Result<std::vector<proto::JobInfo>> list_jobs(const JobQuery& query);
    Result<std::vector<UnfinishedJob>> unfinished_jobs();
    // Jobs received within rerun_window_ms of now go back to `pending` for another run; older
    // ones become `failed` with `reason`. A job with a pending result goes back whatever its age
    // (its result is published again, not generated again). A job already run again
    // rerun_attempts_max times becomes `failed` with rerun_attempts_text.
    // Only jobs received before received_before_ms are touched: a reconcile tried again after
    // the node's intake opened must leave the jobs of this run alone.
    Result<Reconciliation> reconcile(std::int64_t now_ms, std::int64_t rerun_window_ms,
                                     std::string_view reason,
                                     std::int64_t received_before_ms = INT64_MAX);

    // -- Money --
    // Records an earning; for source "job", at most one per job (false if one exists).
    Result<bool> record_earning(std::string_view job_id, std::int64_t amount_msats,
                                std::string_view source, std::string_view payment_hash,
                                std::int64_t at_ms);
    Status insert_invoice(std::string_view id, std::string_view job_id, std::string_view bolt11,
                          std::int64_t amount_msats, std::int64_t at_ms, std::int64_t expires_at);
    Status mark_invoice_paid(std::string_view id, std::int64_t paid_msats, std::int64_t at_ms);
    Result<proto::EarningsReport> earnings(std::uint64_t recent_limit);
    Result<StoreCounts> counts();

    // -- Node state --
    Result<std::optional<std::int64_t>> relay_cursor(std::string_view url);
    // The cursor as given: it may go back (RelayPool persists SubscriptionCursor::durable(),
    // which stays at or before requests held or deferred while intake is paused).
    Status set_relay_cursor(std::string_view url, std::int64_t last_event_at, std::int64_t at_ms);
    Result<std::optional<std::string>> state_value(std::string_view key);
    Status set_state_value(std::string_view key, std::string_view value, std::int64_t at_ms);

    // -- Host-mode agents (issue 7) --
    // Creates the row of a configured agent (`embryonic`) or renames it; never resets its
    // balance or tick count (Pylon v0.1's runner did).
    Status upsert_agent(std::string_view npub, std::string_view name, std::int64_t account_index,
                        std::int64_t at_ms);
    Status record_agent_supervision(std::string_view npub, const AgentSupervision& state,
                                    std::int64_t at_ms);
    Result<std::vector<AgentRow>> list_agents();

    // Runs SQL with no results (tests, maintenance).
    Status exec(std::string_view sql);
    // The SQL of each statement prepared so far whose program builds a temporary B-tree
    // (OpenEphemeral: an IN list, a CHECK constraint's list, a materialised subquery). The
    // per-job statements must build none: each costs a zeroed page and a B-tree (tests).
    Result<std::vector<std::string>> statements_with_temp_tables();

  private:
    StoreDb(sqlite3* db, bool read_only) : db_(db), read_only_(read_only) {}
    Status configure(std::int64_t busy_timeout_ms);
    static int on_busy(void* self, int count);
    Status migrate();
    Status check_schema(bool require_current);
    Result<sqlite3_stmt*> statement(std::string_view sql);
    Error sqlite_error(int rc, std::string_view context) const;
    Status control(std::string_view sql);
    Status set_final_status(std::string_view job_id, std::string_view status,
                            std::string_view reason, std::int64_t at_ms, std::int64_t pending_seq);
    Status forget_pending_result(std::int64_t seq);  // 0: nothing to forget
    Status check_carried_over_requests();
    // Is there a row for the request: its job row; its processed_requests row (also under -1
    // while migration 008's carried-over rows remain).
    Result<bool> has_job_row(std::string_view request_id);
    Result<bool> has_processed_row(std::string_view request_id, std::int64_t created_at);
    // Steps `sql`, a SELECT of one row or none, with its parameters bound by bind(Query&).
    template <typename Bind>
    Result<bool> row_exists(const char* sql, std::string_view context, Bind&& bind);

    sqlite3* db_;
    bool read_only_;
    std::int64_t busy_timeout_ms_ = 0;  // for the message of a lock held too long
    std::int64_t busy_since_ms_ = 0;    // the current lock wait's start (steady clock)
    std::function<void(std::int64_t)> busy_wait_;
    // processed_requests still holds rows carried over by migration 008 (created_at = -1): a
    // request must then also be looked up by id among them. Cleared once pruning removed them.
    bool carried_over_requests_ = false;
    std::unordered_map<std::string_view, sqlite3_stmt*> statements_;
};

}  // namespace pylon::engine
