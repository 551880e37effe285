// Fuzz replay: a standalone main() for the libFuzzer targets in tests/fuzz, so the default test
// suite runs every target in the normal and ASan builds without clang or libFuzzer (ctest
// fuzz_replay_<name>, label unit). It feeds the target every seed input, then a deterministic,
// bounded stream of mutations of them: bit flips, byte changes, insertions, deletions,
// duplicated ranges, splices, truncations and dictionary tokens (libFuzzer .dict format). The
// stream depends only on the seed, so `--seed S --mutations N` replays it exactly; --time-ms cuts
// it short on a slow machine (the count run is printed). On a crash (a FUZZ_CHECK abort, a fatal
// signal or a sanitizer report) the current input is written to <artifacts>/<target>-crash and
// the seed and mutation index are printed; rerun the target on that file to reproduce.
// Real coverage-guided fuzzing stays with scripts/fuzz.sh (clang, libFuzzer).
// Single-threaded. Usage:
//   <target>_replay [--seed N] [--mutations N] [--time-ms N] [--max-len BYTES] [--dict FILE]
//                   [--artifacts DIR] [--seeds-min N] [PATH...]   (PATH: a file or a folder)
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);
// Present only when a sanitizer runtime is linked (ASan/UBSan builds): called before it dies.
extern "C" void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

namespace {

constexpr std::size_t input_files_max = 4096;          // seed files read per run
constexpr std::size_t input_file_bytes_max = 1 << 20;  // larger seed files are skipped
constexpr std::size_t dict_tokens_max = 4096;
constexpr std::size_t path_bytes_max = 4096;
constexpr std::size_t crash_hex_bytes_max = 256;  // bytes of a crashing input shown on stderr

struct Options {
    std::string target;
    std::uint64_t seed = 0;
    std::size_t mutations_max = 2000;
    std::uint64_t time_ms_max = 3000;
    std::size_t input_bytes_max = 16384;
    std::size_t seeds_min = 0;
    std::string dict_path;
    std::string artifacts_dir = ".";
    std::vector<std::string> paths;
};

// What the crash handlers dump: set before every run, read only from the handlers.
const std::uint8_t* g_input = nullptr;
std::size_t g_input_bytes = 0;
char g_artifact_path[path_bytes_max];
char g_label[256];
std::atomic<bool> g_dumped{false};

void write_all(int fd, const char* data, std::size_t n) {
    for (int tries = 0; n > 0 && tries < 1024; tries++) {
        ssize_t w = ::write(fd, data, n);
        if (w <= 0) {
            return;
        }
        data += w;
        n -= static_cast<std::size_t>(w);
    }
}

void write_str(int fd, const char* s) {
    write_all(fd, s, std::strlen(s));
}

// Async-signal-safe: open/write/close only, no allocation.
void dump_current_input() {
    if (g_dumped.exchange(true) || g_input == nullptr) {
        return;
    }
    write_str(2, "\nfuzz replay: CRASH on ");
    write_str(2, g_label);
    write_str(2, "\nfuzz replay: input written to ");
    write_str(2, g_artifact_path);
    write_str(2, " (rerun: <target>_replay --mutations 0 <that file>)\nfuzz replay: input hex: ");
    static const char digits[] = "0123456789abcdef";
    std::size_t shown = std::min(g_input_bytes, crash_hex_bytes_max);
    for (std::size_t i = 0; i < shown; i++) {
        char hex[2] = {digits[g_input[i] >> 4], digits[g_input[i] & 15]};
        write_all(2, hex, 2);
    }
    write_str(2, shown < g_input_bytes ? "...\n" : "\n");
    int fd = ::open(g_artifact_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        write_all(fd, reinterpret_cast<const char*>(g_input), g_input_bytes);
        ::close(fd);
    }
}

void on_fatal_signal(int sig) {
    dump_current_input();
    ::signal(sig, SIG_DFL);
    ::raise(sig);
}

void install_crash_handlers() {
    if (__sanitizer_set_death_callback != nullptr) {
        // The sanitizer owns SIGSEGV & co. (its report has the stack); it calls us before dying.
        __sanitizer_set_death_callback(dump_current_input);
        ::signal(SIGABRT, on_fatal_signal);  // FUZZ_CHECK, PYLON_ASSERT, abort_on_error
        return;
    }
    for (int sig : {SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL}) {
        ::signal(sig, on_fatal_signal);
    }
}

// splitmix64: small, fast, and the whole stream follows from the seed.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(next() % n); }

  private:
    std::uint64_t state_;
};

std::uint64_t fnv1a(std::string_view s) {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (char c : s) {
        h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    return h;
}

bool parse_u64(const char* s, std::uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(s, &end, 0);
    if (errno != 0 || end == s || *end != '\0') {
        return false;
    }
    out = v;
    return true;
}

bool parse_args(int argc, char** argv, Options& o) {
    std::string self = std::filesystem::path(argv[0]).filename().string();
    o.target =
        self.size() > 7 && self.ends_with("_replay") ? self.substr(0, self.size() - 7) : self;
    o.seed = fnv1a(o.target);
    if (const char* env = std::getenv("PYLON_FUZZ_SEED"); env != nullptr && *env != '\0') {
        if (!parse_u64(env, o.seed)) {
            std::fprintf(stderr, "fuzz replay: bad PYLON_FUZZ_SEED %s\n", env);
            return false;
        }
    }
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        std::uint64_t v = 0;
        bool has_value = i + 1 < argc;
        if (a == "--dict" && has_value) {
            o.dict_path = argv[++i];
        } else if (a == "--artifacts" && has_value) {
            o.artifacts_dir = argv[++i];
        } else if ((a == "--seed" || a == "--mutations" || a == "--time-ms" || a == "--max-len" ||
                    a == "--seeds-min") &&
                   has_value) {
            if (!parse_u64(argv[++i], v)) {
                std::fprintf(stderr, "fuzz replay: %s needs a number\n", argv[i - 1]);
                return false;
            }
            if (a == "--seed") {
                o.seed = v;
            } else if (a == "--mutations") {
                o.mutations_max = static_cast<std::size_t>(v);
            } else if (a == "--time-ms") {
                o.time_ms_max = v;
            } else if (a == "--max-len") {
                o.input_bytes_max = std::max<std::size_t>(1, static_cast<std::size_t>(v));
            } else {
                o.seeds_min = static_cast<std::size_t>(v);
            }
        } else if (a.starts_with("--")) {
            std::fprintf(stderr, "fuzz replay: unknown option %s\n", argv[i]);
            return false;
        } else {
            o.paths.emplace_back(a);
        }
    }
    return true;
}

bool read_file(const std::filesystem::path& p, std::string& out) {
    int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    out.clear();
    char buf[65536];
    bool ok = true;
    for (std::size_t reads = 0; reads < input_file_bytes_max / sizeof buf + 2; reads++) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n <= 0) {
            ok = n == 0;
            break;
        }
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > input_file_bytes_max) {
            ok = false;
            break;
        }
    }
    ::close(fd);
    return ok;
}

// Every regular file named (or inside a named folder, not recursive), in name order.
std::vector<std::string> load_inputs(const std::vector<std::string>& paths) {
    std::vector<std::filesystem::path> files;
    for (const auto& p : paths) {
        std::error_code ec;
        if (std::filesystem::is_directory(p, ec)) {
            for (auto it = std::filesystem::directory_iterator(p, ec);
                 !ec && it != std::filesystem::directory_iterator() &&
                 files.size() < input_files_max;
                 it.increment(ec)) {
                if (it->is_regular_file(ec)) {
                    files.push_back(it->path());
                }
            }
        } else if (std::filesystem::is_regular_file(p, ec)) {
            files.emplace_back(p);
        } else {
            std::fprintf(stderr, "fuzz replay: warning: no such input %s\n", p.c_str());
        }
    }
    std::sort(files.begin(), files.end());
    files.resize(std::min(files.size(), input_files_max));
    std::vector<std::string> inputs;
    for (const auto& f : files) {
        std::string data;
        if (read_file(f, data)) {
            inputs.push_back(std::move(data));
        }
    }
    return inputs;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// libFuzzer dictionary: one `name="token"` or `"token"` a line; \\, \" and \xNN escapes.
std::vector<std::string> load_dict(const std::string& path) {
    std::vector<std::string> tokens;
    if (path.empty()) {
        return tokens;
    }
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line) && tokens.size() < dict_tokens_max) {
        std::size_t open = line.find('"');
        std::size_t close = line.rfind('"');
        if (line.starts_with("#") || open == std::string::npos || close <= open) {
            continue;
        }
        std::string token;
        for (std::size_t i = open + 1; i < close; i++) {
            if (line[i] == '\\' && i + 1 < close && line[i + 1] == 'x' && i + 3 < close &&
                hex_value(line[i + 2]) >= 0 && hex_value(line[i + 3]) >= 0) {
                token.push_back(
                    static_cast<char>(hex_value(line[i + 2]) * 16 + hex_value(line[i + 3])));
                i += 3;
            } else if (line[i] == '\\' && i + 1 < close) {
                token.push_back(line[++i]);
            } else {
                token.push_back(line[i]);
            }
        }
        tokens.push_back(std::move(token));
    }
    if (tokens.empty()) {
        std::fprintf(stderr, "fuzz replay: warning: no tokens in dictionary %s\n", path.c_str());
    }
    return tokens;
}

struct Mutator {
    Rng& rng;
    const std::vector<std::string>& inputs;
    const std::vector<std::string>& dict;
    std::size_t bytes_max;

    char random_byte() {
        static constexpr char interesting[] = {'\0', '\xff', '\x7f', '\x80', '"', '\\', '{',  '}',
                                               '[',  ']',    ',',    ':',    '0', '-',  '\n', ' '};
        if (rng.below(2) == 0) {
            return interesting[rng.below(sizeof interesting)];
        }
        return static_cast<char>(rng.below(256));
    }

    std::string token() {
        if (!dict.empty() && rng.below(2) == 0) {
            return dict[rng.below(dict.size())];
        }
        std::string t(1 + rng.below(8), '\0');
        for (char& c : t) {
            c = random_byte();
        }
        return t;
    }

    void apply_one(std::string& d) {
        std::size_t at = rng.below(d.size() + 1);
        std::size_t span =
            1 + rng.below(std::max<std::size_t>(1, d.size() - std::min(at, d.size())));
        switch (d.empty() ? 2 : rng.below(8)) {
            case 0:  // flip one bit
                d[std::min(at, d.size() - 1)] ^= static_cast<char>(1 << rng.below(8));
                break;
            case 1:  // overwrite one byte
                d[std::min(at, d.size() - 1)] = random_byte();
                break;
            case 2:  // insert random bytes or a dictionary token
                d.insert(at, token());
                break;
            case 3:  // delete a range
                d.erase(std::min(at, d.size() - 1), std::min<std::size_t>(span, 64));
                break;
            case 4: {  // duplicate a range of itself somewhere else
                std::string part =
                    d.substr(std::min(at, d.size() - 1), std::min<std::size_t>(span, 64));
                d.insert(rng.below(d.size() + 1), part);
                break;
            }
            case 5: {  // splice: our prefix, another input's suffix
                const std::string& other = inputs.empty() ? d : inputs[rng.below(inputs.size())];
                std::string tail = other.substr(rng.below(other.size() + 1));
                d = d.substr(0, at) + tail;
                break;
            }
            case 6:  // truncate
                d.resize(at);
                break;
            default:  // replace a range with a dictionary token
                d.replace(std::min(at, d.size()), std::min<std::size_t>(span, 8), token());
                break;
        }
    }

    std::string next() {
        std::string d = inputs.empty() ? std::string() : inputs[rng.below(inputs.size())];
        for (std::size_t n = 1 + rng.below(4), i = 0; i < n; i++) {
            apply_one(d);
        }
        if (d.size() > bytes_max) {
            d.resize(bytes_max);
        }
        return d;
    }
};

void run_one(const std::string& data) {
    // An exactly sized heap copy, so ASan sees any read past the end.
    auto copy = std::make_unique<std::uint8_t[]>(std::max<std::size_t>(1, data.size()));
    std::memcpy(copy.get(), data.data(), data.size());
    g_input = copy.get();
    g_input_bytes = data.size();
    LLVMFuzzerTestOneInput(copy.get(), data.size());
    g_input = nullptr;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse_args(argc, argv, o)) {
        return 2;
    }
    std::snprintf(g_artifact_path, sizeof g_artifact_path, "%s/%s-crash", o.artifacts_dir.c_str(),
                  o.target.c_str());
    install_crash_handlers();
    std::vector<std::string> inputs = load_inputs(o.paths);
    std::vector<std::string> dict = load_dict(o.dict_path);
    std::printf("fuzz replay %s: seed %llu (rerun: --seed %llu), %zu seed inputs, %zu tokens\n",
                o.target.c_str(), static_cast<unsigned long long>(o.seed),
                static_cast<unsigned long long>(o.seed), inputs.size(), dict.size());
    std::fflush(stdout);
    if (inputs.size() < o.seeds_min) {
        std::fprintf(stderr, "fuzz replay: %zu seed inputs, expected at least %zu\n", inputs.size(),
                     o.seeds_min);
        return 1;
    }
    for (std::size_t i = 0; i < inputs.size(); i++) {
        std::snprintf(g_label, sizeof g_label, "seed input %zu", i);
        run_one(inputs[i]);
    }
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::milliseconds(o.time_ms_max);
    Rng rng(o.seed);
    Mutator mutator{rng, inputs, dict, o.input_bytes_max};
    std::size_t done = 0;
    for (; done < o.mutations_max && std::chrono::steady_clock::now() < deadline; done++) {
        std::string data = mutator.next();
        std::snprintf(g_label, sizeof g_label, "seed %llu, mutation %zu",
                      static_cast<unsigned long long>(o.seed), done);
        run_one(data);
    }
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - start);
    std::printf("fuzz replay %s: ok, %zu mutations in %lld ms%s\n", o.target.c_str(), done,
                static_cast<long long>(ms.count()),
                done < o.mutations_max ? " (time bound reached)" : "");
    return 0;
}
