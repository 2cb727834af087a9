#ifndef MCDUTILS_CZLIB_SHIM_H
#define MCDUTILS_CZLIB_SHIM_H
// The value format compresses large values with zlib; nothing here but the C API.
#include <zlib.h>
#endif
