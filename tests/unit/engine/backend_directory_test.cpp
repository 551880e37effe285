#include "engine/backend_directory.hpp"

#include <gtest/gtest.h>

#include "engine/backend_factory.hpp"

namespace pylon::engine {
namespace {

BackendView view(BackendKind kind, bool available, std::vector<std::string> models) {
    BackendView v;
    v.kind = kind;
    v.available = available;
    v.models = std::move(models);
    v.slots = 1;
    return v;
}

TEST(RegisteredBackends, PylonPreferenceRules) {
    Config c;  // ollama, llamacpp, apple_fm
    EXPECT_EQ(registered_backends(c, nullptr),
              (std::vector<BackendKind>{BackendKind::ollama, BackendKind::llamacpp}));
    c.backend_preference = {"llamacpp"};  // exactly one entry: only that one
    EXPECT_EQ(registered_backends(c, nullptr), (std::vector<BackendKind>{BackendKind::llamacpp}));
    c.backend_preference = {"llamacpp", "ollama"};
    EXPECT_EQ(registered_backends(c, nullptr),
              (std::vector<BackendKind>{BackendKind::llamacpp, BackendKind::ollama}));
    c.backend_preference = {"apple_fm"};
    std::vector<std::string> notes;
    EXPECT_TRUE(registered_backends(c, &notes).empty());
    EXPECT_EQ(notes.size(), 1u);
    c.backend_preference = {"llamacpp", "apple_fm"};  // several: the rest stay registered
    c.backends.ollama.enabled = false;
    EXPECT_EQ(registered_backends(c, nullptr), (std::vector<BackendKind>{BackendKind::llamacpp}));
}

TEST(BackendDirectory, RoutesByModelWithTheLatestRule) {
    BackendDirectory d;
    d.backends.push_back(view(BackendKind::ollama, true, {"llama3.2:latest", "qwen2.5:7b"}));
    d.backends.push_back(view(BackendKind::llamacpp, true, {"gpt-oss-20b"}));
    ModelRoute r = d.route("llama3.2", "x");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.backend, 0u);
    EXPECT_EQ(r.model, "llama3.2:latest");
    r = d.route("gpt-oss-20b", "x");
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.backend, 1u);
    r = d.route("mistral", "x");
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.no_backend);
    EXPECT_EQ(r.error,
              "unknown model 'mistral' (available: llama3.2:latest, qwen2.5:7b, gpt-oss-20b)");
}

TEST(BackendDirectory, DefaultModelThenTheDefaultBackendsFirstModel) {
    BackendDirectory d;
    d.backends.push_back(view(BackendKind::ollama, false, {"llama3.2:latest"}));
    d.backends.push_back(view(BackendKind::llamacpp, true, {"gpt-oss-20b"}));
    EXPECT_EQ(d.default_backend(), 1);
    ModelRoute r = d.route("", "llama3.2");  // the default model is on a backend that is down
    ASSERT_TRUE(r.ok);
    EXPECT_EQ(r.model, "gpt-oss-20b");
    EXPECT_FALSE(d.route("llama3.2", "").ok);  // unavailable backends do not serve
    d.backends[0].available = true;
    EXPECT_EQ(d.route("", "llama3.2").model, "llama3.2:latest");
}

TEST(BackendDirectory, NoBackendAvailable) {
    BackendDirectory d;
    d.backends.push_back(view(BackendKind::ollama, false, {}));
    ModelRoute r = d.route("llama3.2", "llama3.2");
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(r.no_backend);
    EXPECT_EQ(r.error, "no inference backend is available right now");
}

BackendView loading_llama(std::string model) {
    BackendView v = view(BackendKind::llamacpp, false, {});
    v.slots = 0;
    v.supervised = true;
    v.loading = true;
    v.loading_model = std::move(model);
    return v;
}

TEST(BackendDirectory, ALoadingLlamaServerIsRoutableForItsModelAndWaits) {
    BackendDirectory d;
    d.backends.push_back(view(BackendKind::ollama, false, {"llama3.2:latest"}));
    d.backends.push_back(loading_llama("/models/qwen.gguf"));
    EXPECT_FALSE(d.any_available());
    EXPECT_TRUE(d.any_waitable());
    ModelRoute r = d.route("", "");  // no model: the loading server's
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.waits);
    EXPECT_EQ(r.backend, 1u);
    EXPECT_EQ(r.model, "/models/qwen.gguf");
    r = d.route("/models/qwen.gguf", "llama3.2");
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_TRUE(r.waits);
    r = d.route("", "llama3.2");  // a default model nobody serves: still the loading server
    ASSERT_TRUE(r.ok) << r.error;
    EXPECT_EQ(r.model, "/models/qwen.gguf");
    r = d.route("mistral", "");  // another model: unknown (not "no backend")
    EXPECT_FALSE(r.ok);
    EXPECT_FALSE(r.no_backend);
    EXPECT_EQ(r.error, "unknown model 'mistral' (available: /models/qwen.gguf (loading))");
}

TEST(BackendDirectory, AnAvailableBackendWinsOverALoadingOne) {
    BackendDirectory d;
    d.backends.push_back(loading_llama("qwen"));
    d.backends.push_back(view(BackendKind::ollama, true, {"llama3.2:latest", "qwen:latest"}));
    ModelRoute r = d.route("", "");  // no model: the default (available) backend
    ASSERT_TRUE(r.ok);
    EXPECT_FALSE(r.waits);
    EXPECT_EQ(r.model, "llama3.2:latest");
    r = d.route("qwen", "");  // an available backend has it
    ASSERT_TRUE(r.ok);
    EXPECT_FALSE(r.waits);
    EXPECT_EQ(r.backend, 1u);
    d.backends[1].models = {"llama3.2:latest"};
    r = d.route("qwen", "");  // only the loading one will have it
    ASSERT_TRUE(r.ok);
    EXPECT_TRUE(r.waits);
    EXPECT_EQ(r.backend, 0u);
    r = d.route("", "qwen");  // the default model, only on the loading one
    ASSERT_TRUE(r.ok);
    EXPECT_TRUE(r.waits);
    r = d.route("mistral", "");
    EXPECT_EQ(r.error, "unknown model 'mistral' (available: qwen (loading), llama3.2:latest)");
}

TEST(BackendDirectory, OnlyASupervisedLoadingServerWaits) {
    BackendDirectory d;
    d.backends.push_back(loading_llama("qwen"));
    d.backends[0].loading = false;  // failed or stopped: down
    EXPECT_TRUE(d.backends[0].down());
    EXPECT_FALSE(d.backends[0].waitable());
    EXPECT_TRUE(d.route("", "").no_backend);
    EXPECT_TRUE(d.route("qwen", "").no_backend);
    d.backends[0].supervised = false;  // an external llama-server that does not answer
    EXPECT_FALSE(d.backends[0].down());
    EXPECT_TRUE(d.route("", "").no_backend);
    d.backends[0].loading = true;
    d.backends[0].available = true;  // up: not loading any more
    d.backends[0].models = {"qwen"};
    EXPECT_FALSE(d.backends[0].waitable());
    EXPECT_FALSE(d.route("qwen", "").waits);
}

TEST(BackendFactory, ParsesLocalUrls) {
    auto a = parse_backend_url("http://127.0.0.1:11434");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 11434);
    auto b = parse_backend_url("http://localhost:8080/");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host, "127.0.0.1");
    auto c = parse_backend_url("http://[::1]:9000");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->host, "::1");
    EXPECT_EQ(parse_backend_url("http://10.0.0.2")->port, 80);
    EXPECT_FALSE(parse_backend_url("https://127.0.0.1:1").ok());
    EXPECT_FALSE(parse_backend_url("http://gpu-box:11434").ok());
    EXPECT_FALSE(parse_backend_url("http://127.0.0.1:0").ok());
    EXPECT_FALSE(parse_backend_url("http://127.0.0.1:11434/api").ok());
}

}  // namespace
}  // namespace pylon::engine
