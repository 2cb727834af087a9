#include "cbaseline.h"

#include <libmemcached-1.0/memcached.h>
#include <stdlib.h>

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
