#ifndef MCDUTILS_CLIBMEMCACHED_SHIM_H
#define MCDUTILS_CLIBMEMCACHED_SHIM_H

// The C API of libmemcached, as the Memcached module uses it. Nothing else lives here: every
// call the module makes imports as it is (the checks it uses, such as `memcached_success`, are
// `static inline` functions in libmemcached's own headers, not macros).
#include <libmemcached-1.0/memcached.h>

#endif
