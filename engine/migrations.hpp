// Migrations: the schema of pylon.db as an ordered list of named SQL batches, applied once each
// and recorded in Pylon v0.1's `migrations` table. 001_initial_schema and 002_invoices are Pylon
// v0.1's schema as it was (jobs, earnings, agents, tick_history, invoices, with their CHECKs and
// indexes), so a Pylon v0.1 database opens and upgrades in place; 003 onwards are ours. A
// database that records a migration not in this list was written by a newer Pylon and is
// refused. Append only: never edit a migration that has shipped. Constant data: any thread.
#pragma once

#include <span>
#include <string_view>

namespace pylon::engine {

struct Migration {
    std::string_view name;  // "001_initial_schema"
    std::string_view sql;
};

// Pylon v0.1's migrations table (created before any migration runs).
extern const std::string_view migrations_table_sql;

// Every migration, in the order applied.
std::span<const Migration> migrations();

}  // namespace pylon::engine
