// PsiTrigger: a pressure-stall trigger on /proc/pressure/memory, the memory monitor's early
// wake-up. open() writes the trigger ("some 150000 2000000": 150 ms of stall within a 2 s
// window) to a fd opened O_RDWR|O_NONBLOCK; the fd then polls POLLPRI at most once per window
// while the threshold is crossed. Kernel facts (../shared/reference/backends-and-supervision.md
// §3): without CAP_SYS_RESOURCE only windows that are a multiple of 2 s are accepted (a 1 s
// window fails with EINVAL); a fd without an accepted trigger polls as POLLERR|POLLPRI at once,
// so armed() checks for that and the monitor treats such a fd as "not armed" (never a busy
// loop). A test may pass any pollable path and an empty trigger. Move-only; one owner.
#pragma once

#include <string>

#include "reactor/result.hpp"

namespace pylon::engine {

inline constexpr const char* psi_default_trigger = "some 150000 2000000";

class PsiTrigger {
  public:
    // Opens `path` and writes `trigger` (nothing when empty). Fails when PSI is missing or the
    // kernel refuses the trigger, or when the fd polls POLLERR right away (not armed).
    static Result<PsiTrigger> open(const std::string& path, const std::string& trigger);

    PsiTrigger(PsiTrigger&& other) noexcept;
    PsiTrigger& operator=(PsiTrigger&& other) noexcept;
    PsiTrigger(const PsiTrigger&) = delete;
    PsiTrigger& operator=(const PsiTrigger&) = delete;
    ~PsiTrigger();

    int fd() const noexcept { return fd_; }
    // A zero-timeout poll: false when the fd reports POLLERR (no trigger attached).
    bool armed() const;

  private:
    explicit PsiTrigger(int fd) noexcept : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace pylon::engine
