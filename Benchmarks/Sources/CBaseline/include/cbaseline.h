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

#endif
