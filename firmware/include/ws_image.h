/* Firmware images in MCUboot's format, as MCUboot's own `imgtool sign` writes them with an
 * Ed25519 key: the device's verifier. docs/firmware-update.md is the format as we use it;
 * wearsense.updates.firmware_image builds and signs images with imgtool.
 *
 * A slot holds, from its first byte:
 *   header      32 bytes (magic 0x96f3b83d, load address, header size, protected TLV
 *               size, body size, flags, version), zero-padded to `header size`
 *   body        `image size` bytes
 *   protected   TLV area, magic 0x6908, `protected TLV size` bytes in all (its info
 *               header included): SEC_CNT (the security counter) and any others
 *   unprotected TLV area, magic 0x6907, its length in its info header: SHA256 (of
 *               header + body + protected area), KEYHASH (SHA-256 of the signing key's
 *               DER SubjectPublicKeyInfo), ED25519 (the signature of the 32-byte SHA256)
 * and then whatever the slot holds after it (erased flash, a trailer).
 *
 * ws_image_verify runs every check in this order and returns the first failure:
 *   1 structure   WS_ERR_IMG_MAGIC, WS_ERR_IMG_HEADER, WS_ERR_IMG_BOUNDS,
 *                 WS_ERR_IMG_TLV_INFO, WS_ERR_IMG_TLV, WS_ERR_IMG_TLV_DUP,
 *                 WS_ERR_IMG_TLV_MISSING (ws_image_parse: every size and offset checked
 *                 against the slot before anything is read through it)
 *   2 hash        WS_ERR_IMG_HASH       SHA-256 of bytes [0, header+body+protected)
 *   3 key         WS_ERR_IMG_KEY        KEYHASH is not SHA-256 of the trusted key's SPKI
 *   4 signature   WS_ERR_IMG_SIGNATURE  Ed25519 over the 32-byte hash (imgtool's default,
 *                                       and what MCUboot verifies without SIGN_PURE)
 *   5 rollback    WS_ERR_IMG_ROLLBACK   SEC_CNT below min_security_counter
 * WS_ERR_ARG for a NULL pointer. Nothing of the image is trusted before step 4 passes
 * except what step 1 bounds; no heap, a fixed amount of stack. */
#ifndef WS_IMAGE_H
#define WS_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_crypto.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_IMAGE_MAGIC 0x96f3b83d
#define WS_IMAGE_HEADER_SIZE 32
#define WS_IMAGE_TLV_INFO_MAGIC 0x6907
#define WS_IMAGE_TLV_PROT_INFO_MAGIC 0x6908
#define WS_IMAGE_TLV_INFO_SIZE 4
#define WS_IMAGE_TLV_HEADER_SIZE 4

/* TLV types (MCUboot's image_tlv.h numbering) the verifier reads; others are skipped. */
#define WS_IMAGE_TLV_KEYHASH 0x01
#define WS_IMAGE_TLV_SHA256 0x10
#define WS_IMAGE_TLV_ED25519 0x24
#define WS_IMAGE_TLV_SEC_CNT 0x50

/* Header flags. Only ROM_FIXED may be set: the bootloader runs images in place, neither
 * decrypts nor decompresses, and boots one image (others: WS_ERR_IMG_HEADER). */
#define WS_IMAGE_F_ROM_FIXED 0x100
#define WS_IMAGE_F_ALLOWED 0x100

typedef struct {
    uint32_t load_addr;
    uint32_t flags;
    uint32_t header_size;        /* bytes before the body (the 32-byte header, padded) */
    uint32_t image_size;         /* body bytes */
    uint32_t protected_tlv_size; /* the protected TLV area, its info header included */
    uint32_t tlv_size;           /* the unprotected TLV area, its info header included */
    uint32_t total_size;         /* header + body + both TLV areas: the bytes to copy */
    uint8_t version_major;
    uint8_t version_minor;
    uint16_t version_revision;
    uint32_t version_build;
    uint32_t security_counter;
    uint8_t hash[32];      /* the SHA256 TLV (verified by ws_image_verify only) */
    uint32_t hash_off;     /* offsets in the slot of the TLV values read */
    uint32_t keyhash_off;
    uint32_t signature_off;
} ws_image_info_t;

/* Step 1 only: the structure, every length and offset checked against slot_len. No
 * cryptography, so nothing it reports is authentic; fills *out on WS_OK (zeroes it on
 * any error). */
ws_status_t ws_image_parse(const uint8_t *slot, size_t slot_len, ws_image_info_t *out);

/* Steps 1-5 (above) under the trusted Ed25519 public key (32 raw bytes). *out is filled
 * on WS_OK and on WS_ERR_IMG_ROLLBACK (an authentic but older image), zeroed otherwise. */
ws_status_t ws_image_verify(const uint8_t *slot, size_t slot_len, const uint8_t pubkey[32],
                            uint32_t min_security_counter, ws_image_info_t *out);
/* cdef-end */

#endif
