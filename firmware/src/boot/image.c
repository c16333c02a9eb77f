/* MCUboot-format firmware image verification (ws_image.h, docs/firmware-update.md).
 * Every size and offset in the header and the TLV areas comes from untrusted bytes: each
 * is checked against the slot, in 64-bit arithmetic so no sum can wrap, before anything
 * is read through it. Written by hand over the firmware's own SHA-256 and Ed25519
 * (docs/firmware-update.md says why not MCUboot's bootutil). */
#include "ws_image.h"

#include <string.h>

#include "ws_bytes.h"

/* Header offsets (MCUboot's struct image_header, little-endian). */
enum {
    OFF_MAGIC = 0,
    OFF_LOAD_ADDR = 4,
    OFF_HDR_SIZE = 8,
    OFF_PROT_TLV_SIZE = 10,
    OFF_IMG_SIZE = 12,
    OFF_FLAGS = 16,
    OFF_VER_MAJOR = 20,
    OFF_VER_MINOR = 21,
    OFF_VER_REVISION = 22,
    OFF_VER_BUILD = 24
};

#define HASH_LEN 32u
#define KEYHASH_LEN 32u
#define SIGNATURE_LEN 64u
#define SEC_CNT_LEN 4u

/* DER SubjectPublicKeyInfo of an Ed25519 key (RFC 8410) before its 32 raw bytes: what
 * imgtool hashes for the KEYHASH TLV and what MCUboot keeps as the key. */
static const uint8_t spki_prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
                                        0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};

typedef struct {
    uint32_t hash_off, keyhash_off, signature_off, sec_cnt_off;
} found_t;

/* Walks the entries of one TLV area, [start + info, end), both already inside the slot. */
static ws_status_t walk_tlvs(const uint8_t *slot, uint64_t start, uint64_t end, int protected_area,
                             found_t *found)
{
    uint64_t off = start + WS_IMAGE_TLV_INFO_SIZE;
    while (off < end) {
        uint32_t type, len, value_off, want;
        uint32_t *slot_of;
        if (end - off < WS_IMAGE_TLV_HEADER_SIZE) {
            return WS_ERR_IMG_TLV;
        }
        type = ws_get_u16(slot + off);
        len = ws_get_u16(slot + off + 2);
        if (end - off - WS_IMAGE_TLV_HEADER_SIZE < len) {
            return WS_ERR_IMG_TLV;
        }
        value_off = (uint32_t)(off + WS_IMAGE_TLV_HEADER_SIZE);
        off += WS_IMAGE_TLV_HEADER_SIZE + (uint64_t)len;
        switch (type) {
        case WS_IMAGE_TLV_SHA256:
            slot_of = &found->hash_off;
            want = HASH_LEN;
            break;
        case WS_IMAGE_TLV_KEYHASH:
            slot_of = &found->keyhash_off;
            want = KEYHASH_LEN;
            break;
        case WS_IMAGE_TLV_ED25519:
            slot_of = &found->signature_off;
            want = SIGNATURE_LEN;
            break;
        case WS_IMAGE_TLV_SEC_CNT:
            slot_of = &found->sec_cnt_off;
            want = SEC_CNT_LEN;
            break;
        default:
            /* Unknown types are skipped, as MCUboot skips them: in the protected area they
             * are covered by the hash and the signature; in the other they change nothing
             * the verifier reads. */
            continue;
        }
        /* The security counter must be signed; hash, key hash and signature cannot be. */
        if ((type == WS_IMAGE_TLV_SEC_CNT) != (protected_area != 0)) {
            return WS_ERR_IMG_TLV;
        }
        if (len != want) {
            return WS_ERR_IMG_TLV;
        }
        if (*slot_of != 0) {
            return WS_ERR_IMG_TLV_DUP;
        }
        *slot_of = value_off; /* never 0: a value follows a 32-byte header at least */
    }
    return WS_OK;
}

ws_status_t ws_image_parse(const uint8_t *slot, size_t slot_len, ws_image_info_t *out)
{
    uint64_t hdr_size, img_size, prot_size, prot_start, prot_end, tlv_size;
    uint32_t flags;
    found_t found = {0, 0, 0, 0};
    ws_status_t st;

    if (out == NULL) {
        return WS_ERR_ARG;
    }
    memset(out, 0, sizeof *out);
    if (slot == NULL) {
        return WS_ERR_ARG;
    }
    if (slot_len < WS_IMAGE_HEADER_SIZE) {
        return WS_ERR_IMG_BOUNDS;
    }
    if (ws_get_u32(slot + OFF_MAGIC) != WS_IMAGE_MAGIC) {
        return WS_ERR_IMG_MAGIC;
    }
    hdr_size = ws_get_u16(slot + OFF_HDR_SIZE);
    prot_size = ws_get_u16(slot + OFF_PROT_TLV_SIZE);
    img_size = ws_get_u32(slot + OFF_IMG_SIZE);
    flags = ws_get_u32(slot + OFF_FLAGS);
    if (hdr_size < WS_IMAGE_HEADER_SIZE || (flags & ~(uint32_t)WS_IMAGE_F_ALLOWED) != 0) {
        return WS_ERR_IMG_HEADER;
    }

    /* Header, body, protected area and the unprotected area's info header in the slot. */
    prot_start = hdr_size + img_size;
    prot_end = prot_start + prot_size;
    if (prot_end + WS_IMAGE_TLV_INFO_SIZE > slot_len || prot_end > UINT32_MAX - 0x10000u) {
        return WS_ERR_IMG_BOUNDS; /* (and every offset below fits 32 bits) */
    }

    if (prot_size != 0) {
        if (prot_size < WS_IMAGE_TLV_INFO_SIZE ||
            ws_get_u16(slot + prot_start) != WS_IMAGE_TLV_PROT_INFO_MAGIC ||
            ws_get_u16(slot + prot_start + 2) != prot_size) {
            return WS_ERR_IMG_TLV_INFO;
        }
        st = walk_tlvs(slot, prot_start, prot_end, 1, &found);
        if (st != WS_OK) {
            return st;
        }
    }

    if (ws_get_u16(slot + prot_end) != WS_IMAGE_TLV_INFO_MAGIC) {
        return WS_ERR_IMG_TLV_INFO;
    }
    tlv_size = ws_get_u16(slot + prot_end + 2);
    if (tlv_size < WS_IMAGE_TLV_INFO_SIZE) {
        return WS_ERR_IMG_TLV_INFO;
    }
    if (prot_end + tlv_size > slot_len) {
        return WS_ERR_IMG_BOUNDS;
    }
    st = walk_tlvs(slot, prot_end, prot_end + tlv_size, 0, &found);
    if (st != WS_OK) {
        return st;
    }
    if (found.hash_off == 0 || found.keyhash_off == 0 || found.signature_off == 0 ||
        found.sec_cnt_off == 0) {
        return WS_ERR_IMG_TLV_MISSING;
    }

    out->load_addr = ws_get_u32(slot + OFF_LOAD_ADDR);
    out->flags = flags;
    out->header_size = (uint32_t)hdr_size;
    out->image_size = (uint32_t)img_size;
    out->protected_tlv_size = (uint32_t)prot_size;
    out->tlv_size = (uint32_t)tlv_size;
    out->total_size = (uint32_t)(prot_end + tlv_size);
    out->version_major = slot[OFF_VER_MAJOR];
    out->version_minor = slot[OFF_VER_MINOR];
    out->version_revision = ws_get_u16(slot + OFF_VER_REVISION);
    out->version_build = ws_get_u32(slot + OFF_VER_BUILD);
    out->security_counter = ws_get_u32(slot + found.sec_cnt_off);
    memcpy(out->hash, slot + found.hash_off, HASH_LEN);
    out->hash_off = found.hash_off;
    out->keyhash_off = found.keyhash_off;
    out->signature_off = found.signature_off;
    return WS_OK;
}

ws_status_t ws_image_verify(const uint8_t *slot, size_t slot_len, const uint8_t pubkey[32],
                            uint32_t min_security_counter, ws_image_info_t *out)
{
    uint8_t digest[WS_SHA256_DIGEST_SIZE];
    ws_sha256_t sha;
    ws_status_t st;

    if (out == NULL) {
        return WS_ERR_ARG;
    }
    if (pubkey == NULL) {
        memset(out, 0, sizeof *out);
        return WS_ERR_ARG;
    }
    st = ws_image_parse(slot, slot_len, out);
    if (st != WS_OK) {
        return st;
    }

    /* 2: the hash covers the header (padding included), the body and the protected area. */
    ws_sha256(slot, (size_t)out->header_size + out->image_size + out->protected_tlv_size,
              digest);
    if (memcmp(digest, slot + out->hash_off, HASH_LEN) != 0) {
        st = WS_ERR_IMG_HASH;
        goto fail;
    }

    /* 3: the key hash names the trusted key. */
    ws_sha256_init(&sha);
    ws_sha256_update(&sha, spki_prefix, sizeof spki_prefix);
    ws_sha256_update(&sha, pubkey, WS_ED25519_PUBLIC_KEY_SIZE);
    ws_sha256_final(&sha, digest);
    if (memcmp(digest, slot + out->keyhash_off, KEYHASH_LEN) != 0) {
        st = WS_ERR_IMG_KEY;
        goto fail;
    }

    /* 4: Ed25519 over the 32 bytes of the (now checked) hash, as imgtool signs. */
    if (ws_ed25519_verify(slot + out->signature_off, slot + out->hash_off, HASH_LEN, pubkey) !=
        WS_OK) {
        st = WS_ERR_IMG_SIGNATURE;
        goto fail;
    }

    /* 5: anti-rollback, only for an authentic image (the counter is signed). */
    if (out->security_counter < min_security_counter) {
        return WS_ERR_IMG_ROLLBACK;
    }
    return WS_OK;

fail:
    memset(out, 0, sizeof *out);
    return st;
}
