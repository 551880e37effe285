#include "engine/migrations.hpp"

namespace pylon::engine {
namespace {

// Pylon v0.1 (crates/pylon/src/db/mod.rs): the schema is kept as it was, including the
// REFERENCES clauses that SQLite does not enforce without PRAGMA foreign_keys (Pylon never set
// it, and neither do we, so that Pylon's databases keep opening).
constexpr std::string_view k_001_initial_schema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    customer_pubkey TEXT NOT NULL,
    status TEXT NOT NULL CHECK(status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    price_msats INTEGER NOT NULL DEFAULT 0,
    input_hash TEXT,
    output_hash TEXT,
    error_message TEXT,
    started_at INTEGER NOT NULL,
    completed_at INTEGER,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX IF NOT EXISTS idx_jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS idx_jobs_customer ON jobs(customer_pubkey);
CREATE INDEX IF NOT EXISTS idx_jobs_created ON jobs(created_at);

CREATE TABLE IF NOT EXISTS earnings (
    id TEXT PRIMARY KEY,
    job_id TEXT REFERENCES jobs(id),
    amount_msats INTEGER NOT NULL,
    source TEXT NOT NULL CHECK(source IN ('job', 'tip', 'other')),
    payment_hash TEXT,
    preimage TEXT,
    earned_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX IF NOT EXISTS idx_earnings_job ON earnings(job_id);
CREATE INDEX IF NOT EXISTS idx_earnings_date ON earnings(earned_at);

CREATE TABLE IF NOT EXISTS agents (
    npub TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    lifecycle_state TEXT NOT NULL CHECK(lifecycle_state IN ('embryonic', 'active', 'dormant', 'terminated')),
    balance_sats INTEGER NOT NULL DEFAULT 0,
    tick_count INTEGER NOT NULL DEFAULT 0,
    last_tick_at INTEGER,
    memory_json TEXT,
    goals_json TEXT,
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    updated_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX IF NOT EXISTS idx_agents_state ON agents(lifecycle_state);

CREATE TABLE IF NOT EXISTS tick_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    agent_npub TEXT NOT NULL REFERENCES agents(npub),
    tick_number INTEGER NOT NULL,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    actions_json TEXT,
    cost_sats INTEGER,
    duration_ms INTEGER,
    created_at INTEGER NOT NULL DEFAULT (unixepoch())
);
CREATE INDEX IF NOT EXISTS idx_tick_history_agent ON tick_history(agent_npub);
CREATE INDEX IF NOT EXISTS idx_tick_history_date ON tick_history(created_at);
)sql";

constexpr std::string_view k_002_invoices = R"sql(
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs(id),
    bolt11 TEXT NOT NULL,
    amount_msats INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending', 'paid', 'expired', 'cancelled')),
    paid_amount_msats INTEGER,
    created_at INTEGER NOT NULL DEFAULT (unixepoch()),
    paid_at INTEGER
);
CREATE INDEX IF NOT EXISTS idx_invoices_job ON invoices(job_id);
CREATE INDEX IF NOT EXISTS idx_invoices_status ON invoices(status);
CREATE INDEX IF NOT EXISTS idx_invoices_created ON invoices(created_at);
)sql";

// Ours: what a job needs to be traced, re-run after a restart and measured. Timestamps in ms
// sit beside Pylon's second columns, which stay filled for Pylon's readers.
constexpr std::string_view k_003_job_details = R"sql(
ALTER TABLE jobs ADD COLUMN request_id TEXT;
ALTER TABLE jobs ADD COLUMN received_at_ms INTEGER;
ALTER TABLE jobs ADD COLUMN started_at_ms INTEGER;
ALTER TABLE jobs ADD COLUMN completed_at_ms INTEGER;
ALTER TABLE jobs ADD COLUMN bid_msats INTEGER;
ALTER TABLE jobs ADD COLUMN relay_hint TEXT;
ALTER TABLE jobs ADD COLUMN reply_relays TEXT;
ALTER TABLE jobs ADD COLUMN request_json TEXT;
ALTER TABLE jobs ADD COLUMN encrypted INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN backend TEXT;
ALTER TABLE jobs ADD COLUMN model TEXT;
ALTER TABLE jobs ADD COLUMN prompt_tokens INTEGER;
ALTER TABLE jobs ADD COLUMN completion_tokens INTEGER;
ALTER TABLE jobs ADD COLUMN queue_ms INTEGER;
ALTER TABLE jobs ADD COLUMN first_token_ms INTEGER;
ALTER TABLE jobs ADD COLUMN total_ms INTEGER;
ALTER TABLE jobs ADD COLUMN result_event_id TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS idx_jobs_request_id ON jobs(request_id)
    WHERE request_id IS NOT NULL;
ALTER TABLE earnings ADD COLUMN earned_at_ms INTEGER;
ALTER TABLE invoices ADD COLUMN created_at_ms INTEGER;
ALTER TABLE invoices ADD COLUMN paid_at_ms INTEGER;
ALTER TABLE invoices ADD COLUMN expires_at INTEGER;
)sql";

// Every request id the node has handled (accepted or refused), so the same request from three
// relays, or after a restart, runs once. Pruned by age.
constexpr std::string_view k_004_processed_requests = R"sql(
CREATE TABLE IF NOT EXISTS processed_requests (
    request_id TEXT PRIMARY KEY,
    outcome TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS idx_processed_requests_seen ON processed_requests(seen_at_ms);
)sql";

// Per-relay subscription cursors (`since` after a restart) and small named node values (e.g.
// when the NIP-89 announcement was last published).
constexpr std::string_view k_005_node_state = R"sql(
CREATE TABLE IF NOT EXISTS relay_cursors (
    url TEXT PRIMARY KEY,
    last_event_at INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS node_state (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
)sql";

// Host-mode agents under the supervisor (issue 7): which NIP-06 account each agent row is, and
// the supervisor's view of its process beside Pylon's lifecycle_state.
constexpr std::string_view k_006_agent_supervision = R"sql(
ALTER TABLE agents ADD COLUMN account_index INTEGER;
ALTER TABLE agents ADD COLUMN supervisor_state TEXT;
ALTER TABLE agents ADD COLUMN pid INTEGER;
ALTER TABLE agents ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN last_error TEXT;
ALTER TABLE agents ADD COLUMN updated_at_ms INTEGER;
)sql";

// The unique index on jobs.request_id duplicated what processed_requests already guarantees
// (a request id is remembered, in the same transaction, before its job row is written; the job
// id is derived from it) and nothing looks jobs up by request id. Its 64-hex keys land on random
// pages, so every accepted job dirtied one more page of a fat B-tree: dropping it cut the
// store's page writes per job by ~40% and its CPU by ~35% (bench/README.md "store").
constexpr std::string_view k_007_drop_request_id_index = R"sql(
DROP INDEX IF EXISTS idx_jobs_request_id;
)sql";

// processed_requests keyed so that new rows land at the right edge of its B-tree: by the
// request event's created_at (part of its signed id, so a re-sent request has the same key), then
// its id. Keyed by the random id alone, every remembered request dirtied a page of its own
// (~1 WAL frame per job), and the seen_at_ms index was one more B-tree; pruning now goes by
// created_at. Rows from before have no created_at: they are carried over with created_at = -1
// ("unknown"), looked up by id among those, and pruned by seen_at_ms as before
// (StoreDb::remember_request, docs/storage.md).
constexpr std::string_view k_008_processed_requests_by_created_at = R"sql(
CREATE TABLE processed_requests_008 (
    created_at INTEGER NOT NULL,
    request_id TEXT NOT NULL,
    outcome TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL,
    PRIMARY KEY (created_at, request_id)
) WITHOUT ROWID;
INSERT INTO processed_requests_008 (created_at, request_id, outcome, seen_at_ms)
    SELECT -1, request_id, outcome, seen_at_ms FROM processed_requests;
DROP TABLE processed_requests;
ALTER TABLE processed_requests_008 RENAME TO processed_requests;
)sql";

// A job's signed result, recorded before it is published and deleted with the job's final row
// (complete_job, fail_job, cancel_job): after a crash between the two, the job is not run again
// (that would give the customer a second, different result); the same event is published again
// (Intake::rerun, JobRunner::resend_result; docs/provider.md "a job is never run twice").
constexpr std::string_view k_009_pending_results = R"sql(
CREATE TABLE IF NOT EXISTS pending_results (
    job_id TEXT PRIMARY KEY,
    result_event_id TEXT NOT NULL,
    frame TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// pending_results again, keyed by a sequence number (the rowid) instead of the job id: a row is
// written when a result is signed and deleted when the job ends, so with the random job id as its
// key every job's row landed on, and was deleted from, a random page of the table (two page
// writes per job in the WAL), and in a WITHOUT ROWID table a frame over ~1 KB spilled into an
// overflow page allocated and freed per job. Keyed by the sequence, rows are added at the table's
// right edge and deleted near its left one, and a frame up to ~4 KB stays in its row. The job
// remembers its row's number (JobRunner), so nothing looks a row up by job id on the job's path:
// job_id has no index (the start-up query that reads the few rows left joins them by it).
constexpr std::string_view k_010_pending_results_by_seq = R"sql(
CREATE TABLE pending_results_010 (
    seq INTEGER PRIMARY KEY,
    job_id TEXT NOT NULL,
    result_event_id TEXT NOT NULL,
    frame TEXT NOT NULL,
    recorded_at_ms INTEGER NOT NULL
);
INSERT INTO pending_results_010 (job_id, result_event_id, frame, recorded_at_ms)
    SELECT job_id, result_event_id, frame, recorded_at_ms FROM pending_results
    ORDER BY recorded_at_ms;
DROP TABLE pending_results;
ALTER TABLE pending_results_010 RENAME TO pending_results;
)sql";

constexpr Migration k_migrations[] = {
    {"001_initial_schema", k_001_initial_schema},
    {"002_invoices", k_002_invoices},
    {"003_job_details", k_003_job_details},
    {"004_processed_requests", k_004_processed_requests},
    {"005_node_state", k_005_node_state},
    {"006_agent_supervision", k_006_agent_supervision},
    {"007_drop_request_id_index", k_007_drop_request_id_index},
    {"008_processed_requests_by_created_at", k_008_processed_requests_by_created_at},
    {"009_pending_results", k_009_pending_results},
    {"010_pending_results_by_seq", k_010_pending_results_by_seq},
};

}  // namespace

const std::string_view migrations_table_sql = R"sql(
CREATE TABLE IF NOT EXISTS migrations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    applied_at INTEGER NOT NULL DEFAULT (unixepoch())
)
)sql";

std::span<const Migration> migrations() {
    return k_migrations;
}

}  // namespace pylon::engine
