/* libFuzzer target for the firmware-image verifier (firmware/src/boot/image.c): every
 * input is a candidate slot, verified under the DEV image key of the seed image
 * (build/gen/ws_image_vectors.h), so mutations of the signed seed reach the hash, key and
 * signature checks. Invariants: the verifier never reads outside the slot (ASan), returns
 * a status of the image range (or OK), and agrees with ws_image_parse on the structure;
 * on success the image it reports lies inside the slot. Built by `make fuzz-image`
 * (mk/boot.mk). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ws_image.h"
#include "ws_image_vectors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ws_image_info_t info, parsed;
    ws_status_t st = ws_image_verify(data, size, WS_VEC_IMAGE_KEY, WS_VEC_IMAGE_SEC_CNT, &info);
    ws_status_t pst = ws_image_parse(data, size, &parsed);
    if (st != WS_OK && (st < WS_ERR_IMG_MAGIC || st > WS_ERR_IMG_ROLLBACK)) {
        abort();
    }
    /* structure errors are the parser's; a parsed image fails, if at all, on crypto */
    if (pst != WS_OK && st != pst) {
        abort();
    }
    if (st == WS_OK) {
        if (pst != WS_OK || info.total_size > size || info.total_size != parsed.total_size ||
            info.security_counter < WS_VEC_IMAGE_SEC_CNT ||
            (uint64_t)info.header_size + info.image_size + info.protected_tlv_size +
                    info.tlv_size != info.total_size) {
            abort();
        }
    }
    return 0;
}
