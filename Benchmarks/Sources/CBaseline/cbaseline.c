#include "cbaseline.h"

#include <libmemcached-1.0/memcached.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

struct cbaseline {
  memcached_st *memc;
};

cbaseline *cbaseline_open(const char *host, int port) {
  cbaseline *handle = calloc(1, sizeof(cbaseline));
  if (handle == NULL) return NULL;
  handle->memc = memcached_create(NULL);
  if (handle->memc == NULL) {
    free(handle);
    return NULL;
  }
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_BINARY_PROTOCOL, 1);
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_KETAMA, 1);
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_SUPPORT_CAS, 1);
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT, 500);
  memcached_behavior_set(handle->memc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT, 500);
  if (memcached_failed(memcached_server_add(handle->memc, host, (in_port_t)port))) {
    cbaseline_close(handle);
    return NULL;
  }
  return handle;
}

void cbaseline_close(cbaseline *handle) {
  if (handle == NULL) return;
  memcached_free(handle->memc);
  free(handle);
}

int cbaseline_set(cbaseline *handle, const char *key, size_t key_length, const void *value,
                  size_t value_length, uint32_t flags) {
  memcached_return_t rc =
      memcached_set(handle->memc, key, key_length, value, value_length, 0, flags);
  return memcached_success(rc) ? 0 : -1;
}

int cbaseline_get(cbaseline *handle, const char *key, size_t key_length, size_t *value_length) {
  uint32_t flags = 0;
  memcached_return_t rc = MEMCACHED_SUCCESS;
  char *value = memcached_get(handle->memc, key, key_length, value_length, &flags, &rc);
  if (value != NULL) {
    free(value);
    return 1;
  }
  if (rc == MEMCACHED_NOTFOUND) return 0;
  return memcached_success(rc) ? 1 : -1;
}

int cbaseline_exist(cbaseline *handle, const char *key, size_t key_length) {
  memcached_return_t rc = memcached_exist(handle->memc, key, key_length);
  if (rc == MEMCACHED_NOTFOUND) return 0;
  return memcached_success(rc) ? 1 : -1;
}

int cbaseline_mget(cbaseline *handle, const char *const *keys, const size_t *key_lengths,
                   size_t count) {
  memcached_return_t rc = memcached_mget(handle->memc, keys, key_lengths, count);
  if (memcached_failed(rc)) return -1;
  int hits = 0;
  memcached_result_st result;
  memcached_result_create(handle->memc, &result);
  while (memcached_fetch_result(handle->memc, &result, &rc) != NULL) {
    hits++;
  }
  memcached_result_free(&result);
  if (rc != MEMCACHED_END && rc != MEMCACHED_NOTFOUND && memcached_failed(rc)) return -1;
  return hits;
}

int cbaseline_session_write(cbaseline *handle, const char *key, size_t key_length,
                            const void *value, size_t value_length) {
  size_t length = 0;
  (void)cbaseline_get(handle, key, key_length, &length);
  return cbaseline_set(handle, key, key_length, value, value_length, 0);
}

/// Holds the threads of cbaseline_session_write_threads until every one of them is connected.
typedef struct cbaseline_gate {
  pthread_mutex_t lock;
  pthread_cond_t changed;
  int ready;
  int open;
} cbaseline_gate;

/// One thread of cbaseline_session_write_threads.
typedef struct cbaseline_writer {
  pthread_t thread;
  cbaseline_gate *gate;
  const char *host;
  int port;
  long first;
  long count;
  const char *value;
  size_t value_length;
  int running;
  long errors;
} cbaseline_writer;

/// Formats the key of session `index` the way the harness's sess_write_emul does.
static size_t cbaseline_emul_key(char *key, size_t size, long index) {
  return (size_t)snprintf(key, size, "bench:emul-%ld", index % 100);
}

static void *cbaseline_writer_main(void *argument) {
  cbaseline_writer *writer = argument;
  char key[32];
  cbaseline *handle = cbaseline_open(writer->host, writer->port);
  // One untimed write connects the handle, so the timed run starts with every thread connected.
  if (handle != NULL) {
    size_t length = cbaseline_emul_key(key, sizeof key, writer->first);
    (void)cbaseline_session_write(handle, key, length, writer->value, writer->value_length);
  }
  pthread_mutex_lock(&writer->gate->lock);
  writer->gate->ready++;
  pthread_cond_broadcast(&writer->gate->changed);
  while (!writer->gate->open) pthread_cond_wait(&writer->gate->changed, &writer->gate->lock);
  pthread_mutex_unlock(&writer->gate->lock);
  if (handle == NULL) {
    writer->errors = writer->count;
    return NULL;
  }
  for (long index = writer->first; index < writer->first + writer->count; index++) {
    size_t length = cbaseline_emul_key(key, sizeof key, index);
    if (cbaseline_session_write(handle, key, length, writer->value, writer->value_length) != 0) {
      writer->errors++;
    }
  }
  cbaseline_close(handle);
  return NULL;
}

static double cbaseline_now(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

static double cbaseline_cpu(void) {
  struct rusage usage;
  getrusage(RUSAGE_SELF, &usage);
  return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
         (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

cbaseline_run cbaseline_session_write_threads(const char *host, int port, int threads,
                                              long iterations, size_t value_length) {
  cbaseline_run run = {.operations = iterations};
  if (threads <= 0) {
    run.errors = iterations;
    return run;
  }
  char *value = malloc(value_length > 0 ? value_length : 1);
  cbaseline_writer *writers = calloc((size_t)threads, sizeof *writers);
  if (value == NULL || writers == NULL) {
    free(value);
    free(writers);
    run.errors = run.operations;
    return run;
  }
  memset(value, 0x73, value_length);
  cbaseline_gate gate = {.lock = PTHREAD_MUTEX_INITIALIZER, .changed = PTHREAD_COND_INITIALIZER};
  int started = 0;
  long first = 0;
  for (int index = 0; index < threads; index++) {
    cbaseline_writer *writer = &writers[index];
    // The first `iterations % threads` threads take one more, so that all of them are done.
    long count = iterations / threads + (index < iterations % threads ? 1 : 0);
    *writer = (cbaseline_writer){.gate = &gate, .host = host, .port = port, .first = first,
                                 .count = count, .value = value, .value_length = value_length};
    first += count;
    writer->running = pthread_create(&writer->thread, NULL, cbaseline_writer_main, writer) == 0;
    if (writer->running) {
      started++;
    } else {
      run.errors += count;
    }
  }
  pthread_mutex_lock(&gate.lock);
  while (gate.ready < started) pthread_cond_wait(&gate.changed, &gate.lock);
  gate.open = 1;
  pthread_cond_broadcast(&gate.changed);
  double cpu_start = cbaseline_cpu();
  double wall_start = cbaseline_now();
  pthread_mutex_unlock(&gate.lock);
  for (int index = 0; index < threads; index++) {
    if (!writers[index].running) continue;
    pthread_join(writers[index].thread, NULL);
    run.errors += writers[index].errors;
  }
  run.seconds = cbaseline_now() - wall_start;
  run.cpu_seconds = cbaseline_cpu() - cpu_start;
  pthread_mutex_destroy(&gate.lock);
  pthread_cond_destroy(&gate.changed);
  free(value);
  free(writers);
  return run;
}
