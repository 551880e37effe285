#include "engine/provider_services.hpp"

#include "engine/backend_registry.hpp"
#include "engine/intake.hpp"
#include "engine/job_runner.hpp"
#include "engine/relay_pool.hpp"
#include "engine/relay_url.hpp"
#include "net/url.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {

namespace {

// The registry checks the config before anything else of the provider starts.
class PaymentGate final : public Service {
  public:
    explicit PaymentGate(ServiceContext& context) : context_(context) {}
    reactor::Task<Status> start() override {
        std::string problem = provider_config_problem(context_.config());
        if (!problem.empty()) {
            co_return Error(Errc::unsupported, problem);
        }
        co_return Ok{};
    }
    reactor::Task<void> stop() override { co_return; }

  private:
    ServiceContext& context_;
};

}  // namespace

std::string provider_config_problem(const Config& config) {
    if (config.require_payment) {
        return "require_payment = true, but this version has no payment backend; set "
               "`require_payment = false` in config.toml to serve jobs without payment";
    }
    return {};
}

std::vector<ServiceSpec> provider_services(const RuntimeOptions& options) {
    PYLON_ASSERT(options.identity.has_value());
    // The TLS context is made here, before the shards run, when a configured relay needs it
    // (loading the CA store takes ~0.1-0.2 s); otherwise by the first wss:// connect (a
    // customer's relay), and a node with only ws:// relays never makes one.
    std::shared_ptr<net::TlsContext> tls;
    for (const std::string& url : configured_relays(options.config)) {
        auto parsed = net::parse_ws_url(url);
        if (parsed.ok() && parsed.value().secure) {
            tls = ProviderHub::make_tls();
            break;
        }
    }
    auto hub = std::make_shared<std::shared_ptr<ProviderHub>>();
    proto::Keypair keys = *options.identity;
    // The hub needs the shard count, which the runtime settles only at start: the first
    // factory (shard 0, before any other provider service) makes it.
    auto get = [hub, keys, tls](ServiceContext& ctx) -> std::shared_ptr<ProviderHub> {
        if (!*hub) {
            *hub = std::make_shared<ProviderHub>(ctx.shard_count(), keys, tls);
        }
        return *hub;
    };
    std::vector<ServiceSpec> specs;
    specs.push_back({"payments", ServicePlacement::shard0, service_order::backends,
                     [](ServiceContext& ctx) -> std::unique_ptr<Service> {
                         return std::make_unique<PaymentGate>(ctx);
                     }});
    specs.push_back({"backends", ServicePlacement::shard0, service_order::backends,
                     [get](ServiceContext& ctx) -> std::unique_ptr<Service> {
                         return std::make_unique<BackendRegistry>(ctx, get(ctx));
                     }});
    specs.push_back({"relays", ServicePlacement::every_shard, service_order::relays,
                     [get](ServiceContext& ctx) -> std::unique_ptr<Service> {
                         return std::make_unique<RelayPool>(ctx, get(ctx));
                     }});
    specs.push_back({"jobs", ServicePlacement::every_shard, service_order::jobs,
                     [get](ServiceContext& ctx) -> std::unique_ptr<Service> {
                         return std::make_unique<JobRunner>(ctx, get(ctx));
                     }});
    specs.push_back({"intake", ServicePlacement::every_shard, service_order::intake,
                     [get](ServiceContext& ctx) -> std::unique_ptr<Service> {
                         return std::make_unique<Intake>(ctx, get(ctx));
                     }});
    return specs;
}

}  // namespace pylon::engine
