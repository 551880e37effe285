// `pylon init`, `pylon identity`, `pylon event sign`, `pylon event verify`: the node's key.
// init writes identity.mnemonic atomically (temp file 0600 + fsync + rename; nothing is written
// when the phrase is refused) and a default config.toml if there is none.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "engine/cli_commands.hpp"
#include "engine/config_file.hpp"
#include "engine/identity_file.hpp"
#include "engine/settings.hpp"
#include "proto/event.hpp"
#include "proto/hex.hpp"
#include "proto/json_reader.hpp"
#include "proto/json_writer.hpp"
#include "proto/mnemonic.hpp"
#include "proto/nip06.hpp"
#include "proto/nip19.hpp"
#include "proto/secret.hpp"
#include "reactor/fd_io.hpp"

namespace pylon::engine {
namespace {

constexpr std::size_t stdin_bytes_max = 1 << 20;

bool file_exists(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0;
}

Result<std::string> read_stdin(std::size_t bytes_max) {
    return read_fd_all(STDIN_FILENO, bytes_max, "stdin");
}

// The config (for data_dir and identity.account); --account overrides the account.
Result<Config> load_config_for(CliContext& ctx) {
    auto loaded = load_config_file(ctx.home.config_path());
    if (!loaded.ok()) {
        return std::move(loaded).error();
    }
    return loaded->config;
}

Result<std::uint32_t> account_of(CliContext& ctx, const Config& config) {
    auto acct = ctx.args.integer("account", config.identity.account, 0, 0x7fffffff);
    if (!acct.ok()) {
        return std::move(acct).error();
    }
    return static_cast<std::uint32_t>(acct.value());
}

void print_identity_json(std::FILE* out, const NodeIdentity& id, const std::string& path) {
    std::string s;
    proto::JsonWriter w(s);
    w.begin_object();
    w.field("npub", id.npub);
    w.field("pubkey", id.pubkey_hex);
    w.field_int("account", id.account);
    w.field("mnemonic_path", path);
    w.end_object();
    std::fprintf(out, "%s\n", s.c_str());
}

Result<proto::Mnemonic> phrase_for_init(CliContext& ctx) {
    if (!ctx.args.has("import")) {
        return proto::Mnemonic::generate(12, proto::csprng());
    }
    auto text = read_stdin(proto::Mnemonic::input_bytes_max);
    if (!text.ok()) {
        return std::move(text).error();
    }
    std::string line = text.value().substr(0, text.value().find('\n'));
    proto::wipe_bytes(text.value().data(), text.value().size());
    proto::MnemonicCheck check = proto::Mnemonic::check(line);
    // Any wrong count says what --import takes (BIP-39's own rule, 12 to 24 in steps of 3, is
    // wider: a valid 15-word phrase is still refused here).
    bool count_ok = check.word_count == 12 || check.word_count == 24;
    if (!check.ok() || !count_ok) {
        proto::wipe_bytes(line.data(), line.size());
        return Error(Errc::invalid_input,
                     !count_ok && (check.ok() || check.error == proto::MnemonicError::word_count)
                         ? "--import takes a 12 or 24 word phrase, got " +
                               std::to_string(check.word_count) + " words"
                         : check.message());
    }
    auto m = proto::Mnemonic::parse(line);
    proto::wipe_bytes(line.data(), line.size());
    return m;
}

int identity_exists(CliContext& ctx, const std::string& path) {
    std::fprintf(ctx.err, "Identity already exists at %s\nUse --force to overwrite\n",
                 path.c_str());
    return exit_failure;
}

}  // namespace

int cmd_init(CliContext& ctx) {
    auto config = load_config_for(ctx);
    if (!config.ok()) {
        return fail(ctx, config.error().message());
    }
    auto account = account_of(ctx, config.value());
    if (!account.ok()) {
        std::fprintf(ctx.err, "pylon init: %s\n", account.error().message().c_str());
        return exit_usage;
    }
    if (Status st = ctx.home.ensure_exists(); !st.ok()) {
        return fail(ctx, st.error().message());
    }
    std::string path = identity_path(ctx.home, config.value());
    // A data_dir that does not exist yet is made like the home (0700, with its parents).
    if (std::size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0) {
        if (Status st = Home(path.substr(0, slash)).ensure_exists(); !st.ok()) {
            return fail(ctx, "data_dir: " + st.error().message());
        }
    }
    if (file_exists(path) && !ctx.args.has("force")) {
        return identity_exists(ctx, path);
    }
    auto mnemonic = phrase_for_init(ctx);
    if (!mnemonic.ok()) {
        return fail(ctx, mnemonic.error().message() + " (nothing was written)");
    }
    auto keypair = proto::nip06_keypair(mnemonic.value(), "", account.value());
    if (!keypair.ok()) {
        return fail(ctx, keypair.error().message());
    }
    std::string line = mnemonic->phrase() + "\n";
    // Without --force the name is taken only if still free: of two inits racing (two start-node.sh
    // at once), one writes and the other says so, so no one is shown a phrase that was replaced.
    Status st = ctx.args.has("force") ? write_file_atomically(path, line, 0600)
                                      : write_new_file_atomically(path, line, 0600);
    proto::wipe_bytes(line.data(), line.size());
    if (!st.ok() && st.error().code() == Errc::exists && !ctx.args.has("force")) {
        return identity_exists(ctx, path);
    }
    if (!st.ok()) {
        return fail(ctx, st.error().message());
    }
    bool wrote_config = false;
    if (!file_exists(ctx.home.config_path())) {
        Status cs = write_new_file_atomically(ctx.home.config_path(), default_config_toml(), 0600);
        if (!cs.ok() && cs.error().code() != Errc::exists) {
            return fail(ctx, cs.error().message());
        }
        wrote_config = cs.ok();
    }
    NodeIdentity id{std::move(keypair.value()), "", "", account.value()};
    id.npub = proto::npub_encode(id.keypair.public_key());
    id.pubkey_hex = id.keypair.public_key().hex();
    if (ctx.args.has("json")) {
        print_identity_json(ctx.out, id, path);
        return exit_ok;
    }
    if (!ctx.args.has("import")) {
        std::fprintf(ctx.out,
                     "\n  WARNING: write these words down and keep them secret. They are the only "
                     "backup of this node's key.\n\n  %s\n\n",
                     mnemonic->phrase().c_str());
    }
    std::fprintf(ctx.out, "npub:    %s\npubkey:  %s\naccount: %u (%s)\n", id.npub.c_str(),
                 id.pubkey_hex.c_str(), id.account, proto::nip06_path(id.account).c_str());
    std::fprintf(ctx.out, "Identity saved to %s\n", path.c_str());
    if (wrote_config) {
        std::fprintf(ctx.out, "Config saved to %s\n", ctx.home.config_path().c_str());
    }
    std::fprintf(ctx.out, "Run 'pylon start' to begin earning.\n");
    return exit_ok;
}

int cmd_identity(CliContext& ctx) {
    auto config = load_config_for(ctx);
    if (!config.ok()) {
        return fail(ctx, config.error().message());
    }
    auto account = account_of(ctx, config.value());
    if (!account.ok()) {
        std::fprintf(ctx.err, "pylon identity: %s\n", account.error().message().c_str());
        return exit_usage;
    }
    std::string path = identity_path(ctx.home, config.value());
    auto id = load_identity(path, account.value());
    if (!id.ok()) {
        if (id.error().code() == Errc::not_found) {
            return fail(ctx, "No identity found at " + path + ". Run 'pylon init' first.");
        }
        return fail(ctx, id.error().message());
    }
    if (ctx.args.has("json")) {
        print_identity_json(ctx.out, id.value(), path);
        return exit_ok;
    }
    std::fprintf(ctx.out,
                 "npub:          %s\npubkey:        %s\naccount:       %u (%s)\n"
                 "mnemonic_path: %s\n",
                 id->npub.c_str(), id->pubkey_hex.c_str(), id->account,
                 proto::nip06_path(id->account).c_str(), path.c_str());
    return exit_ok;
}

int cmd_event_sign(CliContext& ctx) {
    auto config = load_config_for(ctx);
    if (!config.ok()) {
        return fail(ctx, config.error().message());
    }
    auto id = load_identity(identity_path(ctx.home, config.value()),
                            static_cast<std::uint32_t>(config->identity.account));
    if (!id.ok()) {
        return fail(ctx, id.error().code() == Errc::not_found
                             ? "No identity found. Run 'pylon init' first."
                             : id.error().message());
    }
    auto text = read_stdin(stdin_bytes_max);
    if (!text.ok()) {
        return fail(ctx, text.error().message());
    }
    proto::JsonReader reader;
    proto::Event ev;
    proto::Reject r =
        ev.read_template(reader, text.value(), static_cast<std::int64_t>(std::time(nullptr)));
    if (r != proto::Reject::none) {
        return fail(ctx, "unsigned event refused: " + std::string(proto::reject_text(r)));
    }
    ev.sign(id->keypair);
    std::fprintf(ctx.out, "%s\n", ev.to_json().c_str());
    return exit_ok;
}

int cmd_event_verify(CliContext& ctx) {
    auto text = read_stdin(stdin_bytes_max);
    if (!text.ok()) {
        return fail(ctx, text.error().message());
    }
    proto::JsonReader reader;
    proto::Event ev;
    proto::Reject r = ev.read_json(reader, text.value());
    if (r == proto::Reject::none) {
        r = ev.verify();
    }
    if (r != proto::Reject::none) {
        if (ctx.args.has("json")) {
            std::fprintf(ctx.out, "{\"valid\":false,\"reason\":\"%s\"}\n",
                         std::string(proto::reject_name(r)).c_str());
        } else {
            std::fprintf(ctx.out, "invalid: %s\n", std::string(proto::reject_text(r)).c_str());
        }
        return exit_failure;
    }
    if (ctx.args.has("json")) {
        std::string hex;
        proto::hex_append(hex, ev.id());
        std::fprintf(ctx.out, "{\"valid\":true,\"id\":\"%s\"}\n", hex.c_str());
        return exit_ok;
    }
    std::fprintf(ctx.out, "valid\n");
    return exit_ok;
}

}  // namespace pylon::engine
