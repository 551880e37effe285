#include "engine/provider_services.hpp"

#include <gtest/gtest.h>

namespace pylon::engine {
namespace {

TEST(ProviderServices, TheDefaultConfigServesFreeJobs) {
    // A fresh node (no config file, or `pylon config --defaults`) must start serving.
    EXPECT_EQ(provider_config_problem(Config{}), "");
}

TEST(ProviderServices, RequirePaymentWithoutAPaymentBackendIsAStartupError) {
    Config c;
    c.require_payment = true;
    std::string problem = provider_config_problem(c);
    EXPECT_NE(problem.find("no payment backend"), std::string::npos) << problem;
    EXPECT_NE(problem.find("require_payment = false"), std::string::npos) << problem;
}

}  // namespace
}  // namespace pylon::engine
