#include "reactor/shard_set.hpp"

#include <pthread.h>
#include <sched.h>

#include <barrier>

#include "reactor/log.hpp"

namespace pylon::reactor {

struct ShardSet::Barrier {
    explicit Barrier(unsigned n) : b(static_cast<std::ptrdiff_t>(n)) {}
    std::barrier<> b;
};

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (::sched_getaffinity(0, sizeof set, &set) == 0) {
        for (std::size_t cpu = 0; cpu < CPU_SETSIZE; cpu++) {
            if (CPU_ISSET(cpu, &set)) {
                cpus.push_back(static_cast<int>(cpu));
            }
        }
    }
    if (cpus.empty()) {
        cpus.push_back(0);
    }
    return cpus;
}

ShardSet::ShardSet(ShardSetOptions options) : options_(std::move(options)) {
    cpus_ = options_.cpus.empty() ? allowed_cpus() : options_.cpus;
    count_ = options_.shard_count != 0 ? options_.shard_count : static_cast<unsigned>(cpus_.size());
    PYLON_ASSERT(count_ >= 1);
    shards_.resize(count_);
    start_status_.resize(count_);
}

ShardSet::~ShardSet() {
    // Mailboxes reference shards; shards were destroyed by their own threads in run().
    mailboxes_.clear();
}

Shard& ShardSet::shard(unsigned index) noexcept {
    PYLON_ASSERT(index < count_ && shards_[index] != nullptr);
    return *shards_[index];
}

Mailbox& ShardSet::mailbox(unsigned from, unsigned to) noexcept {
    PYLON_ASSERT(from < count_ && to < count_ && from != to);
    return *mailboxes_[from * count_ + to];
}

Status ShardSet::run(MainFn main) {
    barrier_ = std::make_unique<Barrier>(count_);
    mains_done_.store(0);
    start_failed_.store(false);
    std::vector<std::thread> threads;
    threads.reserve(count_ - 1);
    for (unsigned i = 1; i < count_; i++) {
        threads.emplace_back([this, i, &main]() { thread_body(i, &main); });
    }
    thread_body(0, &main);
    for (auto& t : threads) {
        t.join();
    }
    mailboxes_.clear();
    for (unsigned i = 0; i < count_; i++) {
        if (!start_status_[i].ok()) {
            return start_status_[i];
        }
    }
    return Ok{};
}

void ShardSet::thread_body(unsigned index, MainFn* main) {
    int cpu = cpus_[index % cpus_.size()];
    if (options_.pin) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(static_cast<std::size_t>(cpu), &set);
        if (::pthread_setaffinity_np(::pthread_self(), sizeof set, &set) != 0) {
            LOG_WARN("shard %u: could not pin to CPU %d; running unpinned", index, cpu);
        }
    }
    auto created = Shard::create(index, this, options_.shard);
    if (created.ok()) {
        shards_[index] = std::move(created.value());
    } else {
        start_status_[index] = std::move(created).error();
        start_failed_.store(true);
    }
    barrier_->b.arrive_and_wait();  // every ring exists (or one failed)
    if (index == 0 && !start_failed_.load()) {
        mailboxes_.resize(static_cast<std::size_t>(count_) * count_);
        for (unsigned from = 0; from < count_; from++) {
            for (unsigned to = 0; to < count_; to++) {
                if (from != to) {
                    auto mb = std::make_unique<Mailbox>(shards_[from].get(), shards_[to].get(),
                                                        options_.mailbox_capacity);
                    shards_[to]->add_inbound(mb.get());
                    mailboxes_[from * count_ + to] = std::move(mb);
                }
            }
        }
    }
    barrier_->b.arrive_and_wait();  // mailboxes exist
    if (!start_failed_.load()) {
        shards_[index]->run((*main)(*shards_[index]));
    }
    barrier_->b.arrive_and_wait();  // every loop has ended: no more cross-shard traffic
    shards_[index].reset();         // the ring is torn down by its own thread
}

void ShardSet::note_main_done(Shard* from) noexcept {
    if (mains_done_.fetch_add(1, std::memory_order_acq_rel) + 1 == count_) {
        for (unsigned i = 0; i < count_; i++) {
            if (shards_[i].get() != from) {
                shards_[i]->wake(from);
            }
        }
    }
}

bool try_post(unsigned target, Message& msg) {
    Shard& self = Shard::current();
    if (target == self.id()) {
        Message m = std::move(msg);
        self.schedule_message(std::move(m));
        return true;
    }
    return self.set()->mailbox(self.id(), target).try_send(msg);
}

void post(unsigned target, Message msg) {
    Shard& self = Shard::current();
    if (target == self.id()) {
        self.schedule_message(std::move(msg));
        return;
    }
    self.set()->mailbox(self.id(), target).send_or_hold(std::move(msg));
}

bool SendAwaiter::await_ready() {
    Shard& self = Shard::current();
    if (target_ == self.id()) {
        self.schedule_message(std::move(msg_));
        return true;
    }
    return self.set()->mailbox(self.id(), target_).try_send(msg_);
}

void SendAwaiter::await_suspend(std::coroutine_handle<> h) {
    Shard& self = Shard::current();
    self.set()->mailbox(self.id(), target_).send_or_hold(std::move(msg_), h);
}

}  // namespace pylon::reactor
