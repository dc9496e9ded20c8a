// C API over Gloo (the CPU collective library PyTorch uses) for D2.Detection.Distributed.GlooProcessGroup.
// Gloo is C++ and bootstraps through a key-value store: the store here forwards set/get/wait to callbacks that the
// managed side implements over its TCP store (rank 0's TcpStore), so Gloo and the trainer share one rendezvous.
// Every entry point catches C++ exceptions: it returns non-zero and d2_gloo_last_error() says why.
#include <gloo/allgatherv.h>
#include <gloo/allreduce.h>
#include <gloo/barrier.h>
#include <gloo/broadcast.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/store.h>
#include <gloo/transport/tcp/device.h>

#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

extern "C" {
typedef int (*d2_store_set_fn)(void* user, const char* key, const void* data, size_t len);
// *data is allocated with malloc by the callee and freed here.
typedef int (*d2_store_get_fn)(void* user, const char* key, void** data, size_t* len);
typedef int (*d2_store_wait_fn)(void* user, const char* const* keys, int count, int64_t timeout_ms);
}

namespace {
thread_local std::string last_error;

int fail(const char* where, const std::exception& e) {
    last_error = std::string(where) + ": " + e.what();
    return 1;
}

class CallbackStore : public gloo::rendezvous::Store {
 public:
    CallbackStore(void* user, d2_store_set_fn set, d2_store_get_fn get, d2_store_wait_fn wait, int64_t timeout_ms)
        : user_(user), set_(set), get_(get), wait_(wait), timeout_ms_(timeout_ms) {}

    void set(const std::string& key, const std::vector<char>& data) override {
        if (set_(user_, key.c_str(), data.data(), data.size()) != 0)
            throw std::runtime_error("rendezvous store set('" + key + "') failed");
    }

    std::vector<char> get(const std::string& key) override {
        void* data = nullptr;
        size_t len = 0;
        if (get_(user_, key.c_str(), &data, &len) != 0)
            throw std::runtime_error("rendezvous store get('" + key + "') failed");
        std::vector<char> result(static_cast<char*>(data), static_cast<char*>(data) + len);
        std::free(data);
        return result;
    }

    void wait(const std::vector<std::string>& keys) override {
        wait(keys, std::chrono::milliseconds(timeout_ms_));
    }

    void wait(const std::vector<std::string>& keys, const std::chrono::milliseconds& timeout) override {
        std::vector<const char*> raw;
        for (const auto& k : keys) raw.push_back(k.c_str());
        if (wait_(user_, raw.data(), static_cast<int>(raw.size()), timeout.count()) != 0)
            throw std::runtime_error("rendezvous store wait failed");
    }

 private:
    void* user_;
    d2_store_set_fn set_;
    d2_store_get_fn get_;
    d2_store_wait_fn wait_;
    int64_t timeout_ms_;
};

struct Group {
    std::shared_ptr<gloo::rendezvous::Context> context;
    std::chrono::milliseconds timeout;
};
}  // namespace

extern "C" {
__attribute__((visibility("default"))) const char* d2_gloo_last_error(void) { return last_error.c_str(); }

// hostname: this process's address as peers reach it (or empty); iface: a network interface name (or empty).
__attribute__((visibility("default"))) int d2_gloo_create(int rank, int size, const char* hostname, const char* iface,
    int64_t timeout_ms, void* user, d2_store_set_fn set, d2_store_get_fn get, d2_store_wait_fn wait, void** out) {
    try {
        gloo::transport::tcp::attr attr;
        if (iface && *iface) attr.iface = iface;
        else if (hostname && *hostname) attr.hostname = hostname;
        auto device = gloo::transport::tcp::CreateDevice(attr);
        auto context = std::make_shared<gloo::rendezvous::Context>(rank, size);
        context->setTimeout(std::chrono::milliseconds(timeout_ms));
        CallbackStore store(user, set, get, wait, timeout_ms);
        context->connectFullMesh(store, device);
        *out = new Group{context, std::chrono::milliseconds(timeout_ms)};
        return 0;
    } catch (const std::exception& e) {
        return fail("gloo connect", e);
    }
}

__attribute__((visibility("default"))) void d2_gloo_destroy(void* group) { delete static_cast<Group*>(group); }

// op: 0 sum, 1 max, 2 min (float32, in place).
__attribute__((visibility("default"))) int d2_gloo_allreduce_f32(void* group, float* data, size_t count, int op, uint32_t tag) {
    try {
        auto* g = static_cast<Group*>(group);
        gloo::AllreduceOptions opts(g->context);
        opts.setInput(data, count);
        opts.setOutput(data, count);
        opts.setTag(tag);
        opts.setTimeout(g->timeout);
        void (*fn)(void*, const void*, const void*, size_t);
        switch (op) {
            case 0: fn = &gloo::sum<float>; break;
            case 1: fn = &gloo::max<float>; break;
            case 2: fn = &gloo::min<float>; break;
            default: throw std::invalid_argument("unknown reduce op " + std::to_string(op));
        }
        opts.setReduceFunction(fn);
        gloo::allreduce(opts);
        return 0;
    } catch (const std::exception& e) {
        return fail("gloo allreduce", e);
    }
}

__attribute__((visibility("default"))) int d2_gloo_broadcast(void* group, void* data, size_t bytes, int root, uint32_t tag) {
    try {
        auto* g = static_cast<Group*>(group);
        gloo::BroadcastOptions opts(g->context);
        if (g->context->rank == root) opts.setInput(static_cast<uint8_t*>(data), bytes);
        opts.setOutput(static_cast<uint8_t*>(data), bytes);
        opts.setRoot(root);
        opts.setTag(tag);
        opts.setTimeout(g->timeout);
        gloo::broadcast(opts);
        return 0;
    } catch (const std::exception& e) {
        return fail("gloo broadcast", e);
    }
}

// counts[r] bytes from rank r, concatenated in rank order into output.
__attribute__((visibility("default"))) int d2_gloo_allgatherv(void* group, const void* input, size_t bytes, void* output,
    const size_t* counts, uint32_t tag) {
    try {
        auto* g = static_cast<Group*>(group);
        gloo::AllgathervOptions opts(g->context);
        opts.setInput(const_cast<uint8_t*>(static_cast<const uint8_t*>(input)), bytes);
        opts.setOutput(static_cast<uint8_t*>(output), std::vector<size_t>(counts, counts + g->context->size));
        opts.setTag(tag);
        opts.setTimeout(g->timeout);
        gloo::allgatherv(opts);
        return 0;
    } catch (const std::exception& e) {
        return fail("gloo allgather", e);
    }
}

__attribute__((visibility("default"))) int d2_gloo_barrier(void* group, uint32_t tag) {
    try {
        auto* g = static_cast<Group*>(group);
        gloo::BarrierOptions opts(g->context);
        opts.setTag(tag);
        opts.setTimeout(g->timeout);
        gloo::barrier(opts);
        return 0;
    } catch (const std::exception& e) {
        return fail("gloo barrier", e);
    }
}
}
