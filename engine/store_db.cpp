#include "engine/store_db.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <iterator>
#include <span>
#include <string_view>
#include <thread>

#include "engine/migrations.hpp"
#include "engine/proc_fs.hpp"
#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "proto/random_source.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {
namespace {

constexpr std::int64_t journal_size_limit_bytes = 64 * 1024 * 1024;
// Pages appended to the WAL before SQLite copies them back into pylon.db (its default is
// 1,000). A job dirties a handful of random index pages; between two checkpoints many commits
// dirty the same pages again, and a checkpoint copies each page once, so a longer interval
// copies fewer pages per job (store CPU per job -20% at 8,000: bench/README.md "store"). The
// WAL then peaks near 32 MB (still under journal_size_limit_bytes).
constexpr int wal_autocheckpoint_pages = 8000;
constexpr std::size_t reply_relays_json_bytes_max = 16 * 1024;

// Binds parameters in order, steps, reads columns; resets the statement when done. Bound text
// must outlive the Query (SQLITE_STATIC: no copy).
class Query {
  public:
    explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
    Query(const Query&) = delete;
    Query& operator=(const Query&) = delete;
    ~Query() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    Query& text(std::string_view v) {
        sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()),
                          static_cast<sqlite3_destructor_type>(nullptr));
        return *this;
    }
    Query& text_or_null(std::string_view v) {
        if (v.empty()) {
            sqlite3_bind_null(stmt_, ++index_);
            return *this;
        }
        return text(v);
    }
    Query& int64(std::int64_t v) {
        sqlite3_bind_int64(stmt_, ++index_, v);
        return *this;
    }
    Query& opt(const std::optional<std::int64_t>& v) {
        if (v) {
            return int64(*v);
        }
        sqlite3_bind_null(stmt_, ++index_);
        return *this;
    }
    int step() { return sqlite3_step(stmt_); }

    std::int64_t col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
    bool col_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
    std::optional<std::int64_t> col_opt(int i) const {
        if (col_null(i)) {
            return std::nullopt;
        }
        return col_int(i);
    }
    std::string col_text(int i) const {
        const unsigned char* p = sqlite3_column_text(stmt_, i);
        if (p == nullptr) {
            return {};
        }
        return std::string(reinterpret_cast<const char*>(p),
                           static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)));
    }

  private:
    sqlite3_stmt* stmt_;
    int index_ = 0;
};

// The metric columns of a job row (JobMetrics), each kept when the new value is NULL; bound by
// bind_metrics in the same order.
#define METRICS_SET                                                                          \
    "backend = coalesce(?, backend), model = coalesce(?, model), "                           \
    "prompt_tokens = coalesce(?, prompt_tokens), "                                           \
    "completion_tokens = coalesce(?, completion_tokens), queue_ms = coalesce(?, queue_ms), " \
    "first_token_ms = coalesce(?, first_token_ms), total_ms = coalesce(?, total_ms), "       \
    "started_at_ms = coalesce(?, started_at_ms)"

Query& bind_metrics(Query& q, const JobMetrics& m) {
    return q.text_or_null(m.backend)
        .text_or_null(m.model)
        .opt(m.prompt_tokens)
        .opt(m.completion_tokens)
        .opt(m.queue_ms)
        .opt(m.first_token_ms)
        .opt(m.total_ms)
        .opt(m.started_at_ms);
}

Errc errc_of(int rc) {
    switch (rc & 0xff) {
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return Errc::corrupt;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
            return Errc::busy;
        case SQLITE_CONSTRAINT:
            return Errc::exists;
        case SQLITE_CANTOPEN:
            // Not "no such row": the file (or its -wal, -shm, a temporary file) could not be
            // opened, often for a passing reason (no file descriptor left). Callers that treat
            // not_found as final (a job's last write) must try it again. A missing database is
            // found before SQLite is asked (StoreDb::open).
            return Errc::io;
        case SQLITE_READONLY:
        case SQLITE_PERM:
        case SQLITE_AUTH:
            return Errc::permission;
        case SQLITE_FULL:
        case SQLITE_IOERR:
            return Errc::io;
        default:
            return Errc::internal;
    }
}

// True if the file at `path` starts with SQLite's header (or is empty: a fresh file).
Result<bool> looks_like_sqlite(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno, "open " + path);
    }
    std::array<char, 16> header{};
    ssize_t n = ::read(fd, header.data(), header.size());
    int err = errno;
    ::close(fd);
    if (n < 0) {
        return Error::from_errno(err, "read " + path);
    }
    if (n == 0) {
        return true;
    }
    return n == 16 && std::memcmp(header.data(), "SQLite format 3", 16) == 0;
}

bool file_exists(const std::string& path) {
    return ::access(path.c_str(), F_OK) == 0;
}

std::string relays_to_json(const std::vector<std::string>& relays) {
    std::string out;
    proto::JsonWriter w(out);
    w.begin_array();
    for (const std::string& r : relays) {
        w.string(r);
    }
    w.end_array();
    return out;
}

std::vector<std::string> relays_from_json(const std::string& json) {
    std::vector<std::string> out;
    if (json.empty() || json.size() > reply_relays_json_bytes_max) {
        return out;
    }
    proto::JsonReader reader;
    simdjson::dom::element root;
    simdjson::dom::array arr;
    if (reader.parse(json, root) != proto::Reject::none ||
        proto::json_array(root, arr) != proto::Reject::none) {
        return out;
    }
    for (simdjson::dom::element e : arr) {
        std::string_view s;
        if (proto::json_string(e, 4096, s) == proto::Reject::none) {
            out.emplace_back(s);
        }
    }
    return out;
}

std::string new_earning_id() {
    std::array<std::uint8_t, 16> b{};
    proto::csprng().fill(b);
    b[6] = static_cast<std::uint8_t>((b[6] & 0x0f) | 0x40);  // uuid v4
    b[8] = static_cast<std::uint8_t>((b[8] & 0x3f) | 0x80);
    static const char* hex = "0123456789abcdef";
    std::string out = "earn-";
    for (std::size_t i = 0; i < b.size(); i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) {
            out += '-';
        }
        out += hex[b[i] >> 4];
        out += hex[b[i] & 15];
    }
    return out;
}

constexpr const char* k_job_columns =
    "id, request_id, kind, customer_pubkey, status, price_msats, error_message, created_at, "
    "started_at, completed_at, backend, model, prompt_tokens, completion_tokens, queue_ms, "
    "first_token_ms, total_ms";

// The values the schema's CHECK constraints allow (migrations.cpp, 001 and 002). The store's own
// connection does not evaluate CHECK constraints (see configure()), so each writer of these
// columns checks its value here first, and a bad one fails the same way the constraint would.
constexpr std::string_view k_job_statuses[] = {"pending", "processing", "completed", "failed",
                                               "cancelled"};
constexpr std::string_view k_earning_sources[] = {"job", "tip", "other"};
constexpr std::string_view k_agent_lifecycles[] = {"embryonic", "active", "dormant", "terminated"};

Status check_allowed(std::string_view column, std::string_view value,
                     std::span<const std::string_view> allowed) {
    for (std::string_view a : allowed) {
        if (a == value) {
            return Ok{};
        }
    }
    return Error(Errc::invalid_input, "sqlite: CHECK constraint failed: " + std::string(column) +
                                          " '" + std::string(value) +
                                          "' is not one of the values the schema allows");
}

// The statements of a request's record: its processed_requests row (refused, ignored, ... and
// before migration 008's version, accepted) and its job row once accepted (jobs.id is made of
// the request id, which jobs.request_id holds). Both look up one exact key: "created_at IN (?, -1)"
// made SQLite build a temporary B-tree of the two values every time it ran (a zeroed page
// each), so a row carried over by migration 008 (created_at = -1) is looked up separately.
constexpr const char* k_request_processed_sql =
    "SELECT 1 FROM processed_requests WHERE created_at = ? AND request_id = ?";
constexpr const char* k_job_of_request_sql = "SELECT 1 FROM jobs WHERE id = ? AND request_id = ?";
constexpr const char* k_insert_job_sql =
    "INSERT INTO jobs (id, kind, customer_pubkey, status, price_msats, started_at, created_at, "
    "request_id, received_at_ms, bid_msats, relay_hint, reply_relays, request_json, encrypted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
constexpr const char* k_insert_new_job_sql =
    "INSERT INTO jobs (id, kind, customer_pubkey, status, price_msats, started_at, created_at, "
    "request_id, received_at_ms, bid_msats, relay_hint, reply_relays, request_json, encrypted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING";

// Steps k_insert_job_sql or k_insert_new_job_sql for the job.
int step_insert_job(sqlite3_stmt* stmt, const NewJob& job) {
    std::string relays = relays_to_json(job.reply_relays);
    Query q(stmt);
    q.text(job.id)
        .int64(job.kind)
        .text(job.customer_pubkey)
        .text(job.status)
        .int64(job.price_msats)
        .int64(job.received_at_ms / 1000)
        .int64(job.received_at_ms / 1000)
        .text_or_null(job.request_id)
        .int64(job.received_at_ms)
        .opt(job.bid_msats)
        .text_or_null(job.relay_hint)
        .text(relays)
        .text_or_null(job.request_json)
        .int64(job.encrypted ? 1 : 0);
    return q.step();
}

proto::JobInfo read_job_row(const Query& q) {
    proto::JobInfo j;
    j.id = q.col_text(0);
    j.request_id = q.col_text(1);
    j.kind = static_cast<std::uint32_t>(q.col_int(2));
    j.customer_pubkey = q.col_text(3);
    j.status = q.col_text(4);
    j.price_msats = q.col_int(5);
    j.error_message = q.col_text(6);
    j.created_at = q.col_int(7);
    j.started_at = q.col_opt(8);
    j.completed_at = q.col_opt(9);
    j.backend = q.col_text(10);
    j.model = q.col_text(11);
    j.prompt_tokens = q.col_opt(12);
    j.completion_tokens = q.col_opt(13);
    j.queue_ms = q.col_opt(14);
    j.first_token_ms = q.col_opt(15);
    j.total_ms = q.col_opt(16);
    return j;
}

}  // namespace

std::string wal_write_lock_holder(const std::string& db_path, pid_t except) {
    ProcFs proc;
    std::optional<pid_t> pid = proc.write_lock_holder(db_path + "-shm", wal_write_lock_byte);
    if (!pid || *pid == except) {
        return "";
    }
    auto st = proc.stat(*pid);
    return "pid " + std::to_string(*pid) + (st.ok() ? " (" + st->comm + ")" : "");
}

std::string job_id_for_request(std::string_view request_id) {
    return "job_" + std::string(request_id.substr(0, 16));
}

Result<std::unique_ptr<StoreDb>> StoreDb::open_memory() {
    return open(StoreDbOptions{":memory:", false, 0});
}

Result<std::unique_ptr<StoreDb>> StoreDb::open(const StoreDbOptions& options) {
    const std::string& path = options.path;
    bool memory = path == ":memory:";
    bool exists = !memory && file_exists(path);
    int access_errno = exists ? 0 : errno;
    if (!memory && !exists && options.read_only) {
        // Only a missing file is not_found (an empty history); EACCES on the home is not.
        return access_errno == ENOENT ? Error(Errc::not_found, path + " does not exist")
                                      : Error::from_errno(access_errno, "access " + path);
    }
    if (exists) {
        auto header = looks_like_sqlite(path);
        if (!header.ok()) {
            return std::move(header).error();
        }
        if (!header.value()) {
            return Error(Errc::corrupt, path +
                                            " is not a SQLite database; refusing to use it "
                                            "(the file was left untouched)");
        }
        // Check it through a read-only connection first: nothing is written to a database we
        // then refuse.
        sqlite3* probe = nullptr;
        int rc = sqlite3_open_v2(path.c_str(), &probe, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
        std::unique_ptr<StoreDb> check(new StoreDb(probe, true));
        if (rc != SQLITE_OK) {
            return check->sqlite_error(rc, "open " + path);
        }
        PYLON_TRY(check->configure(options.busy_timeout_ms));
        PYLON_TRY(check->check_schema(options.read_only));
        if (options.read_only) {
            return check;
        }
    }
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    std::unique_ptr<StoreDb> store(new StoreDb(db, false));
    if (rc != SQLITE_OK) {
        return store->sqlite_error(rc, "open " + path);
    }
    // SQLite falls back to read-only when the file cannot be written (its mode, its owner, a
    // read-only mount) and says so only at the first write: the node then ran, refusing every
    // request after its retries. Refused here, naming the files to check (the -wal and -shm
    // files beside it are created with the database's mode, so a 0444 pylon.db leaves a 0444
    // pylon.db-shm behind).
    if (sqlite3_db_readonly(db, "main") == 1) {
        return Error(Errc::permission,
                     "open " + path +
                         ": the database can only be read (check that it, its -wal and -shm "
                         "files and their folder are writable by this user)");
    }
    Status configured = store->configure(options.busy_timeout_ms);
    if (!configured.ok() && configured.error().code() == Errc::permission) {
        return Error(Errc::permission,
                     "open " + path + ": " + configured.error().message() +
                         " (check that it, its -wal and -shm files and their folder are "
                         "writable by this user)");
    }
    PYLON_TRY(configured);
    PYLON_TRY(store->migrate());
    PYLON_TRY(store->check_carried_over_requests());
    return store;
}

StoreDb::~StoreDb() {
    for (auto& [sql, stmt] : statements_) {
        sqlite3_finalize(stmt);
    }
    if (db_ != nullptr) {
        if (!read_only_) {
            sqlite3_exec(db_, "PRAGMA optimize", nullptr, nullptr, nullptr);
        }
        sqlite3_close_v2(db_);
    }
}

Error StoreDb::sqlite_error(int rc, std::string_view context) const {
    std::string msg(context);
    msg += ": ";
    msg += db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if ((rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB) {
        msg += " (the database is damaged; it was left untouched: move it aside to start afresh)";
    } else if (rc == SQLITE_BUSY || rc == SQLITE_BUSY_TIMEOUT) {
        // A lock wait that ran out (not SQLITE_BUSY_SNAPSHOT or _RECOVERY, which never wait).
        const char* file = db_ != nullptr ? sqlite3_db_filename(db_, "main") : nullptr;
        std::string holder = file != nullptr && *file != '\0' ? wal_write_lock_holder(file) : "";
        msg += " (another process held the database's write lock for " +
               std::to_string(busy_timeout_ms_) + " ms: [store] busy_timeout_ms" +
               (holder.empty() ? "" : "; it is held by " + holder) + ")";
    }
    return Error(errc_of(rc), std::move(msg));
}

Status StoreDb::exec(std::string_view sql) {
    std::string text(sql);
    char* err = nullptr;
    int rc = sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
        std::string msg = err != nullptr ? err : sqlite3_errstr(rc);
        sqlite3_free(err);
        return Error(errc_of(rc), "sqlite: " + msg);
    }
    return Ok{};
}

Result<std::unique_ptr<StoreDb>> StoreDb::open_reader(const std::string& path,
                                                      std::int64_t busy_timeout_ms) {
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    std::unique_ptr<StoreDb> reader(new StoreDb(db, true));
    if (rc != SQLITE_OK) {
        return reader->sqlite_error(rc, "open " + path + " for reading");
    }
    PYLON_TRY(reader->configure(busy_timeout_ms));
    PYLON_TRY(reader->exec("PRAGMA cache_size=-256"));  // KiB: it lives for one lock wait
    PYLON_TRY(reader->check_carried_over_requests());   // requests_created_since needs it
    return reader;
}

// SQLite's own busy timeout, stepped the same way (1, 2, 5, ... 100 ms), with each step handed
// to busy_wait_ when there is one.
int StoreDb::on_busy(void* self, int count) {
    static constexpr std::int64_t steps_ms[] = {1, 2, 5, 10, 15, 20, 25, 25, 25, 50, 50, 100};
    auto* db = static_cast<StoreDb*>(self);
    std::int64_t now = reactor::monotonic_ms();
    if (count == 0) {
        db->busy_since_ms_ = now;
    }
    std::int64_t left = db->busy_timeout_ms_ - (now - db->busy_since_ms_);
    if (left <= 0) {
        return 0;
    }
    constexpr auto last = std::size(steps_ms) - 1;
    std::int64_t step = std::min(left, steps_ms[std::min(static_cast<std::size_t>(count), last)]);
    if (db->busy_wait_) {
        db->busy_wait_(step);
    } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(step));
    }
    return 1;
}

Status StoreDb::configure(std::int64_t busy_timeout_ms) {
    busy_timeout_ms_ = busy_timeout_ms;
    if (busy_timeout_ms > 0) {
        sqlite3_busy_handler(db_, &StoreDb::on_busy, this);
    } else {
        sqlite3_busy_timeout(db_, 0);  // no handler: a held lock fails at once
    }
    sqlite3_extended_result_codes(db_, 1);
    if (read_only_) {
        return Ok{};
    }
    PYLON_TRY(exec("PRAGMA journal_mode=WAL"));
    PYLON_TRY(exec("PRAGMA synchronous=NORMAL"));
    // The schema's CHECK constraints are "column IN (three to five words)", and SQLite 3.40
    // evaluates such a list by building a temporary B-tree of its words (a zeroed page) in
    // every INSERT, and every UPDATE that sets the column: two per job, about a third of the
    // store thread's instructions per job (callgrind, bench/README.md "store"). The writers
    // check those values in C++ instead (check_allowed), so the schema stays Pylon's and a bad
    // value still fails.
    PYLON_TRY(exec("PRAGMA ignore_check_constraints=ON"));
    PYLON_TRY(exec("PRAGMA wal_autocheckpoint=" + std::to_string(wal_autocheckpoint_pages)));
    return exec("PRAGMA journal_size_limit=" + std::to_string(journal_size_limit_bytes));
}

Status StoreDb::check_schema(bool require_current) {
    auto q = statement("PRAGMA quick_check");
    if (!q.ok()) {
        return std::move(q).error();
    }
    {
        Query check(q.value());
        int rc = check.step();
        if (rc != SQLITE_ROW) {
            return sqlite_error(rc, "check database");
        }
        std::string verdict = check.col_text(0);
        if (verdict != "ok") {
            return Error(Errc::corrupt, "the database is damaged (" + verdict +
                                            "); it was left untouched: move it aside to "
                                            "start afresh");
        }
    }
    auto has_table = statement(
        "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migrations'");
    if (!has_table.ok()) {
        return std::move(has_table).error();
    }
    Query t(has_table.value());
    if (t.step() != SQLITE_ROW || t.col_int(0) == 0) {
        return require_current ? Error(Errc::not_found, "the database has no schema yet")
                               : Status(Ok{});
    }
    auto applied = applied_migrations();
    if (!applied.ok()) {
        return std::move(applied).error();
    }
    for (const std::string& name : applied.value()) {
        bool known = false;
        for (const Migration& m : migrations()) {
            known = known || m.name == name;
        }
        if (!known) {
            return Error(Errc::corrupt, "the database was written by a newer Pylon (migration '" +
                                            name +
                                            "' is unknown to this version); refusing to open "
                                            "it (left untouched)");
        }
    }
    if (require_current && applied->size() < migrations().size()) {
        return Error(Errc::unsupported,
                     "the database schema is older than this Pylon; run `pylon start` once to "
                     "upgrade it");
    }
    return Ok{};
}

Result<std::vector<std::string>> StoreDb::applied_migrations() {
    auto q = statement("SELECT name FROM migrations ORDER BY id");
    if (!q.ok()) {
        return std::move(q).error();
    }
    Query rows(q.value());
    std::vector<std::string> names;
    int rc = SQLITE_ROW;
    while ((rc = rows.step()) == SQLITE_ROW) {
        names.push_back(rows.col_text(0));
    }
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "read migrations");
    }
    return names;
}

Status StoreDb::migrate() {
    PYLON_TRY(check_schema(false));
    PYLON_TRY(exec(migrations_table_sql));
    auto applied = applied_migrations();
    if (!applied.ok()) {
        return std::move(applied).error();
    }
    for (const Migration& m : migrations()) {
        bool done = false;
        for (const std::string& name : applied.value()) {
            done = done || name == m.name;
        }
        if (done) {
            continue;
        }
        PYLON_TRY(exec("BEGIN IMMEDIATE"));
        Status st = exec(m.sql);
        if (st.ok()) {
            st = exec("INSERT INTO migrations (name) VALUES ('" + std::string(m.name) + "')");
        }
        if (!st.ok()) {
            (void)exec("ROLLBACK");
            return Error(st.error().code(),
                         "migration " + std::string(m.name) + ": " + st.error().message());
        }
        PYLON_TRY(exec("COMMIT"));
        LOG_INFO("database: applied migration %.*s", static_cast<int>(m.name.size()),
                 m.name.data());
    }
    return Ok{};
}

Result<sqlite3_stmt*> StoreDb::statement(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) {
        return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return sqlite_error(rc, "prepare");
    }
    statements_.emplace(sql, stmt);
    return stmt;
}

Result<std::vector<std::string>> StoreDb::statements_with_temp_tables() {
    std::vector<std::string> found_sql;
    for (const auto& [sql, cached] : statements_) {
        std::string text = "EXPLAIN " + std::string(sql);
        sqlite3_stmt* stmt = nullptr;
        int rc =
            sqlite3_prepare_v2(db_, text.c_str(), static_cast<int>(text.size()), &stmt, nullptr);
        if (rc != SQLITE_OK) {
            return sqlite_error(rc, "explain");
        }
        bool temp = false;
        while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
            const auto* op = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
            temp = temp || (op != nullptr && std::string_view(op) == "OpenEphemeral");
        }
        sqlite3_finalize(stmt);
        if (rc != SQLITE_DONE) {
            return sqlite_error(rc, "explain");
        }
        if (temp) {
            found_sql.emplace_back(sql);
        }
    }
    return found_sql;
}

// Transaction control through cached prepared statements: sqlite3_exec would parse the text
// again on every call, and the store thread makes these calls for every batch.
Status StoreDb::control(std::string_view sql) {
    auto stmt = statement(sql);
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    int rc = q.step();
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, sql);
    }
    return Ok{};
}

Status StoreDb::begin() {
    return control("BEGIN IMMEDIATE");
}
Status StoreDb::begin_read() {
    return control("BEGIN DEFERRED");
}
Status StoreDb::set_query_only(bool on) {
    return control(on ? "PRAGMA query_only=1" : "PRAGMA query_only=0");
}
Status StoreDb::commit() {
    return control("COMMIT");
}
Status StoreDb::rollback() {
    return control("ROLLBACK");
}
Status StoreDb::savepoint() {
    return control("SAVEPOINT request");
}
Status StoreDb::release_savepoint() {
    return control("RELEASE request");
}
Status StoreDb::rollback_to_savepoint() {
    PYLON_TRY(control("ROLLBACK TO request"));
    return control("RELEASE request");
}
bool StoreDb::in_transaction() const {
    return sqlite3_get_autocommit(db_) == 0;
}

// Runs a statement that returns no rows with the bindings done by `bind`.
#define PYLON_STORE_RUN(sql, context, bind_expr)       \
    do {                                               \
        auto stmt_ = statement(sql);                   \
        if (!stmt_.ok()) {                             \
            return std::move(stmt_).error();           \
        }                                              \
        Query q(stmt_.value());                        \
        bind_expr;                                     \
        int rc_ = q.step();                            \
        if (rc_ != SQLITE_DONE && rc_ != SQLITE_ROW) { \
            return sqlite_error(rc_, context);         \
        }                                              \
    } while (0)

// A request is known by its job row once accepted, else by its processed_requests row, keyed
// (created_at, request_id): requests arrive in about created_at order, so a new row lands near
// the right edge of the B-tree. Rows carried over by migration 008 have created_at = -1 and are
// looked up by id among those while any are left.
Result<bool> StoreDb::remember_request(std::string_view request_id, std::int64_t created_at,
                                       std::string_view outcome, std::int64_t at_ms) {
    // The exact key itself is INSERT OR IGNORE's to find.
    auto known = has_job_row(request_id);
    if (known.ok() && !known.value() && carried_over_requests_) {
        known = has_processed_row(request_id, -1);
    }
    if (!known.ok()) {
        return known;
    }
    if (known.value()) {
        return false;
    }
    PYLON_STORE_RUN(
        "INSERT OR IGNORE INTO processed_requests (created_at, request_id, outcome, seen_at_ms) "
        "VALUES (?, ?, ?, ?)",
        "remember request", q.int64(created_at).text(request_id).text(outcome).int64(at_ms));
    return sqlite3_changes(db_) == 1;
}

Result<bool> StoreDb::request_seen(std::string_view request_id, std::int64_t created_at) {
    auto known = has_processed_row(request_id, created_at);
    if (known.ok() && !known.value()) {
        known = has_job_row(request_id);
    }
    return known;
}

template <typename Bind>
Result<bool> StoreDb::row_exists(const char* sql, std::string_view context, Bind&& bind) {
    auto stmt = statement(sql);
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    bind(q);
    int rc = q.step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
        return sqlite_error(rc, context);
    }
    return rc == SQLITE_ROW;
}

Result<bool> StoreDb::has_job_row(std::string_view request_id) {
    std::string job_id = job_id_for_request(request_id);
    return row_exists(k_job_of_request_sql, "request seen",
                      [&](Query& q) { q.text(job_id).text(request_id); });
}

// Its row under created_at, or (while migration 008's carried-over rows remain) under -1.
Result<bool> StoreDb::has_processed_row(std::string_view request_id, std::int64_t created_at) {
    auto under = [&](std::int64_t key) {
        return row_exists(k_request_processed_sql, "request seen",
                          [&](Query& q) { q.int64(key).text(request_id); });
    };
    auto known = under(created_at);
    if (known.ok() && !known.value() && carried_over_requests_ && created_at != -1) {
        known = under(-1);
    }
    return known;
}

Result<std::vector<std::string>> StoreDb::requests_created_since(std::int64_t since_s,
                                                                 std::size_t limit_max) {
    std::vector<std::string> ids;
    // The accepted ones (jobs received since then: a request created before since_s is stale
    // anyway), the others newest first, then the carried-over ids seen since then.
    const char* sql[] = {
        "SELECT request_id FROM jobs WHERE created_at >= ? AND request_id IS NOT NULL "
        "ORDER BY created_at DESC LIMIT ?",
        "SELECT request_id FROM processed_requests WHERE created_at >= ? "
        "ORDER BY created_at DESC LIMIT ?",
        "SELECT request_id FROM processed_requests WHERE created_at = -1 AND seen_at_ms >= ? "
        "* 1000 ORDER BY seen_at_ms DESC LIMIT ?"};
    for (const char* text : sql) {
        auto stmt = statement(text);
        if (!stmt.ok()) {
            return std::move(stmt).error();
        }
        Query q(stmt.value());
        q.int64(since_s).int64(static_cast<std::int64_t>(limit_max - ids.size()));
        int rc = SQLITE_ROW;
        while ((rc = q.step()) == SQLITE_ROW) {
            ids.push_back(q.col_text(0));
        }
        if (rc != SQLITE_DONE) {
            return sqlite_error(rc, "requests seen");
        }
        if (ids.size() >= limit_max || (text == sql[1] && !carried_over_requests_)) {
            break;
        }
    }
    return ids;
}

Result<std::int64_t> StoreDb::prune_requests(std::int64_t before_ms) {
    PYLON_STORE_RUN("DELETE FROM processed_requests WHERE created_at >= 0 AND created_at < ?",
                    "prune requests", q.int64(before_ms / 1000));
    auto pruned = static_cast<std::int64_t>(sqlite3_changes(db_));
    if (carried_over_requests_) {
        PYLON_STORE_RUN("DELETE FROM processed_requests WHERE created_at = -1 AND seen_at_ms < ?",
                        "prune carried-over requests", q.int64(before_ms));
        pruned += static_cast<std::int64_t>(sqlite3_changes(db_));
        PYLON_TRY(check_carried_over_requests());
    }
    return pruned;
}

Status StoreDb::check_carried_over_requests() {
    auto stmt = statement("SELECT EXISTS (SELECT 1 FROM processed_requests WHERE created_at = -1)");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    int rc = q.step();
    if (rc != SQLITE_ROW) {
        return sqlite_error(rc, "carried-over requests");
    }
    carried_over_requests_ = q.col_int(0) != 0;
    return Ok{};
}

Status StoreDb::insert_job(const NewJob& job) {
    PYLON_TRY(check_allowed("jobs.status", job.status, k_job_statuses));
    auto stmt = statement(k_insert_job_sql);
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    int rc = step_insert_job(stmt.value(), job);
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "insert job " + job.id);
    }
    return Ok{};
}

// A new job row unless the request was refused before (processed_requests) or its job row
// exists: the job row alone records an accepted request (one B-tree insert less per job than a
// processed_requests row beside it). A job row of another request with the same job id (Pylon's
// 16 characters) also makes a duplicate.
Result<AcceptOutcome> StoreDb::accept_job(const NewJob& job) {
    PYLON_TRY(check_allowed("jobs.status", job.status, k_job_statuses));
    bool own_tx = !in_transaction();
    if (own_tx) {
        PYLON_TRY(begin());
    }
    std::int64_t created_at =
        job.request_created_at != 0 ? job.request_created_at : job.received_at_ms / 1000;
    bool fresh = false;
    Status st = Ok{};
    auto seen = has_processed_row(job.request_id, created_at);
    auto insert = statement(k_insert_new_job_sql);
    if (!seen.ok() || !insert.ok()) {
        st = !seen.ok() ? std::move(seen).error() : std::move(insert).error();
    } else if (seen.value()) {
        // refused or ignored before: a duplicate
    } else if (int rc = step_insert_job(insert.value(), job); rc != SQLITE_DONE) {
        st = sqlite_error(rc, "insert job " + job.id);
    } else {
        fresh = sqlite3_changes(db_) == 1;
    }
    if (!st.ok()) {
        if (own_tx) {
            (void)rollback();
        }
        return std::move(st).error();
    }
    if (own_tx) {
        PYLON_TRY(commit());
    }
    return fresh ? AcceptOutcome::accepted : AcceptOutcome::duplicate;
}

Status StoreDb::mark_processing(std::string_view job_id, std::int64_t at_ms,
                                std::string_view model) {
    PYLON_STORE_RUN(
        "UPDATE jobs SET status = 'processing', started_at_ms = ?, model = coalesce(?, model) "
        "WHERE id = ? AND status IN ('pending', 'processing')",
        "mark job processing", q.int64(at_ms).text_or_null(model).text(job_id));
    if (sqlite3_changes(db_) == 0) {
        return Error(Errc::not_found, "no unfinished job " + std::string(job_id));
    }
    return Ok{};
}

Status StoreDb::record_metrics(std::string_view job_id, const JobMetrics& m) {
    PYLON_STORE_RUN("UPDATE jobs SET " METRICS_SET " WHERE id = ?", "record job metrics",
                    bind_metrics(q, m).text(job_id));
    if (sqlite3_changes(db_) == 0) {
        return Error(Errc::not_found, "no job " + std::string(job_id));
    }
    return Ok{};
}

Status StoreDb::complete_job(std::string_view job_id, const JobCompletion& c) {
    // One statement: the final state and the metrics of the row together.
    PYLON_STORE_RUN(
        "UPDATE jobs SET status = 'completed', price_msats = ?, completed_at = ?, "
        "completed_at_ms = ?, result_event_id = coalesce(?, result_event_id), " METRICS_SET
        " WHERE id = ?",
        "complete job",
        bind_metrics(q.int64(c.price_msats)
                         .int64(c.at_ms / 1000)
                         .int64(c.at_ms)
                         .text_or_null(c.result_event_id),
                     c.metrics)
            .text(job_id));
    if (sqlite3_changes(db_) == 0) {
        return Error(Errc::not_found, "no job " + std::string(job_id));
    }
    PYLON_TRY(forget_pending_result(c.pending_seq));
    if (c.earned_msats) {
        auto earned = record_earning(job_id, *c.earned_msats, "job", c.payment_hash, c.at_ms);
        if (!earned.ok()) {
            return std::move(earned).error();
        }
    }
    return Ok{};
}

Status StoreDb::set_final_status(std::string_view job_id, std::string_view status,
                                 std::string_view reason, std::int64_t at_ms,
                                 std::int64_t pending_seq) {
    PYLON_TRY(check_allowed("jobs.status", status, k_job_statuses));
    PYLON_STORE_RUN(
        "UPDATE jobs SET status = ?, error_message = ?, completed_at = ?, completed_at_ms = ? "
        "WHERE id = ?",
        "finish job", q.text(status).text(reason).int64(at_ms / 1000).int64(at_ms).text(job_id));
    if (sqlite3_changes(db_) == 0) {
        return Error(Errc::not_found, "no job " + std::string(job_id));
    }
    return forget_pending_result(pending_seq);
}

Result<std::int64_t> StoreDb::record_pending_result(std::string_view job_id,
                                                    std::string_view result_event_id,
                                                    std::string_view frame, std::int64_t at_ms,
                                                    std::int64_t replaces_seq) {
    PYLON_TRY(forget_pending_result(replaces_seq));
    PYLON_STORE_RUN(
        "INSERT INTO pending_results (job_id, result_event_id, frame, recorded_at_ms) "
        "VALUES (?, ?, ?, ?)",
        "record pending result", q.text(job_id).text(result_event_id).text(frame).int64(at_ms));
    return static_cast<std::int64_t>(sqlite3_last_insert_rowid(db_));
}

// Called by every final state, in its transaction: a finished job has no pending result.
Status StoreDb::forget_pending_result(std::int64_t seq) {
    if (seq == 0) {
        return Ok{};
    }
    PYLON_STORE_RUN("DELETE FROM pending_results WHERE seq = ?", "forget pending result",
                    q.int64(seq));
    return Ok{};
}

Status StoreDb::fail_job(std::string_view job_id, std::string_view reason, std::int64_t at_ms,
                         std::int64_t pending_seq) {
    return set_final_status(job_id, "failed", reason, at_ms, pending_seq);
}

Status StoreDb::cancel_job(std::string_view job_id, std::string_view reason, std::int64_t at_ms,
                           std::int64_t pending_seq) {
    return set_final_status(job_id, "cancelled", reason, at_ms, pending_seq);
}

Result<std::optional<proto::JobInfo>> StoreDb::get_job(std::string_view job_id) {
    static const std::string sql =
        std::string("SELECT ") + k_job_columns + " FROM jobs WHERE id = ?";
    auto stmt = statement(sql);
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    q.text(job_id);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
        return std::optional<proto::JobInfo>();
    }
    if (rc != SQLITE_ROW) {
        return sqlite_error(rc, "get job");
    }
    return std::optional<proto::JobInfo>(read_job_row(q));
}

Result<std::vector<proto::JobInfo>> StoreDb::list_jobs(const JobQuery& query) {
    static const std::string sql =
        std::string("SELECT ") + k_job_columns +
        " FROM jobs WHERE (?1 IS NULL OR status = ?1) ORDER BY created_at DESC, "
        "coalesce(received_at_ms, 0) DESC, rowid DESC LIMIT ?2";
    auto stmt = statement(sql);
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    q.text_or_null(query.status).int64(static_cast<std::int64_t>(query.limit));
    std::vector<proto::JobInfo> jobs;
    int rc = SQLITE_ROW;
    while ((rc = q.step()) == SQLITE_ROW) {
        jobs.push_back(read_job_row(q));
    }
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "list jobs");
    }
    return jobs;
}

Result<std::vector<UnfinishedJob>> StoreDb::unfinished_jobs() {
    auto stmt = statement(
        "SELECT j.id, coalesce(j.request_id, ''), j.kind, j.customer_pubkey, j.status, "
        "coalesce(j.received_at_ms, j.started_at * 1000), j.attempts, "
        "coalesce(j.relay_hint, ''), coalesce(j.reply_relays, ''), coalesce(j.request_json, ''), "
        "coalesce(p.result_event_id, ''), coalesce(p.frame, ''), coalesce(p.seq, 0) FROM jobs j "
        "LEFT JOIN (SELECT job_id, max(seq) AS seq FROM pending_results GROUP BY job_id) m "
        "ON m.job_id = j.id LEFT JOIN pending_results p ON p.seq = m.seq "
        "WHERE j.status IN ('pending', 'processing') ORDER BY j.rowid");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    std::vector<UnfinishedJob> jobs;
    int rc = SQLITE_ROW;
    while ((rc = q.step()) == SQLITE_ROW) {
        UnfinishedJob j;
        j.id = q.col_text(0);
        j.request_id = q.col_text(1);
        j.kind = static_cast<std::uint32_t>(q.col_int(2));
        j.customer_pubkey = q.col_text(3);
        j.status = q.col_text(4);
        j.received_at_ms = q.col_int(5);
        j.attempts = q.col_int(6);
        j.relay_hint = q.col_text(7);
        j.reply_relays = relays_from_json(q.col_text(8));
        j.request_json = q.col_text(9);
        j.result_event_id = q.col_text(10);
        j.result_frame = q.col_text(11);
        j.result_seq = q.col_int(12);
        jobs.push_back(std::move(j));
    }
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "unfinished jobs");
    }
    return jobs;
}

Result<Reconciliation> StoreDb::reconcile(std::int64_t now_ms, std::int64_t rerun_window_ms,
                                          std::string_view reason,
                                          std::int64_t received_before_ms) {
    auto jobs = unfinished_jobs();
    if (!jobs.ok()) {
        return std::move(jobs).error();
    }
    Reconciliation out;
    for (UnfinishedJob& j : jobs.value()) {
        if (j.received_at_ms >= received_before_ms) {
            continue;  // a job of this run (the reconcile was tried again after intake opened)
        }
        // A signed result is published again, not generated again: its age does not matter.
        bool signed_result = !j.result_frame.empty();
        bool young = now_ms - j.received_at_ms <= rerun_window_ms || signed_result;
        bool fresh = young && !j.request_json.empty();
        bool worn = !signed_result && j.attempts >= rerun_attempts_max;
        if (fresh && !worn) {
            PYLON_STORE_RUN(
                "UPDATE jobs SET status = 'pending', attempts = attempts + 1 WHERE id = ?",
                "requeue job", q.text(j.id));
            j.attempts++;
            out.rerun.push_back(std::move(j));
        } else {
            j.failed_reason = worn && fresh ? rerun_attempts_text : reason;
            PYLON_TRY(fail_job(j.id, j.failed_reason, now_ms, j.result_seq));
            out.failed.push_back(std::move(j));
        }
    }
    // Rows no unfinished job holds (a job has one row; a final state deletes it): left by a
    // final state written without its row's number. Few; a scan of the small table, at start.
    PYLON_STORE_RUN(
        "DELETE FROM pending_results WHERE seq NOT IN (SELECT max(p.seq) FROM pending_results p "
        "JOIN jobs j ON j.id = p.job_id WHERE j.status IN ('pending', 'processing') "
        "GROUP BY p.job_id)",
        "forget orphaned pending results", (void)q);
    return out;
}

Result<bool> StoreDb::record_earning(std::string_view job_id, std::int64_t amount_msats,
                                     std::string_view source, std::string_view payment_hash,
                                     std::int64_t at_ms) {
    PYLON_TRY(check_allowed("earnings.source", source, k_earning_sources));
    // A job's own earning is counted once. A probe and a plain INSERT: "INSERT ... SELECT ...
    // WHERE NOT EXISTS (earnings)" made SQLite copy its one row through a temporary B-tree
    // (it reads the table it writes). Only the store thread writes, inside one transaction.
    if (source == "job" && !job_id.empty()) {
        auto paid = row_exists("SELECT 1 FROM earnings WHERE job_id = ? AND source = 'job'",
                               "record earning", [&](Query& q) { q.text(job_id); });
        if (!paid.ok()) {
            return paid;
        }
        if (paid.value()) {
            return false;  // counted before
        }
    }
    std::string id = new_earning_id();
    PYLON_STORE_RUN(
        "INSERT INTO earnings (id, job_id, amount_msats, source, payment_hash, earned_at, "
        "earned_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        "record earning",
        q.text(id)
            .text_or_null(job_id)
            .int64(amount_msats)
            .text(source)
            .text_or_null(payment_hash)
            .int64(at_ms / 1000)
            .int64(at_ms));
    return sqlite3_changes(db_) == 1;
}

Status StoreDb::insert_invoice(std::string_view id, std::string_view job_id,
                               std::string_view bolt11, std::int64_t amount_msats,
                               std::int64_t at_ms, std::int64_t expires_at) {
    PYLON_STORE_RUN(
        "INSERT INTO invoices (id, job_id, bolt11, amount_msats, created_at, created_at_ms, "
        "expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        "insert invoice",
        q.text(id)
            .text(job_id)
            .text(bolt11)
            .int64(amount_msats)
            .int64(at_ms / 1000)
            .int64(at_ms)
            .int64(expires_at));
    return Ok{};
}

Status StoreDb::mark_invoice_paid(std::string_view id, std::int64_t paid_msats,
                                  std::int64_t at_ms) {
    PYLON_STORE_RUN(
        "UPDATE invoices SET status = 'paid', paid_amount_msats = ?, paid_at = ?, "
        "paid_at_ms = ? WHERE id = ?",
        "mark invoice paid", q.int64(paid_msats).int64(at_ms / 1000).int64(at_ms).text(id));
    if (sqlite3_changes(db_) == 0) {
        return Error(Errc::not_found, "no invoice " + std::string(id));
    }
    return Ok{};
}

Result<proto::EarningsReport> StoreDb::earnings(std::uint64_t recent_limit) {
    proto::EarningsReport report;
    {
        auto stmt = statement(
            "SELECT coalesce(sum(amount_msats), 0), count(DISTINCT job_id) FROM earnings");
        if (!stmt.ok()) {
            return std::move(stmt).error();
        }
        Query q(stmt.value());
        if (int rc = q.step(); rc != SQLITE_ROW) {
            return sqlite_error(rc, "earnings total");
        }
        report.total_msats = q.col_int(0);
        report.job_count = q.col_int(1);
    }
    {
        auto stmt = statement(
            "SELECT source, sum(amount_msats) FROM earnings GROUP BY source ORDER BY source");
        if (!stmt.ok()) {
            return std::move(stmt).error();
        }
        Query q(stmt.value());
        int rc = SQLITE_ROW;
        while ((rc = q.step()) == SQLITE_ROW) {
            report.by_source.emplace_back(q.col_text(0), q.col_int(1));
        }
        if (rc != SQLITE_DONE) {
            return sqlite_error(rc, "earnings by source");
        }
    }
    auto stmt = statement(
        "SELECT id, coalesce(job_id, ''), amount_msats, source, earned_at FROM earnings "
        "ORDER BY earned_at DESC, coalesce(earned_at_ms, 0) DESC, rowid DESC LIMIT ?");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    q.int64(static_cast<std::int64_t>(recent_limit));
    int rc = SQLITE_ROW;
    while ((rc = q.step()) == SQLITE_ROW) {
        report.recent.push_back(proto::EarningInfo{q.col_text(0), q.col_text(1), q.col_int(2),
                                                   q.col_text(3), q.col_int(4)});
    }
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "recent earnings");
    }
    return report;
}

Result<StoreCounts> StoreDb::counts() {
    auto stmt = statement(
        "SELECT (SELECT count(*) FROM jobs WHERE status = 'completed'), "
        "(SELECT coalesce(sum(amount_msats), 0) FROM earnings), (SELECT count(*) FROM jobs)");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    if (int rc = q.step(); rc != SQLITE_ROW) {
        return sqlite_error(rc, "counts");
    }
    return StoreCounts{static_cast<std::uint64_t>(q.col_int(0)),
                       static_cast<std::uint64_t>(q.col_int(1)),
                       static_cast<std::uint64_t>(q.col_int(2))};
}

Result<std::optional<std::int64_t>> StoreDb::relay_cursor(std::string_view url) {
    auto stmt = statement("SELECT last_event_at FROM relay_cursors WHERE url = ?");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    q.text(url);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
        return std::optional<std::int64_t>();
    }
    if (rc != SQLITE_ROW) {
        return sqlite_error(rc, "relay cursor");
    }
    return std::optional<std::int64_t>(q.col_int(0));
}

Status StoreDb::set_relay_cursor(std::string_view url, std::int64_t last_event_at,
                                 std::int64_t at_ms) {
    PYLON_STORE_RUN(
        "INSERT INTO relay_cursors (url, last_event_at, updated_at_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(url) DO UPDATE SET last_event_at = ?2, "
        "updated_at_ms = ?3",
        "set relay cursor", q.text(url).int64(last_event_at).int64(at_ms));
    return Ok{};
}

Result<std::optional<std::string>> StoreDb::state_value(std::string_view key) {
    auto stmt = statement("SELECT value FROM node_state WHERE key = ?");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    q.text(key);
    int rc = q.step();
    if (rc == SQLITE_DONE) {
        return std::optional<std::string>();
    }
    if (rc != SQLITE_ROW) {
        return sqlite_error(rc, "state value");
    }
    return std::optional<std::string>(q.col_text(0));
}

Status StoreDb::set_state_value(std::string_view key, std::string_view value, std::int64_t at_ms) {
    PYLON_STORE_RUN(
        "INSERT INTO node_state (key, value, updated_at_ms) VALUES (?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET value = ?2, updated_at_ms = ?3",
        "set state value", q.text(key).text(value).int64(at_ms));
    return Ok{};
}

Status StoreDb::upsert_agent(std::string_view npub, std::string_view name,
                             std::int64_t account_index, std::int64_t at_ms) {
    PYLON_STORE_RUN(
        "INSERT INTO agents (npub, name, lifecycle_state, account_index, created_at, updated_at, "
        "updated_at_ms) VALUES (?1, ?2, 'embryonic', ?3, ?4 / 1000, ?4 / 1000, ?4) "
        "ON CONFLICT(npub) DO UPDATE SET name = ?2, account_index = ?3, updated_at = ?4 / 1000, "
        "updated_at_ms = ?4",
        "upsert agent", q.text(npub).text(name).int64(account_index).int64(at_ms));
    return Ok{};
}

Status StoreDb::record_agent_supervision(std::string_view npub, const AgentSupervision& state,
                                         std::int64_t at_ms) {
    PYLON_TRY(check_allowed("agents.lifecycle_state", state.lifecycle_state, k_agent_lifecycles));
    PYLON_STORE_RUN(
        "UPDATE agents SET lifecycle_state = ?2, supervisor_state = ?3, pid = ?4, restarts = ?5, "
        "last_error = ?6, updated_at = ?7 / 1000, updated_at_ms = ?7 WHERE npub = ?1",
        "record agent state",
        q.text(npub)
            .text(state.lifecycle_state)
            .text(state.supervisor_state)
            .opt(state.pid)
            .int64(state.restarts)
            .text_or_null(state.last_error)
            .int64(at_ms));
    return Ok{};
}

Result<std::vector<AgentRow>> StoreDb::list_agents() {
    auto stmt = statement(
        "SELECT npub, name, lifecycle_state, account_index, coalesce(supervisor_state, ''), pid, "
        "coalesce(restarts, 0), coalesce(last_error, ''), coalesce(balance_sats, 0), "
        "coalesce(tick_count, 0) FROM agents ORDER BY account_index, npub");
    if (!stmt.ok()) {
        return std::move(stmt).error();
    }
    Query q(stmt.value());
    std::vector<AgentRow> rows;
    int rc = SQLITE_ROW;
    while ((rc = q.step()) == SQLITE_ROW) {
        AgentRow r;
        r.npub = q.col_text(0);
        r.name = q.col_text(1);
        r.lifecycle_state = q.col_text(2);
        r.account_index = q.col_opt(3);
        r.supervisor_state = q.col_text(4);
        r.pid = q.col_opt(5);
        r.restarts = q.col_int(6);
        r.last_error = q.col_text(7);
        r.balance_sats = q.col_int(8);
        r.tick_count = q.col_int(9);
        rows.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) {
        return sqlite_error(rc, "list agents");
    }
    return rows;
}

#undef PYLON_STORE_RUN
#undef METRICS_SET

}  // namespace pylon::engine
