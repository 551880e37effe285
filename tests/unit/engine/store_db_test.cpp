#include "engine/store_db.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>

#include "engine/migrations.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::engine {
namespace {

std::string request_id(int n) {
    // Distinct in the first 16 characters, which make the job id.
    char buf[80];
    std::snprintf(buf, sizeof buf, "%016llx%048x",
                  static_cast<unsigned long long>(n + 1) * 0x9e3779b97f4a7c15ull, n);
    return std::string(buf, 64);
}

NewJob make_job(int n, std::int64_t at_ms = 1'700'000'000'000) {
    NewJob j;
    j.request_id = request_id(n);
    j.id = job_id_for_request(j.request_id);
    j.kind = 5050;
    j.customer_pubkey = std::string(64, 'c');
    j.received_at_ms = at_ms;
    j.relay_hint = "wss://relay.example";
    j.reply_relays = {"wss://a.example", "wss://b.example"};
    j.request_json = "{\"id\":\"" + j.request_id + "\"}";
    return j;
}

std::unique_ptr<StoreDb> memory_db() {
    auto db = StoreDb::open_memory();
    EXPECT_TRUE(db.ok()) << db.error().message();
    return std::move(db.value());
}

TEST(StoreDb, FreshDatabaseHasEveryMigrationInOrder) {
    auto db = memory_db();
    auto applied = db->applied_migrations();
    ASSERT_TRUE(applied.ok());
    ASSERT_EQ(applied->size(), migrations().size());
    EXPECT_EQ((*applied)[0], "001_initial_schema");
    EXPECT_EQ((*applied)[1], "002_invoices");
}

// A file SQLite cannot open (here: an attached database in a folder that does not exist; in a
// running node: no file descriptor left for a temporary file) is an I/O error, not "no such row":
// a job's last write treats not_found as final and would not try again.
TEST(StoreDb, AFileSqliteCannotOpenIsAnIoErrorNotAMissingRow) {
    auto db = memory_db();
    Status st = db->exec("ATTACH DATABASE '/nonexistent-pylon-folder/x.db' AS x");
    ASSERT_FALSE(st.ok());
    EXPECT_EQ(st.error().code(), Errc::io) << st.error().message();
}

// The schema keeps Pylon's CHECK constraints; the store's connection does not evaluate them
// (PRAGMA ignore_check_constraints, for speed), so they are shown with evaluation back on, and
// the next test shows the writers refusing the same values themselves.
TEST(StoreDb, PylonSchemaChecksAreKept) {
    auto db = memory_db();
    ASSERT_TRUE(db->exec("PRAGMA ignore_check_constraints=OFF").ok());
    EXPECT_FALSE(db->exec("INSERT INTO jobs (id, kind, customer_pubkey, status, started_at) "
                          "VALUES ('j', 5050, 'c', 'done', 1)")
                     .ok());
    EXPECT_FALSE(
        db->exec("INSERT INTO earnings (id, amount_msats, source) VALUES ('e', 1, 'x')").ok());
    EXPECT_FALSE(db->exec("INSERT INTO agents (npub, name, lifecycle_state) "
                          "VALUES ('n', 'a', 'spawning')")
                     .ok());
    EXPECT_FALSE(db->exec("INSERT INTO invoices (id, job_id, bolt11, amount_msats, status) "
                          "VALUES ('i', 'j', 'b', 1, 'lost')")
                     .ok());
    EXPECT_TRUE(
        db->exec("INSERT INTO tick_history (agent_npub, tick_number) VALUES ('n', 1)").ok());
}

TEST(StoreDb, WritersRefuseValuesTheSchemaChecksWouldRefuse) {
    auto db = memory_db();
    NewJob job = make_job(1);
    job.status = "done";
    auto accepted = db->accept_job(job);
    ASSERT_FALSE(accepted.ok());
    EXPECT_EQ(accepted.error().code(), Errc::invalid_input);
    EXPECT_FALSE(db->insert_job(job).ok());
    job.status = "pending";
    ASSERT_EQ(db->accept_job(job).value(), AcceptOutcome::accepted);
    auto earned = db->record_earning(job.id, 1000, "gift", "", job.received_at_ms);
    ASSERT_FALSE(earned.ok());
    EXPECT_EQ(earned.error().code(), Errc::invalid_input);
    EXPECT_TRUE(db->record_earning(job.id, 1000, "tip", "", job.received_at_ms).ok());
    ASSERT_TRUE(db->upsert_agent("npub1x", "a", 0, job.received_at_ms).ok());
    AgentSupervision state;
    state.lifecycle_state = "spawning";
    state.supervisor_state = "starting";
    EXPECT_FALSE(db->record_agent_supervision("npub1x", state, job.received_at_ms).ok());
    state.lifecycle_state = "active";
    EXPECT_TRUE(db->record_agent_supervision("npub1x", state, job.received_at_ms).ok());
    // Nothing of the refused values reached the rows.
    auto row = db->get_job(job.id);
    ASSERT_TRUE(row.ok());
    EXPECT_EQ(row.value()->status, "pending");
    auto agents = db->list_agents();
    ASSERT_TRUE(agents.ok());
    ASSERT_EQ(agents.value().size(), 1u);
    EXPECT_EQ(agents.value()[0].lifecycle_state, "active");
}

// A job's statements (accept, processing, completion with earnings, failure, the request
// probes) build no temporary B-tree: "x IN (...)" in a WHERE clause or a CHECK constraint did,
// a zeroed page each time, and was a third of the store thread's instructions per job.
// Runs a job's statements (accept, processing, completion with earnings, failure, the request
// probes) and returns those that build a temporary B-tree.
std::vector<std::string> per_job_statements_with_temp_tables(StoreDb& db) {
    NewJob job = make_job(1);
    EXPECT_EQ(db.accept_job(job).value(), AcceptOutcome::accepted);
    EXPECT_TRUE(db.mark_processing(job.id, job.received_at_ms + 5, "llama3.2").ok());
    auto seq = db.record_pending_result(job.id, std::string(64, 'e'), "[]", job.received_at_ms, 0);
    EXPECT_TRUE(seq.ok());
    JobCompletion done;
    done.at_ms = job.received_at_ms + 900;
    done.price_msats = 1000;
    done.earned_msats = 1000;
    done.pending_seq = seq.ok() ? seq.value() : 0;
    EXPECT_TRUE(db.complete_job(job.id, done).ok());
    NewJob other = make_job(2);
    EXPECT_EQ(db.accept_job(other).value(), AcceptOutcome::accepted);
    EXPECT_TRUE(db.fail_job(other.id, "backend gone", other.received_at_ms + 10).ok());
    EXPECT_TRUE(db.remember_request(request_id(3), 1700000000, "refused", 1).ok());
    EXPECT_TRUE(db.request_seen(request_id(4), 1700000000).ok());
    auto temp = db.statements_with_temp_tables();
    EXPECT_TRUE(temp.ok());
    return temp.ok() ? temp.value() : std::vector<std::string>{};
}

// "x IN (...)" in a WHERE clause or a CHECK constraint made SQLite build a temporary B-tree (a
// zeroed page) every time the statement ran: a third of the store thread's instructions per job.
TEST(StoreDb, PerJobStatementsBuildNoTemporaryTables) {
    auto db = memory_db();
    auto temp = per_job_statements_with_temp_tables(*db);
    EXPECT_TRUE(temp.empty()) << temp.size() << " of them, first: " << temp.front();
    // With the schema's CHECK constraints evaluated, the job row's INSERT does build one.
    auto checked = memory_db();
    ASSERT_TRUE(checked->exec("PRAGMA ignore_check_constraints=OFF").ok());
    temp = per_job_statements_with_temp_tables(*checked);
    EXPECT_TRUE(std::any_of(temp.begin(), temp.end(), [](const std::string& sql) {
        return sql.starts_with("INSERT INTO jobs");
    }));
}

TEST(StoreDb, JobLifecycleRecordsTimingsAndEarningsOnce) {
    auto db = memory_db();
    NewJob job = make_job(1);
    ASSERT_EQ(db->accept_job(job).value(), AcceptOutcome::accepted);
    EXPECT_EQ(job.id, "job_" + request_id(1).substr(0, 16));
    ASSERT_TRUE(db->mark_processing(job.id, job.received_at_ms + 5, "llama3.2").ok());
    JobCompletion done;
    done.at_ms = job.received_at_ms + 900;
    done.price_msats = 1000;
    done.earned_msats = 1000;
    done.metrics = {"ollama", "llama3.2", 12, 34, 5, 40, 895, std::nullopt};
    ASSERT_TRUE(db->complete_job(job.id, done).ok());
    // A second completion (a retry) does not count the money twice.
    ASSERT_TRUE(db->complete_job(job.id, done).ok());
    auto row = db->get_job(job.id);
    ASSERT_TRUE(row.ok() && row->has_value());
    const proto::JobInfo& j = **row;
    EXPECT_EQ(j.status, "completed");
    EXPECT_EQ(j.request_id, job.request_id);
    EXPECT_EQ(j.price_msats, 1000);
    EXPECT_EQ(j.backend, "ollama");
    EXPECT_EQ(j.completion_tokens, 34);
    EXPECT_EQ(j.first_token_ms, 40);
    EXPECT_EQ(j.completed_at, done.at_ms / 1000);
    auto counts = db->counts();
    ASSERT_TRUE(counts.ok());
    EXPECT_EQ(counts->jobs_completed, 1u);
    EXPECT_EQ(counts->earnings_msats, 1000u);
    auto report = db->earnings(10);
    ASSERT_TRUE(report.ok());
    EXPECT_EQ(report->total_msats, 1000);
    EXPECT_EQ(report->job_count, 1);
    ASSERT_EQ(report->recent.size(), 1u);
    EXPECT_EQ(report->recent[0].id.rfind("earn-", 0), 0u);
    EXPECT_EQ(report->recent[0].id.size(), 5u + 36u);
    EXPECT_EQ(report->by_source,
              (std::vector<std::pair<std::string, std::int64_t>>{{"job", 1000}}));
    // A job's own earning once: a second one is not written, and says so.
    EXPECT_FALSE(db->record_earning(job.id, 1000, "job", "", done.at_ms).value());
    EXPECT_EQ(db->counts()->earnings_msats, 1000u);
    // Tips are not limited to one.
    EXPECT_TRUE(db->record_earning(job.id, 50, "tip", "", done.at_ms).value());
    EXPECT_TRUE(db->record_earning(job.id, 50, "tip", "", done.at_ms).value());
    EXPECT_EQ(db->counts()->earnings_msats, 1100u);
}

TEST(StoreDb, SameRequestTwiceIsADuplicate) {
    auto db = memory_db();
    NewJob job = make_job(7);
    job.request_created_at = 1'700'000'100;
    EXPECT_EQ(db->accept_job(job).value(), AcceptOutcome::accepted);
    EXPECT_EQ(db->accept_job(job).value(), AcceptOutcome::duplicate);
    EXPECT_TRUE(db->request_seen(job.request_id, job.request_created_at).value());
    EXPECT_FALSE(db->request_seen(request_id(8), 5).value());
    EXPECT_TRUE(db->remember_request(request_id(8), 5, "refused", 6'000).value());
    EXPECT_FALSE(db->remember_request(request_id(8), 5, "refused", 7'000).value());
    // Without its created_at, a job's request is known by the time it was received.
    NewJob old = make_job(9);
    EXPECT_EQ(db->accept_job(old).value(), AcceptOutcome::accepted);
    EXPECT_TRUE(db->request_seen(old.request_id, old.received_at_ms / 1000).value());
    auto since = db->requests_created_since(0, 100);
    ASSERT_TRUE(since.ok());
    std::sort(since->begin(), since->end());
    std::vector<std::string> all = {job.request_id, old.request_id, request_id(8)};
    std::sort(all.begin(), all.end());
    EXPECT_EQ(*since, all);
    EXPECT_EQ(db->requests_created_since(1'700'000'000, 100)->size(), 2u);  // the two jobs
    EXPECT_EQ(db->requests_created_since(0, 2)->size(), 2u);
    // Pruning goes by the request's created_at.
    EXPECT_EQ(db->prune_requests(1'700'000'000'000).value(), 1);  // the one created at 5 s
    EXPECT_FALSE(db->request_seen(request_id(8), 5).value());
    EXPECT_TRUE(db->request_seen(old.request_id, old.received_at_ms / 1000).value());
    EXPECT_EQ(db->counts()->jobs_total, 2u);
}

// An accepted request is known by its job row alone (no processed_requests row beside it), so
// it stays a duplicate however old, and a refusal after it is not answered again.
TEST(StoreDb, AnAcceptedRequestIsKnownByItsJobRow) {
    auto db = memory_db();
    NewJob job = make_job(1);
    job.request_created_at = 1'700'000'100;
    ASSERT_EQ(db->accept_job(job).value(), AcceptOutcome::accepted);
    EXPECT_EQ(db->prune_requests(4'000'000'000'000).value(), 0);  // nothing in processed_requests
    EXPECT_EQ(db->accept_job(job).value(), AcceptOutcome::duplicate);
    EXPECT_FALSE(db->remember_request(job.request_id, 1'700'000'100, "refused", 1).value());
    EXPECT_TRUE(db->request_seen(job.request_id, 1'700'000'100).value());
    // A row written without accept_job (Pylon v0.1's, or insert_job) counts too.
    NewJob inserted = make_job(2);
    ASSERT_TRUE(db->insert_job(inserted).ok());
    EXPECT_EQ(db->accept_job(inserted).value(), AcceptOutcome::duplicate);
    // A refused request is not accepted later.
    NewJob refused = make_job(3);
    EXPECT_TRUE(db->remember_request(refused.request_id, 1'700'000'000, "refused", 1).value());
    EXPECT_EQ(db->accept_job(refused).value(), AcceptOutcome::duplicate);
    // Inside one transaction (a store batch), in order.
    ASSERT_TRUE(db->begin().ok());
    NewJob a = make_job(4);
    EXPECT_EQ(db->accept_job(a).value(), AcceptOutcome::accepted);
    EXPECT_EQ(db->accept_job(a).value(), AcceptOutcome::duplicate);
    EXPECT_FALSE(db->remember_request(a.request_id, 1'700'000'000, "refused", 1).value());
    ASSERT_TRUE(db->commit().ok());
    EXPECT_EQ(db->counts()->jobs_total, 3u);
    EXPECT_EQ(db->get_job(a.id)->value().status, "pending");
}

// Migration 008 re-keys processed_requests by created_at; the ids remembered before it keep
// refusing their duplicates (looked up by id, whatever the created_at) until pruned by the
// time they were seen.
TEST(StoreDb, RequestsRememberedBeforeMigration008StayDuplicates) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    std::int64_t seen_ms = 1'700'000'000'000;
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
        std::string sql = std::string(migrations_table_sql) + ";";
        for (const Migration& m : migrations()) {
            if (m.name.substr(0, 3) == "008") {
                break;
            }
            sql += std::string(m.sql) + "INSERT INTO migrations (name) VALUES ('" +
                   std::string(m.name) + "');";
        }
        for (int i = 0; i < 3; i++) {
            sql += "INSERT INTO processed_requests (request_id, outcome, seen_at_ms) VALUES ('" +
                   request_id(i) + "', 'accepted', " + std::to_string(seen_ms + i) + ");";
        }
        ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
    }
    auto opened = StoreDb::open({path});
    ASSERT_TRUE(opened.ok()) << opened.error().message();
    StoreDb& db = **opened;
    EXPECT_EQ(db.applied_migrations()->size(), migrations().size());
    EXPECT_TRUE(db.request_seen(request_id(0), 1'700'000'500).value());
    EXPECT_FALSE(db.remember_request(request_id(1), 1'700'000'500, "refused", seen_ms).value());
    NewJob dup = make_job(2);
    dup.request_created_at = 1'700'000'500;
    EXPECT_EQ(db.accept_job(dup).value(), AcceptOutcome::duplicate);
    EXPECT_EQ(db.counts()->jobs_total, 0u);
    NewJob fresh = make_job(3);
    fresh.request_created_at = 1'700'000'500;
    EXPECT_EQ(db.accept_job(fresh).value(), AcceptOutcome::accepted);
    // The carried-over ids count as seen when they were seen.
    auto since = db.requests_created_since(1'700'000'000, 10);
    ASSERT_TRUE(since.ok());
    EXPECT_EQ(since->size(), 4u);
    EXPECT_EQ(since->front(), fresh.request_id);
    // Pruned by the time they were seen (created_at unknown), then gone.
    EXPECT_EQ(db.prune_requests(seen_ms + 2).value(), 2);
    EXPECT_FALSE(db.request_seen(request_id(0), 1'700'000'500).value());
    EXPECT_TRUE(db.request_seen(request_id(2), 1'700'000'500).value());
    EXPECT_EQ(db.prune_requests(seen_ms + 3).value(), 1);
    EXPECT_TRUE(db.remember_request(request_id(0), 1'700'000'500, "refused", seen_ms).value());
    EXPECT_TRUE(db.request_seen(fresh.request_id, fresh.request_created_at).value());
}

TEST(StoreDb, FailAndCancelRecordTheReason) {
    auto db = memory_db();
    NewJob a = make_job(1);
    NewJob b = make_job(2);
    ASSERT_TRUE(db->insert_job(a).ok());
    ASSERT_TRUE(db->insert_job(b).ok());
    ASSERT_TRUE(db->fail_job(a.id, "backend unavailable", a.received_at_ms + 1).ok());
    ASSERT_TRUE(db->cancel_job(b.id, "deleted by the customer", b.received_at_ms + 1).ok());
    EXPECT_EQ(db->get_job(a.id).value()->error_message, "backend unavailable");
    EXPECT_EQ(db->get_job(b.id).value()->status, "cancelled");
    EXPECT_EQ(db->fail_job("job_missing", "x", 1).error().code(), Errc::not_found);
    auto failed = db->list_jobs({10, "failed"});
    ASSERT_TRUE(failed.ok());
    ASSERT_EQ(failed->size(), 1u);
    EXPECT_EQ((*failed)[0].id, a.id);
    auto all = db->list_jobs({1, ""});
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->size(), 1u);
}

TEST(StoreDb, ReconcileRerunsYoungJobsAndFailsOldOnes) {
    auto db = memory_db();
    std::int64_t now = 1'700'000'100'000;
    NewJob young = make_job(1, now - 10'000);
    NewJob old = make_job(2, now - 3'600'000);
    NewJob done = make_job(3, now - 5'000);
    for (const NewJob& j : {young, old, done}) {
        ASSERT_TRUE(db->insert_job(j).ok());
    }
    ASSERT_TRUE(db->mark_processing(young.id, now - 9'000, "m").ok());
    ASSERT_TRUE(db->complete_job(done.id, JobCompletion{now - 1000, 0, {}, "", "", {}}).ok());
    auto r = db->reconcile(now, 300'000, "interrupted by a restart");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->rerun.size(), 1u);
    EXPECT_EQ(r->rerun[0].id, young.id);
    EXPECT_EQ(r->rerun[0].attempts, 1);
    EXPECT_EQ(r->rerun[0].reply_relays, young.reply_relays);
    EXPECT_EQ(r->rerun[0].request_json, young.request_json);
    ASSERT_EQ(r->failed.size(), 1u);
    EXPECT_EQ(r->failed[0].id, old.id);
    EXPECT_EQ(db->get_job(young.id).value()->status, "pending");
    EXPECT_EQ(db->get_job(old.id).value()->error_message, "interrupted by a restart");
    EXPECT_EQ(db->unfinished_jobs()->size(), 1u);
}

// A job the node died running after rerun_attempts_max restarts is not run again (audit,
// session 13: a request that crashes the node was rerun at every start within the window); one
// whose result was signed is still published again, however often.
TEST(StoreDb, ReconcileStopsRerunningAJobAfterItsAttempts) {
    auto db = memory_db();
    std::int64_t now = 1'700'000'100'000;
    NewJob poison = make_job(1, now - 10'000);
    NewJob signed_result = make_job(2, now - 10'000);
    for (const NewJob& j : {poison, signed_result}) {
        ASSERT_TRUE(db->insert_job(j).ok());
    }
    ASSERT_TRUE(db->record_pending_result(signed_result.id, std::string(64, 'b'), "[\"EVENT\",{}]",
                                          now - 1000, 0)
                    .ok());
    for (std::int64_t restart = 1; restart <= rerun_attempts_max; restart++) {
        auto r = db->reconcile(now, 300'000, "interrupted by a restart");
        ASSERT_TRUE(r.ok()) << r.error().message();
        ASSERT_EQ(r->rerun.size(), 2u) << "restart " << restart;
        EXPECT_TRUE(r->failed.empty());
        for (const UnfinishedJob& u : r->rerun) {
            EXPECT_EQ(u.attempts, restart);
        }
    }
    auto r = db->reconcile(now, 300'000, "interrupted by a restart");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->failed.size(), 1u);
    EXPECT_EQ(r->failed[0].id, poison.id);
    ASSERT_EQ(r->rerun.size(), 1u);
    EXPECT_EQ(r->rerun[0].id, signed_result.id);
    EXPECT_EQ(db->get_job(poison.id).value()->status, "failed");
    EXPECT_EQ(db->get_job(poison.id).value()->error_message, rerun_attempts_text);
    // The customer is told the same (before: "the node restarted before the job finished").
    EXPECT_EQ(r->failed[0].failed_reason, rerun_attempts_text);
}

// A reconcile tried again after intake opened (a store error at start) leaves the jobs of this
// run alone: taken for unfinished, a running job was started a second time (review, session 13).
TEST(StoreDb, ReconcileLeavesTheJobsOfThisRunAlone) {
    auto db = memory_db();
    std::int64_t start = 1'700'000'100'000;
    NewJob before = make_job(1, start - 10'000);
    NewJob mine = make_job(2, start + 2'000);
    for (const NewJob& j : {before, mine}) {
        ASSERT_TRUE(db->insert_job(j).ok());
    }
    ASSERT_TRUE(db->mark_processing(mine.id, start + 2'500, "m").ok());
    auto r = db->reconcile(start + 30'000, 300'000, "interrupted by a restart", start);
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->rerun.size(), 1u);
    EXPECT_EQ(r->rerun[0].id, before.id);
    EXPECT_TRUE(r->failed.empty());
    EXPECT_EQ(db->get_job(mine.id).value()->status, "processing");
}

// A job's signed result is recorded before it is published and forgotten with the job's final
// row; a job left unfinished brings it back (it is published again, never generated again),
// whatever its age.
TEST(StoreDb, PendingResultsComeBackWithUnfinishedJobsUntilTheJobEnds) {
    auto db = memory_db();
    std::int64_t now = 1'700'000'100'000;
    NewJob a = make_job(1, now - 10'000);
    NewJob b = make_job(2, now - 3'600'000);  // beyond the rerun window
    NewJob c = make_job(3, now - 5'000);
    NewJob d = make_job(4, now - 5'000);
    NewJob e = make_job(5, now - 5'000);
    for (const NewJob& j : {a, b, c, d, e}) {
        ASSERT_TRUE(db->insert_job(j).ok());
    }
    auto record = [&](const NewJob& j, char id, std::string frame, std::int64_t replaces = 0) {
        auto seq = db->record_pending_result(j.id, std::string(64, id), frame, now, replaces);
        EXPECT_TRUE(seq.ok()) << seq.error().message();
        std::int64_t n = seq.ok() ? seq.value() : 0;
        EXPECT_GT(n, 0);
        return n;
    };
    std::string frame_a = "[\"EVENT\",{\"id\":\"" + std::string(64, 'a') + "\"}]";
    std::int64_t old_a = record(a, '1', "[\"old\"]");
    std::int64_t seq_a = record(a, 'a', frame_a, old_a);  // replaces the job's earlier one
    std::int64_t seq_b = record(b, 'b', "[\"b\"]");
    std::int64_t seq_c = record(c, 'c', "[\"c\"]");
    std::int64_t seq_d = record(d, 'd', "[\"d\"]");
    (void)record(e, 'e', "[\"e\"]");
    ASSERT_TRUE(db->mark_processing(c.id, now - 4'000, "m").ok());
    JobMetrics m;
    m.completion_tokens = 7;
    ASSERT_TRUE(db->record_metrics(c.id, m).ok());
    // c completes: its pending result goes, its metrics stay where the completion has none.
    JobCompletion done_c{now, 0, {}, "", std::string(64, 'c'), {}, seq_c};
    ASSERT_TRUE(db->complete_job(c.id, done_c).ok());
    ASSERT_TRUE(db->cancel_job(d.id, "deleted", now, seq_d).ok());
    // e ends without naming its row (0): the row stays until the next start's reconcile.
    ASSERT_TRUE(db->fail_job(e.id, "backend gone", now).ok());
    auto all = db->unfinished_jobs();
    ASSERT_TRUE(all.ok()) << all.error().message();
    ASSERT_EQ(all->size(), 2u);
    EXPECT_EQ((*all)[0].result_event_id, std::string(64, 'a'));
    EXPECT_EQ((*all)[0].result_frame, frame_a);
    EXPECT_EQ((*all)[0].result_seq, seq_a);
    EXPECT_EQ((*all)[1].result_seq, seq_b);
    EXPECT_EQ(db->get_job(c.id).value()->status, "completed");
    EXPECT_EQ(db->get_job(c.id).value()->completion_tokens, 7);
    auto r = db->reconcile(now, 300'000, "interrupted by a restart");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->rerun.size(), 2u);  // b too: its result exists, its age does not matter
    EXPECT_TRUE(r->failed.empty());
    EXPECT_EQ(r->rerun[1].result_frame, "[\"b\"]");
    ASSERT_TRUE(db->fail_job(b.id, "no relay accepted the result", now, seq_b).ok());
    JobCompletion done_a{now, 0, {}, "", std::string(64, 'a'), {}, seq_a};
    ASSERT_TRUE(db->complete_job(a.id, done_a).ok());
    EXPECT_TRUE(db->unfinished_jobs()->empty());
    // Every row is gone, e's by the reconcile (set back to pending by hand, they come back
    // without).
    ASSERT_TRUE(db->exec("UPDATE jobs SET status = 'pending'").ok());
    auto again = db->unfinished_jobs();
    ASSERT_TRUE(again.ok());
    ASSERT_EQ(again->size(), 5u);
    for (const UnfinishedJob& u : *again) {
        EXPECT_EQ(u.result_frame, "") << u.id;
        EXPECT_EQ(u.result_event_id, "") << u.id;
        EXPECT_EQ(u.result_seq, 0) << u.id;
    }
}

TEST(StoreDb, InvoicesAndNodeState) {
    auto db = memory_db();
    NewJob job = make_job(1);
    ASSERT_TRUE(db->insert_job(job).ok());
    ASSERT_TRUE(db->insert_invoice("inv_1", job.id, "lnbc1", 1000, 5000, 3605).ok());
    ASSERT_TRUE(db->mark_invoice_paid("inv_1", 1000, 6000).ok());
    EXPECT_EQ(db->mark_invoice_paid("inv_2", 1, 1).error().code(), Errc::not_found);
    EXPECT_FALSE(db->relay_cursor("wss://r").value().has_value());
    ASSERT_TRUE(db->set_relay_cursor("wss://r", 100, 1).ok());
    ASSERT_TRUE(db->set_relay_cursor("wss://r", 90, 2).ok());  // back: a request held back
    EXPECT_EQ(db->relay_cursor("wss://r").value(), 90);
    ASSERT_TRUE(db->set_state_value("nip89_published_at", "123", 1).ok());
    EXPECT_EQ(db->state_value("nip89_published_at").value(), "123");
}

TEST(StoreDb, FileDatabaseReopensAndMigrationsAreIdempotent) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    {
        auto db = StoreDb::open({path});
        ASSERT_TRUE(db.ok()) << db.error().message();
        ASSERT_TRUE((*db)->insert_job(make_job(1)).ok());
        // WAL: the write went to the log beside the file (which is in WAL mode for every
        // connection, ours or the CLI's read-only ones).
        EXPECT_TRUE(test::read_file(path + "-wal").ok());
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
        sqlite3_stmt* st = nullptr;
        ASSERT_EQ(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, nullptr), SQLITE_OK);
        ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
        EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
        sqlite3_finalize(st);
        sqlite3_close(raw);
    }
    for (int i = 0; i < 2; i++) {
        auto db = StoreDb::open({path});
        ASSERT_TRUE(db.ok()) << db.error().message();
        EXPECT_EQ((*db)->applied_migrations()->size(), migrations().size());
        EXPECT_EQ((*db)->counts()->jobs_total, 1u);
    }
    auto ro = StoreDb::open({path, true});
    ASSERT_TRUE(ro.ok()) << ro.error().message();
    EXPECT_EQ((*ro)->list_jobs({10, ""})->size(), 1u);
    EXPECT_FALSE((*ro)->insert_job(make_job(2)).ok());
}

TEST(StoreDb, PylonV01DatabaseUpgradesInPlace) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    {
        sqlite3* raw = nullptr;
        ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
        std::string sql = std::string(migrations_table_sql) + ";" +
                          std::string(migrations()[0].sql) + std::string(migrations()[1].sql) +
                          "INSERT INTO migrations (name) VALUES ('001_initial_schema');"
                          "INSERT INTO migrations (name) VALUES ('002_invoices');"
                          "INSERT INTO jobs (id, kind, customer_pubkey, status, started_at) "
                          "VALUES ('job_abc', 5050, 'c', 'completed', 1);";
        ASSERT_EQ(sqlite3_exec(raw, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
        sqlite3_close(raw);
    }
    auto ro = StoreDb::open({path, true});
    ASSERT_FALSE(ro.ok());
    EXPECT_NE(ro.error().message().find("pylon start"), std::string::npos);
    auto db = StoreDb::open({path});
    ASSERT_TRUE(db.ok()) << db.error().message();
    auto jobs = (*db)->list_jobs({10, ""});
    ASSERT_TRUE(jobs.ok());
    ASSERT_EQ(jobs->size(), 1u);
    EXPECT_EQ((*jobs)[0].id, "job_abc");
    EXPECT_EQ((*jobs)[0].request_id, "");
}

// A database from before migration 009 (pending_results) gets the table (009, then 010's
// shape); its unfinished jobs come back without a pending result (they run again, as they did).
TEST(StoreDb, PendingResultsMigrationAppliesToAnExistingDatabase) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    NewJob job = make_job(1);
    {
        auto db = StoreDb::open({path});
        ASSERT_TRUE(db.ok()) << db.error().message();
        ASSERT_TRUE((*db)->insert_job(job).ok());
        ASSERT_TRUE((*db)
                        ->exec("DROP TABLE pending_results; DELETE FROM migrations WHERE name IN "
                               "('009_pending_results', '010_pending_results_by_seq')")
                        .ok());
        EXPECT_EQ((*db)->applied_migrations()->size(), migrations().size() - 2);
    }
    auto db = StoreDb::open({path});
    ASSERT_TRUE(db.ok()) << db.error().message();
    EXPECT_EQ((*db)->applied_migrations()->back(), "010_pending_results_by_seq");
    auto before = (*db)->unfinished_jobs();
    ASSERT_TRUE(before.ok()) << before.error().message();
    ASSERT_EQ(before->size(), 1u);
    EXPECT_EQ(before->front().result_frame, "");
    ASSERT_TRUE((*db)->record_pending_result(job.id, std::string(64, 'f'), "[\"f\"]", 1, 0).ok());
    EXPECT_EQ((*db)->unfinished_jobs()->front().result_frame, "[\"f\"]");
}

// A database at migration 009 (pending_results keyed by job id) keeps its signed results through
// migration 010: the unfinished job brings its result back, under a row number that its end
// deletes.
TEST(StoreDb, PendingResultsKeepTheirFramesThroughTheMoveToRowNumbers) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    NewJob job = make_job(1);
    NewJob done = make_job(2);
    {
        auto db = StoreDb::open({path});
        ASSERT_TRUE(db.ok()) << db.error().message();
        ASSERT_TRUE((*db)->insert_job(job).ok());
        ASSERT_TRUE((*db)->insert_job(done).ok());
        ASSERT_TRUE((*db)->complete_job(done.id, JobCompletion{5, 0, {}, "", "", {}, 0}).ok());
        std::string sql =
            "DROP TABLE pending_results; CREATE TABLE pending_results (job_id TEXT PRIMARY KEY, "
            "result_event_id TEXT NOT NULL, frame TEXT NOT NULL, recorded_at_ms INTEGER NOT "
            "NULL) WITHOUT ROWID; INSERT INTO pending_results VALUES ('" +
            job.id + "', '" + std::string(64, 'f') + "', '[\"f\"]', 7), ('" + done.id + "', '" +
            std::string(64, 'd') +
            "', '[\"d\"]', 6); DELETE FROM migrations WHERE name = '010_pending_results_by_seq'";
        ASSERT_TRUE((*db)->exec(sql).ok());
    }
    auto db = StoreDb::open({path});
    ASSERT_TRUE(db.ok()) << db.error().message();
    EXPECT_EQ((*db)->applied_migrations()->back(), "010_pending_results_by_seq");
    auto r = (*db)->reconcile(job.received_at_ms, 300'000, "interrupted by a restart");
    ASSERT_TRUE(r.ok()) << r.error().message();
    ASSERT_EQ(r->rerun.size(), 1u);
    const UnfinishedJob& u = r->rerun.front();
    EXPECT_EQ(u.result_frame, "[\"f\"]");
    EXPECT_EQ(u.result_event_id, std::string(64, 'f'));
    ASSERT_GT(u.result_seq, 0);
    ASSERT_TRUE(
        (*db)->complete_job(job.id, JobCompletion{9, 0, {}, "", "", {}, u.result_seq}).ok());
    // Both rows are gone: the completed job's by the reconcile, the other by its completion.
    ASSERT_TRUE((*db)->exec("UPDATE jobs SET status = 'pending'").ok());
    auto left = (*db)->unfinished_jobs();
    ASSERT_TRUE(left.ok());
    for (const UnfinishedJob& l : *left) {
        EXPECT_EQ(l.result_frame, "") << l.id;
    }
}

TEST(StoreDb, NewerSchemaIsRefusedAndLeftUntouched) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    {
        auto db = StoreDb::open({path});
        ASSERT_TRUE(db.ok());
        ASSERT_TRUE(
            (*db)->exec("INSERT INTO migrations (name) VALUES ('099_from_the_future')").ok());
    }
    auto before = test::read_file(path);
    ASSERT_TRUE(before.ok());
    auto db = StoreDb::open({path});
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.error().code(), Errc::corrupt);
    EXPECT_NE(db.error().message().find("099_from_the_future"), std::string::npos);
    EXPECT_NE(db.error().message().find("newer Pylon"), std::string::npos);
    EXPECT_EQ(test::read_file(path).value(), before.value());
}

TEST(StoreDb, CorruptFileIsRefusedAndLeftUntouched) {
    auto dir = test::TempDir::create("pylon-store");
    ASSERT_TRUE(dir.ok());
    std::string path = dir->file("pylon.db");
    std::string garbage(8192, 'x');
    ASSERT_TRUE(test::write_file(path, garbage).ok());
    auto db = StoreDb::open({path});
    ASSERT_FALSE(db.ok());
    EXPECT_EQ(db.error().code(), Errc::corrupt);
    EXPECT_NE(db.error().message().find("not a SQLite database"), std::string::npos);
    EXPECT_EQ(test::read_file(path).value(), garbage);

    // A real database with a damaged page: valid header, broken b-tree.
    std::string damaged = dir->file("damaged.db");
    {
        auto good = StoreDb::open({damaged});
        ASSERT_TRUE(good.ok());
        for (int i = 0; i < 200; i++) {
            ASSERT_TRUE((*good)->insert_job(make_job(i)).ok());
        }
        ASSERT_TRUE((*good)->exec("PRAGMA wal_checkpoint(TRUNCATE)").ok());
    }
    std::string bytes = test::read_file(damaged).value();
    ASSERT_GT(bytes.size(), 4096u * 4);
    for (std::size_t i = 4096 * 2; i < bytes.size(); i += 7) {
        bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
    }
    ASSERT_TRUE(test::write_file(damaged, bytes).ok());
    auto bad = StoreDb::open({damaged});
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code(), Errc::corrupt) << bad.error().message();
    EXPECT_NE(bad.error().message().find("untouched"), std::string::npos);
    EXPECT_EQ(test::read_file(damaged).value(), bytes);
}

}  // namespace
}  // namespace pylon::engine
