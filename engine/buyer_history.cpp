#include "engine/buyer_history.hpp"

#include <sqlite3.h>

#include "proto/utf8.hpp"

namespace pylon::engine {

namespace {

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind INTEGER NOT NULL,
    prompt TEXT,
    relay TEXT,
    provider TEXT,
    bid_msats INTEGER,
    status TEXT NOT NULL DEFAULT 'pending',
    result TEXT,
    bolt11 TEXT,
    amount_msats INTEGER,
    created_at INTEGER NOT NULL,
    completed_at INTEGER
);
CREATE INDEX IF NOT EXISTS idx_jobs_created_at ON jobs(created_at);
)sql";

Error db_error(sqlite3* db, const std::string& what) {
    return Error(Errc::io, "jobs.db: " + what + ": " + (db ? sqlite3_errmsg(db) : "no database"));
}

// A prepared statement that finalizes itself.
struct Stmt {
    sqlite3_stmt* s = nullptr;
    ~Stmt() { sqlite3_finalize(s); }
    void text(int i, const std::string& v) {
        sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
    void opt_int(int i, const std::optional<std::int64_t>& v) {
        if (v) {
            sqlite3_bind_int64(s, i, *v);
        } else {
            sqlite3_bind_null(s, i);
        }
    }
    std::string col_text(int i) const {
        const unsigned char* t = sqlite3_column_text(s, i);
        return t ? reinterpret_cast<const char*>(t) : "";
    }
    std::optional<std::int64_t> col_opt_int(int i) const {
        if (sqlite3_column_type(s, i) == SQLITE_NULL) {
            return std::nullopt;
        }
        return sqlite3_column_int64(s, i);
    }
};

BuyerJob row_of(const Stmt& st) {
    BuyerJob j;
    j.id = st.col_text(0);
    j.kind = static_cast<std::uint32_t>(sqlite3_column_int64(st.s, 1));
    j.prompt = st.col_text(2);
    j.relay = st.col_text(3);
    j.provider = st.col_text(4);
    j.bid_msats = st.col_opt_int(5);
    j.status = st.col_text(6);
    j.result = st.col_text(7);
    j.bolt11 = st.col_text(8);
    j.amount_msats = st.col_opt_int(9);
    j.created_at = sqlite3_column_int64(st.s, 10);
    j.completed_at = st.col_opt_int(11);
    return j;
}

constexpr const char* k_columns =
    "SELECT id, kind, prompt, relay, provider, bid_msats, status, result, bolt11, amount_msats, "
    "created_at, completed_at FROM jobs";

}  // namespace

Result<std::unique_ptr<BuyerHistory>> BuyerHistory::open(const std::string& path, bool create) {
    sqlite3* db = nullptr;
    int flags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error e = rc == SQLITE_CANTOPEN && !create ? Error(Errc::not_found, path + ": no history")
                                                   : db_error(db, "open " + path);
        sqlite3_close(db);
        return e;
    }
    std::unique_ptr<BuyerHistory> h(new BuyerHistory(db));
    sqlite3_busy_timeout(db, 5000);
    if (create) {
        PYLON_TRY(h->exec(k_schema));
    }
    return h;
}

BuyerHistory::~BuyerHistory() {
    sqlite3_close(db_);
}

Status BuyerHistory::exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string text = msg ? msg : "error";
        sqlite3_free(msg);
        return Error(Errc::io, std::string("jobs.db: ") + text);
    }
    return Ok{};
}

Status BuyerHistory::insert(const BuyerJob& j) {
    Stmt st;
    const char* sql =
        "INSERT OR REPLACE INTO jobs (id, kind, prompt, relay, provider, bid_msats, status, "
        "result, bolt11, amount_msats, created_at, completed_at) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) {
        return db_error(db_, "insert");
    }
    st.text(1, j.id);
    sqlite3_bind_int64(st.s, 2, j.kind);
    st.text(3, j.prompt.substr(0, proto::utf8_prefix_bytes(j.prompt, buyer_prompt_bytes_kept)));
    st.text(4, j.relay);
    st.text(5, j.provider);
    st.opt_int(6, j.bid_msats);
    st.text(7, j.status);
    st.text(8, j.result);
    st.text(9, j.bolt11);
    st.opt_int(10, j.amount_msats);
    sqlite3_bind_int64(st.s, 11, j.created_at);
    st.opt_int(12, j.completed_at);
    return sqlite3_step(st.s) == SQLITE_DONE ? Status(Ok{}) : Status(db_error(db_, "insert"));
}

Status BuyerHistory::update(const std::string& id, const std::string& status,
                            const std::string& provider, const std::optional<std::string>& result,
                            std::optional<std::int64_t> done_at) {
    Stmt st;
    const char* sql =
        "UPDATE jobs SET status = ?2, provider = CASE WHEN ?3 = '' THEN provider ELSE ?3 END, "
        "result = COALESCE(?4, result), completed_at = COALESCE(?5, completed_at) WHERE id = ?1";
    if (sqlite3_prepare_v2(db_, sql, -1, &st.s, nullptr) != SQLITE_OK) {
        return db_error(db_, "update");
    }
    st.text(1, id);
    st.text(2, status);
    st.text(3, provider);
    if (result) {
        st.text(4, *result);
    } else {
        sqlite3_bind_null(st.s, 4);
    }
    st.opt_int(5, done_at);
    return sqlite3_step(st.s) == SQLITE_DONE ? Status(Ok{}) : Status(db_error(db_, "update"));
}

Result<std::optional<BuyerJob>> BuyerHistory::get(const std::string& id) {
    Stmt st;
    std::string sql = std::string(k_columns) + " WHERE id = ?1";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
        return db_error(db_, "get");
    }
    st.text(1, id);
    int rc = sqlite3_step(st.s);
    if (rc == SQLITE_ROW) {
        return std::optional<BuyerJob>(row_of(st));
    }
    return rc == SQLITE_DONE ? Result<std::optional<BuyerJob>>(std::optional<BuyerJob>{})
                             : Result<std::optional<BuyerJob>>(db_error(db_, "get"));
}

Result<std::vector<BuyerJob>> BuyerHistory::list(std::size_t limit) {
    Stmt st;
    std::string sql = std::string(k_columns) + " ORDER BY created_at DESC, rowid DESC LIMIT ?1";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) {
        return db_error(db_, "list");
    }
    sqlite3_bind_int64(st.s, 1, static_cast<sqlite3_int64>(limit));
    std::vector<BuyerJob> out;
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
        out.push_back(row_of(st));
    }
    if (rc != SQLITE_DONE) {
        return db_error(db_, "list");
    }
    return out;
}

}  // namespace pylon::engine
