/* Deliberate memory and arithmetic errors, compiled only into the sanitizer build,
 * so a test can prove that AddressSanitizer and UBSan really fire. */
#ifndef WS_ASAN_CANARY_H
#define WS_ASAN_CANARY_H

/* cdef-begin */
int ws_canary_stack_overflow(int index);
int ws_canary_signed_overflow(int addend);
/* cdef-end */

#endif
