// See CKernels.h, "Worker pool". The pool's workers wait for work by spinning on a generation
// counter for a short while and only then sleep on a condition variable, so the many short
// parallel regions of batch-1 decoding (about 130 per token for Gemma-2-2B) start on every core at
// once instead of waiting ~45 µs for a sleeping GCD thread to be woken.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE  // sched_getaffinity, CPU_COUNT
#endif
#include "CKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CK_RELAX() __asm__ __volatile__("yield")
#else
#define CK_RELAX() ((void)0)
#endif

/// How long an idle worker spins before it sleeps.
#define CK_SPIN_NANOSECONDS 2000000L

/// One parallel region: indices are claimed from `next`; `done` counts the finished ones.
typedef struct {
    ck_task task;
    void *context;
    long count;
    _Atomic long next;
    _Atomic long done;
} ck_job;

static struct {
    pthread_once_t once;
    int workers;
    /// Bumped once per region; workers spin on it.
    _Atomic long generation;
    /// The region in progress, or NULL. Valid while `inflight` > 0 or its caller waits.
    _Atomic(ck_job *) current;
    /// Workers between reading `current` and leaving the region.
    _Atomic long inflight;
    /// 1 while a caller owns the pool; a second caller (or a nested one) gets 0 from ck_pool_run.
    _Atomic int busy;
    /// Workers asleep (or about to be) on `wake`.
    _Atomic int sleepers;
    pthread_mutex_t lock;
    pthread_cond_t wake;
} ck_pool = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static long ck_now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static void ck_job_work(ck_job *job) {
    for (;;) {
        long i = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (i >= job->count) return;
        job->task(job->context, i);
        atomic_fetch_add_explicit(&job->done, 1, memory_order_release);
    }
}

static void *ck_worker(void *unused) {
    (void)unused;
    long seen = atomic_load(&ck_pool.generation);
    for (;;) {
        long spin_start = ck_now_ns();
        long spins = 0;
        while (atomic_load_explicit(&ck_pool.generation, memory_order_acquire) == seen) {
            CK_RELAX();
            if ((++spins & 255) != 0 || ck_now_ns() - spin_start < CK_SPIN_NANOSECONDS) continue;
            pthread_mutex_lock(&ck_pool.lock);
            atomic_fetch_add(&ck_pool.sleepers, 1);
            while (atomic_load(&ck_pool.generation) == seen) pthread_cond_wait(&ck_pool.wake, &ck_pool.lock);
            atomic_fetch_sub(&ck_pool.sleepers, 1);
            pthread_mutex_unlock(&ck_pool.lock);
        }
        seen = atomic_load(&ck_pool.generation);
        // Announce before looking at `current`, so a caller never retires a region under us.
        atomic_fetch_add(&ck_pool.inflight, 1);
        ck_job *job = atomic_load(&ck_pool.current);
        if (job != NULL) ck_job_work(job);
        atomic_fetch_sub_explicit(&ck_pool.inflight, 1, memory_order_release);
    }
    return NULL;
}

int ck_cpu_count(void) {
#ifdef __linux__
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0) return CPU_COUNT(&set);
#endif
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 1;
}

static void ck_pool_start(void) {
    long cores = ck_cpu_count();
    int wanted = cores > 1 ? (int)(cores - 1) : 0;
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attributes, ck_worker, NULL) == 0) ck_pool.workers++;
        pthread_attr_destroy(&attributes);
    }
}

int ck_pool_workers(void) {
    pthread_once(&ck_pool.once, ck_pool_start);
    return ck_pool.workers;
}

int ck_pool_run(long count, ck_task task, void *context) {
    if (count <= 0) return 1;
    if (ck_pool_workers() == 0 || count == 1) {
        for (long i = 0; i < count; i++) task(context, i);
        return 1;
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong(&ck_pool.busy, &expected, 1)) return 0;
    ck_job job = {.task = task, .context = context, .count = count};
    atomic_init(&job.next, 0);
    atomic_init(&job.done, 0);
    atomic_store(&ck_pool.current, &job);
    atomic_fetch_add(&ck_pool.generation, 1);
    if (atomic_load(&ck_pool.sleepers) > 0) {
        pthread_mutex_lock(&ck_pool.lock);
        pthread_cond_broadcast(&ck_pool.wake);
        pthread_mutex_unlock(&ck_pool.lock);
    }
    ck_job_work(&job);
    while (atomic_load_explicit(&job.done, memory_order_acquire) < count) CK_RELAX();
    atomic_store(&ck_pool.current, NULL);
    while (atomic_load_explicit(&ck_pool.inflight, memory_order_acquire) != 0) CK_RELAX();
    atomic_store_explicit(&ck_pool.busy, 0, memory_order_release);
    return 1;
}
