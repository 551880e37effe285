// Output of a pylon-bench run: the human summary, the one-line JSON object (--json) and the
// SVG latency histogram (--svg). Pure formatting of a BenchReport; any thread.
#pragma once

#include <string>

#include "tools/pylon_bench/bench_run.hpp"

namespace pylon::bench {

std::string report_text(const BenchReport& r);
std::string report_json(const BenchReport& r);
// A log-scale histogram of the measured latencies (bins_max bins, 640x360 px).
std::string latency_svg(const BenchReport& r);

}  // namespace pylon::bench
