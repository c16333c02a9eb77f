/* memcpy, memmove, memset and memcmp for the Cortex-M4 image.
 *
 * Why these instead of newlib's: images are linked with -nostdlib so that no
 * C runtime start-up code, no newlib system-call stubs and no malloc/stdio can
 * slip in (a call to printf or malloc is then a link error, as the firmware
 * forbids both). The compiler still emits calls to these four functions for
 * struct copies and initialisers, so the port provides them. newlib-nano's
 * versions are byte loops (built for size); these copy whole words when the
 * pointers allow it. Pure functions such as strlen still come from newlib-nano
 * and libm, which firmware.mk links after these objects, so the definitions
 * here take precedence.
 *
 * firmware.mk compiles this file with -fno-tree-loop-distribute-patterns, so
 * GCC cannot turn the loops below back into calls to themselves. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* may_alias: the word loops read and write objects of any type. */
typedef uint32_t __attribute__((may_alias)) word_t;

#define WORD sizeof(word_t)
#define ALIGNED(p) (((uintptr_t)(p) & (WORD - 1u)) == 0u)

void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (ALIGNED(d) && ALIGNED(s)) {
        word_t *dw = (word_t *)(void *)d;
        const word_t *sw = (const word_t *)(const void *)s;
        while (n >= WORD) {
            *dw++ = *sw++;
            n -= WORD;
        }
        d = (unsigned char *)dw;
        s = (const unsigned char *)sw;
    }
    while (n-- > 0u) {
        *d++ = *s++;
    }
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;

    if (d == s || n == 0u) {
        return dst;
    }
    /* Compare as integers: relational operators on pointers into different
     * objects are undefined in C. */
    if ((uintptr_t)d < (uintptr_t)s || (uintptr_t)d >= (uintptr_t)s + n) {
        while (n-- > 0u) { /* forward: safe when dst is below src or disjoint */
            *d++ = *s++;
        }
    } else {
        d += n;
        s += n;
        while (n-- > 0u) { /* backward: dst overlaps the tail of src */
            *--d = *--s;
        }
    }
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    unsigned char b = (unsigned char)c;

    while (n > 0u && !ALIGNED(d)) {
        *d++ = b;
        n--;
    }
    if (n >= WORD) {
        word_t w = (word_t)b * 0x01010101u;
        word_t *dw = (word_t *)(void *)d;
        while (n >= WORD) {
            *dw++ = w;
            n -= WORD;
        }
        d = (unsigned char *)dw;
    }
    while (n-- > 0u) {
        *d++ = b;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a;
    const unsigned char *q = b;

    for (; n > 0u; n--, p++, q++) {
        if (*p != *q) {
            return (int)*p - (int)*q;
        }
    }
    return 0;
}
