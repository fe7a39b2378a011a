/*
 * The agent's native library wraps C library functions (jfast_writes.c,
 * jfast_socket.c); each wrapper calls on to the function it stands in for.
 */
#ifndef JFAST_NEXT_H
#define JFAST_NEXT_H

#include <dlfcn.h>

/* `real`: the C library's function `name` (a string), of type `type`,
 * looked up once per wrapper; NULL where there is none. */
#define NEXT(type, name) \
    static type real; \
    if (real == NULL) \
        real = (type)dlsym(RTLD_NEXT, name)

#endif
