#include "asan_canary.h"

#include <limits.h>

int ws_canary_stack_overflow(int index)
{
    volatile char buf[8] = {0};
    buf[index] = 1; /* index 8 writes one past the end */
    return buf[0];
}

int ws_canary_signed_overflow(int addend)
{
    volatile int big = INT_MAX;
    return big + addend; /* addend 1 overflows */
}
