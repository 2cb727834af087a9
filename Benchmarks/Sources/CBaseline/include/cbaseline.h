#ifndef MCDUTILS_CBASELINE_H
#define MCDUTILS_CBASELINE_H

#include <stddef.h>
#include <stdint.h>

/// A libmemcached handle configured like MemcachedClient's defaults: binary protocol, ketama,
/// TCP_NODELAY, CAS support, one server, one connection.
typedef struct cbaseline cbaseline;

cbaseline *cbaseline_open(const char *host, int port);
void cbaseline_close(cbaseline *handle);

/// 0 stored, -1 failed.
int cbaseline_set(cbaseline *handle, const char *key, size_t key_length, const void *value,
                  size_t value_length, uint32_t flags);
/// 1 hit (length in *value_length), 0 miss, -1 failed.
int cbaseline_get(cbaseline *handle, const char *key, size_t key_length, size_t *value_length);
/// 1 exists, 0 absent, -1 failed.
int cbaseline_exist(cbaseline *handle, const char *key, size_t key_length);
/// The number of hits, or -1.
int cbaseline_mget(cbaseline *handle, const char *const *keys, const size_t *key_lengths,
                   size_t count);

/// A session write's round trips as the harness emulates them: a get of the key (the session
/// read at the start of a request), then a set of the value (its commit). 0 stored, -1 failed.
int cbaseline_session_write(cbaseline *handle, const char *key, size_t key_length,
                            const void *value, size_t value_length);

/// What a run of ``cbaseline_session_write_threads`` did: wall and process CPU seconds from the
/// moment every thread was connected to the moment the last one finished.
typedef struct cbaseline_run {
  double seconds;
  double cpu_seconds;
  long operations;
  long errors;
} cbaseline_run;

/// Runs `threads` threads, each with its own handle on host:port (opened as ``cbaseline_open``
/// does), which share `iterations` ``cbaseline_session_write`` calls on the keys `bench:emul-0`
/// to `bench:emul-99` with a value of `value_length` bytes. The time starts when every thread has
/// connected (with one untimed write). A thread that does not start or whose handle does not
/// open counts its share as errors.
cbaseline_run cbaseline_session_write_threads(const char *host, int port, int threads,
                                              long iterations, size_t value_length);

#endif
