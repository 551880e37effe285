#include "tools/pylon_bench/bench_report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>

namespace pylon::bench {
namespace {

constexpr std::size_t bins_max = 48;

void appendf(std::string& out, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
void appendf(std::string& out, const char* fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > 0) {
        out.append(buf, std::min(static_cast<std::size_t>(n), sizeof buf - 1));
    }
}

double crypto_bound_jobs_per_s(const BenchReport& r) {
    return r.crypto_us_per_job > 0 ? 1e6 / r.crypto_us_per_job * r.options.shards : 0;
}

double node_rest_cpu_us_per_job(const BenchReport& r) {
    return std::max(
        0.0, r.node_cpu_us_per_job - r.node_shard_cpu_us_per_job - r.node_store_cpu_us_per_job);
}

// What one shard would take with a core of its own: 10^6 / its CPU per job, and that against
// the crypto bound of one core.
double shard_capacity_jobs_per_s(const BenchReport& r) {
    double per_shard_us = r.node_shard_cpu_us_per_job;
    return per_shard_us > 0 ? 1e6 / per_shard_us : 0;
}

double shard_capacity_over_bound(const BenchReport& r) {
    return r.node_shard_cpu_us_per_job > 0 ? r.crypto_us_per_job / r.node_shard_cpu_us_per_job : 0;
}

std::string json_escape(const std::string& s) {
    std::string out;
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out.push_back('\\');
            out.push_back(ch);
        } else if (c < 0x20) {
            appendf(out, "\\u%04x", c);
        } else {
            out.push_back(ch);
        }
    }
    return out;
}

}  // namespace

std::string report_text(const BenchReport& r) {
    const BenchOptions& o = r.options;
    const SimStats& s = r.sim;
    std::string t;
    appendf(t, "pylon-bench: %zu jobs, %u shard(s), inflight %u, %d token(s) at %d ms/token, %s\n",
            o.jobs, o.shards, o.inflight, o.tokens, o.token_delay_ms, o.backend.c_str());
    appendf(t, "  throughput   %.0f jobs/s (%.2f s)\n", r.jobs_per_s, s.measured_seconds);
    appendf(t, "  latency      p50 %lld us, p99 %lld us, p99.9 %lld us, max %lld us\n",
            static_cast<long long>(r.latency_us_p50), static_cast<long long>(r.latency_us_p99),
            static_cast<long long>(r.latency_us_p999), static_cast<long long>(r.latency_us_max));
    appendf(t, "  node CPU     %.1f us/job (%.2f CPU s): shards %.1f, store %.1f, rest %.1f\n",
            r.node_cpu_us_per_job, r.node_cpu_seconds, r.node_shard_cpu_us_per_job,
            r.node_store_cpu_us_per_job, node_rest_cpu_us_per_job(r));
    appendf(t, "  sleeps       %.2f per job on the shards, %.2f on the store thread\n",
            r.node_shard_sleeps_per_job, r.node_store_sleeps_per_job);
    appendf(t,
            "  others       fake backend %.1f us/job, pylon-bench (relay simulator) %.1f us/job\n",
            r.backend_cpu_us_per_job, r.bench_cpu_us_per_job);
    if (r.store_transactions > 0) {
        appendf(t, "  store        %llu requests in %llu transactions (%.1f each), %llu failed\n",
                static_cast<unsigned long long>(r.store_requests),
                static_cast<unsigned long long>(r.store_transactions),
                static_cast<double>(r.store_requests) / static_cast<double>(r.store_transactions),
                static_cast<unsigned long long>(r.store_failed_commits));
    }
    const TokenLatency& tl = r.token_latency;
    if (tl.present) {
        appendf(t,
                "  node/token   p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us (%llu "
                "chunks: read -> partial or result handed to the relays)\n",
                tl.p50_us, tl.p99_us, tl.p999_us, tl.max_us,
                static_cast<unsigned long long>(tl.count));
    } else {
        appendf(t, "  node/token   not read: %s\n", r.token_latency_error.c_str());
    }
    appendf(t, "  crypto       %.1f us/job (verify %.1f + 2 x sign %.1f)\n", r.crypto_us_per_job,
            r.crypto_verify_us, r.crypto_sign_us);
    if (r.crypto_us_per_job > 0) {
        appendf(t, "  ratios       node CPU / crypto %.2f; throughput / crypto bound %.2f\n",
                r.node_cpu_us_per_job / r.crypto_us_per_job,
                r.jobs_per_s / crypto_bound_jobs_per_s(r));
        appendf(t,
                "               shard CPU / crypto %.2f: a shard on a core of its own would "
                "take %.0f jobs/s, %.2f of the crypto bound\n",
                r.node_shard_cpu_us_per_job / r.crypto_us_per_job, shard_capacity_jobs_per_s(r),
                shard_capacity_over_bound(r));
    }
    appendf(t, "  memory       peak RSS %.1f MB; RSS %.1f MB -> %.1f MB over the run\n",
            static_cast<double>(r.rss_peak_bytes) / 1e6,
            static_cast<double>(r.rss_start_bytes) / 1e6,
            static_cast<double>(r.rss_end_bytes) / 1e6);
    appendf(t,
            "  events       %llu results, feedback %llu processing / %llu partial / %llu success "
            "/ %llu error; %llu verified, %llu bad signatures, %llu wrong e tags\n",
            static_cast<unsigned long long>(s.results),
            static_cast<unsigned long long>(s.feedback_processing),
            static_cast<unsigned long long>(s.feedback_partial),
            static_cast<unsigned long long>(s.feedback_success),
            static_cast<unsigned long long>(s.feedback_error),
            static_cast<unsigned long long>(s.verified),
            static_cast<unsigned long long>(s.verify_failed),
            static_cast<unsigned long long>(s.wrong_e_tag));
    if (s.measured_failed != 0 || s.feedback_error != 0) {
        appendf(t, "  errors       %zu measured jobs failed, %zu in the warm-up (first: %s)\n",
                s.measured_failed, s.warmup_failed, s.first_error_feedback.c_str());
    }
    return t;
}

std::string report_json(const BenchReport& r) {
    const BenchOptions& o = r.options;
    const SimStats& s = r.sim;
    std::string j = "{";
    appendf(j, "\"warmup_failed\":%zu,", s.warmup_failed);
    appendf(j, "\"jobs\":%zu,\"jobs_failed\":%zu,\"warmup\":%zu,\"seconds\":%.6f,", s.measured_done,
            s.measured_failed, o.warmup, s.measured_seconds);
    appendf(j, "\"jobs_per_s\":%.1f,", r.jobs_per_s);
    appendf(j, "\"latency_us_p50\":%lld,\"latency_us_p99\":%lld,\"latency_us_p999\":%lld,",
            static_cast<long long>(r.latency_us_p50), static_cast<long long>(r.latency_us_p99),
            static_cast<long long>(r.latency_us_p999));
    appendf(j, "\"latency_us_max\":%lld,\"latency_us_mean\":%.1f,",
            static_cast<long long>(r.latency_us_max), r.latency_us_mean);
    appendf(j, "\"node_cpu_us_per_job\":%.2f,\"node_cpu_s\":%.4f,", r.node_cpu_us_per_job,
            r.node_cpu_seconds);
    appendf(j, "\"backend_cpu_us_per_job\":%.2f,\"bench_cpu_us_per_job\":%.2f,",
            r.backend_cpu_us_per_job, r.bench_cpu_us_per_job);
    appendf(j,
            "\"node_shard_cpu_us_per_job\":%.2f,\"node_store_cpu_us_per_job\":%.2f,"
            "\"node_rest_cpu_us_per_job\":%.2f,",
            r.node_shard_cpu_us_per_job, r.node_store_cpu_us_per_job, node_rest_cpu_us_per_job(r));
    appendf(j, "\"node_shard_sleeps_per_job\":%.3f,\"node_store_sleeps_per_job\":%.3f,",
            r.node_shard_sleeps_per_job, r.node_store_sleeps_per_job);
    appendf(j, "\"store_requests\":%llu,\"store_transactions\":%llu,\"store_failed_commits\":%llu,",
            static_cast<unsigned long long>(r.store_requests),
            static_cast<unsigned long long>(r.store_transactions),
            static_cast<unsigned long long>(r.store_failed_commits));
    appendf(j, "\"shard_capacity_jobs_per_s\":%.1f,\"shard_capacity_over_bound\":%.3f,",
            shard_capacity_jobs_per_s(r), shard_capacity_over_bound(r));
    appendf(j, "\"crypto_us_per_job\":%.2f,\"crypto_sign_us\":%.2f,\"crypto_verify_us\":%.2f,",
            r.crypto_us_per_job, r.crypto_sign_us, r.crypto_verify_us);
    double ratio = r.crypto_us_per_job > 0 ? r.node_cpu_us_per_job / r.crypto_us_per_job : 0;
    double bound = crypto_bound_jobs_per_s(r);
    appendf(j, "\"cpu_over_crypto\":%.3f,\"crypto_bound_jobs_per_s\":%.1f,", ratio, bound);
    appendf(j, "\"throughput_over_bound\":%.3f,", bound > 0 ? r.jobs_per_s / bound : 0);
    appendf(j, "\"shards\":%u,\"inflight\":%u,\"tokens\":%d,\"token_delay_ms\":%d,", o.shards,
            o.inflight, o.tokens, o.token_delay_ms);
    appendf(j, "\"publish_queue_max\":%lld,", static_cast<long long>(o.publish_queue_max));
    appendf(j, "\"group_commit_wait_us\":%lld,\"group_commit_jobs_min\":%lld,",
            static_cast<long long>(o.group_commit_wait_us),
            static_cast<long long>(o.group_commit_jobs_min));
    appendf(j, "\"backend_slots\":%u,", o.backend_slots);
    const TokenLatency& tl = r.token_latency;
    appendf(j, "\"token_latency_count\":%llu,", static_cast<unsigned long long>(tl.count));
    if (tl.present) {
        appendf(j,
                "\"token_latency_us_p50\":%.1f,\"token_latency_us_p99\":%.1f,"
                "\"token_latency_us_p999\":%.1f,\"token_latency_us_max\":%.1f,"
                "\"token_latency_us_mean\":%.1f,",
                tl.p50_us, tl.p99_us, tl.p999_us, tl.max_us, tl.mean_us);
    }
    appendf(j, "\"rate_per_s\":%.1f,\"processing_delay_ms\":%lld,\"backend\":\"%s\",", o.rate_per_s,
            static_cast<long long>(o.processing_delay_ms), o.backend.c_str());
    appendf(j, "\"rss_peak_bytes\":%llu,\"rss_start_bytes\":%llu,\"rss_end_bytes\":%llu,",
            static_cast<unsigned long long>(r.rss_peak_bytes),
            static_cast<unsigned long long>(r.rss_start_bytes),
            static_cast<unsigned long long>(r.rss_end_bytes));
    j += "\"rss_samples_bytes\":[";
    for (std::size_t i = 0; i < r.rss_samples_bytes.size(); i++) {
        appendf(j, "%s%llu", i ? "," : "", static_cast<unsigned long long>(r.rss_samples_bytes[i]));
    }
    j += "],";
    appendf(j, "\"results\":%llu,\"results_duplicate\":%llu,",
            static_cast<unsigned long long>(s.results),
            static_cast<unsigned long long>(s.results_duplicate));
    appendf(j,
            "\"feedback\":{\"processing\":%llu,\"partial\":%llu,\"success\":%llu,\"error\":%llu,"
            "\"other\":%llu},",
            static_cast<unsigned long long>(s.feedback_processing),
            static_cast<unsigned long long>(s.feedback_partial),
            static_cast<unsigned long long>(s.feedback_success),
            static_cast<unsigned long long>(s.feedback_error),
            static_cast<unsigned long long>(s.feedback_other));
    appendf(j, "\"verified\":%llu,\"verify_failed\":%llu,\"wrong_e_tag\":%llu,",
            static_cast<unsigned long long>(s.verified),
            static_cast<unsigned long long>(s.verify_failed),
            static_cast<unsigned long long>(s.wrong_e_tag));
    appendf(j, "\"bad_messages\":%llu,\"connections\":%llu,\"sign_s\":%.3f,",
            static_cast<unsigned long long>(s.bad_messages),
            static_cast<unsigned long long>(s.connections), r.sign_seconds);
    j += "\"first_error\":\"" + json_escape(s.first_error_feedback) + "\"}";
    return j;
}

std::string latency_svg(const BenchReport& r) {
    const std::vector<std::int64_t>& lat = r.sim.latency_us;
    if (lat.empty()) {
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"40\">"
               "<text x=\"10\" y=\"20\">no latencies</text></svg>\n";
    }
    std::int64_t lo = 1;
    std::int64_t hi = 2;
    for (std::int64_t v : lat) {
        hi = std::max(hi, v + 1);
    }
    lo = std::max<std::int64_t>(1, *std::min_element(lat.begin(), lat.end()));
    double llo = std::log10(static_cast<double>(lo));
    double lhi = std::log10(static_cast<double>(hi));
    if (lhi - llo < 0.1) {
        lhi = llo + 0.1;
    }
    std::vector<std::size_t> bins(bins_max, 0);
    for (std::int64_t v : lat) {
        double x =
            (std::log10(static_cast<double>(std::max<std::int64_t>(v, 1))) - llo) / (lhi - llo);
        auto b = static_cast<std::size_t>(std::clamp(x * bins_max, 0.0, bins_max - 1.0));
        bins[b]++;
    }
    std::size_t top = std::max<std::size_t>(1, *std::max_element(bins.begin(), bins.end()));
    std::string s =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"640\" height=\"360\" "
        "font-family=\"sans-serif\" font-size=\"11\">\n<rect width=\"640\" height=\"360\" "
        "fill=\"white\"/>\n";
    appendf(s,
            "<text x=\"10\" y=\"16\">pylon-bench latency (request sent to result), %zu jobs, "
            "p50 %lld us, p99 %lld us, p99.9 %lld us</text>\n",
            lat.size(), static_cast<long long>(r.latency_us_p50),
            static_cast<long long>(r.latency_us_p99), static_cast<long long>(r.latency_us_p999));
    double w = 600.0 / bins_max;
    for (std::size_t b = 0; b < bins_max; b++) {
        double h = 290.0 * static_cast<double>(bins[b]) / static_cast<double>(top);
        appendf(s, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#4a7\"/>\n",
                20 + w * static_cast<double>(b), 320 - h, w - 1, h);
    }
    for (int k = 0; k <= 4; k++) {
        double lv = llo + (lhi - llo) * k / 4;
        appendf(s, "<text x=\"%.0f\" y=\"340\">%.0f us</text>\n", 20 + 600.0 * k / 4 - 10,
                std::pow(10.0, lv));
    }
    appendf(s, "<text x=\"10\" y=\"356\">log scale; tallest bin %zu jobs</text>\n</svg>\n", top);
    return s;
}

}  // namespace pylon::bench
