#include "asan_canary.h"

#include <limits.h>

/* UBSan is switched off here so that this store is left for AddressSanitizer to catch. */
__attribute__((no_sanitize_undefined)) static void poke(volatile char *p, int index)
{
    p[index] = 1;
}

int ws_canary_stack_overflow(int index)
{
    volatile char buf[8] = {0};
    poke(buf, index); /* index 8 writes one past the end */
    return buf[0];
}

int ws_canary_signed_overflow(int addend)
{
    volatile int big = INT_MAX;
    return big + addend; /* addend 1 overflows */
}
