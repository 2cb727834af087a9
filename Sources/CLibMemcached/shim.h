#ifndef MCDUTILS_CLIBMEMCACHED_SHIM_H
#define MCDUTILS_CLIBMEMCACHED_SHIM_H

// The C API of libmemcached, as the Memcached module uses it. Nothing else lives here but
// `static inline` helpers for what Swift cannot import.
#include <libmemcached-1.0/memcached.h>

// `memcached_continue` is a function-like macro, which Swift does not import.
static inline bool mcd_continue(memcached_return_t rc) { return memcached_continue(rc); }

#endif
