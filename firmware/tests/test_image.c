/* Firmware images in MCUboot's format (ws_image.h) with an image signed by imgtool itself
 * (build/gen/ws_image_vectors.h, the DEV image key): the valid image verifies and reports
 * its header; every flipped byte and every truncation is refused; each malformed or
 * unacceptable case gets its own status. Runs on the host and on the M4; on the M4 it
 * flips every 7th byte only (each flip after the hash costs an Ed25519 verification) and
 * prints the instruction count of one verification:
 *   WS-M4-TICKS calibration=<ticks> instructions=2000000
 *   WS-M4-TICKS image_verify=<ticks> bytes=<image size> stack_used=<bytes> */
#include <string.h>

#include "ws_bytes.h"
#include "ws_image.h"
#include "ws_image_vectors.h"
#include "ws_test.h"

#if defined(WS_PORT_CORTEX_M4)
#include "platform.h"
#define FLIP_STEP 7u
#else
#define FLIP_STEP 1u
#endif

/* The slot: the image, then erased flash. */
#define SLOT_SIZE (WS_VEC_IMAGE_SIZE + 64)
static uint8_t slot[SLOT_SIZE];

static void reset_slot(void)
{
    memset(slot, 0xff, sizeof slot);
    memcpy(slot, WS_VEC_IMAGE, WS_VEC_IMAGE_SIZE);
}

static ws_status_t verify(size_t len, uint32_t min_counter, ws_image_info_t *info)
{
    return ws_image_verify(slot, len, WS_VEC_IMAGE_KEY, min_counter, info);
}

/* Offsets of the layout, from the header (the vector is imgtool's, not ours). */
static uint32_t prot_start(void) { return WS_VEC_IMAGE_HEADER_SIZE + WS_VEC_IMAGE_BODY_SIZE; }
static uint32_t tlv_start(void) { return prot_start() + ws_get_u16(slot + 10); }

/* The offset of the first TLV of `type` in the unprotected area (0 if none). */
static uint32_t find_tlv(uint16_t type)
{
    uint32_t off = tlv_start() + WS_IMAGE_TLV_INFO_SIZE;
    uint32_t end = tlv_start() + ws_get_u16(slot + tlv_start() + 2);
    while (off + 4 <= end) {
        if (ws_get_u16(slot + off) == type) {
            return off;
        }
        off += 4u + ws_get_u16(slot + off + 2);
    }
    return 0;
}

static void check_valid(void)
{
    ws_image_info_t info;
    reset_slot();
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, WS_VEC_IMAGE_SEC_CNT, &info), WS_OK);
    WS_TEST_ASSERT_EQ_INT(info.header_size, WS_VEC_IMAGE_HEADER_SIZE);
    WS_TEST_ASSERT_EQ_INT(info.image_size, WS_VEC_IMAGE_BODY_SIZE);
    WS_TEST_ASSERT_EQ_INT(info.total_size, WS_VEC_IMAGE_SIZE);
    WS_TEST_ASSERT_EQ_INT(info.protected_tlv_size, 12);
    WS_TEST_ASSERT_EQ_INT(info.version_major, WS_VEC_IMAGE_VERSION_MAJOR);
    WS_TEST_ASSERT_EQ_INT(info.version_minor, WS_VEC_IMAGE_VERSION_MINOR);
    WS_TEST_ASSERT_EQ_INT(info.version_revision, WS_VEC_IMAGE_VERSION_REVISION);
    WS_TEST_ASSERT_EQ_INT(info.version_build, WS_VEC_IMAGE_VERSION_BUILD);
    WS_TEST_ASSERT_EQ_INT(info.security_counter, WS_VEC_IMAGE_SEC_CNT);
    WS_TEST_ASSERT_EQ_INT(info.flags, 0);
    /* the slot may end exactly where the image does */
    WS_TEST_ASSERT_EQ_INT(verify(WS_VEC_IMAGE_SIZE, 0, &info), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_image_parse(slot, WS_VEC_IMAGE_SIZE, &info), WS_OK);
    WS_TEST_ASSERT_EQ_INT(ws_image_verify(NULL, SLOT_SIZE, WS_VEC_IMAGE_KEY, 0, &info), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_image_verify(slot, SLOT_SIZE, NULL, 0, &info), WS_ERR_ARG);
    WS_TEST_ASSERT_EQ_INT(ws_image_verify(slot, SLOT_SIZE, WS_VEC_IMAGE_KEY, 0, NULL), WS_ERR_ARG);
}

/* Every byte of the image matters: the header, body and protected area are hashed, and
 * every byte of the unprotected area is a magic, a length, a type or a checked value. */
static void check_flips_and_truncations(void)
{
    ws_image_info_t info;
    uint32_t i, refused = 0, tried = 0;
    for (i = 0; i < WS_VEC_IMAGE_SIZE; i += FLIP_STEP) {
        reset_slot();
        slot[i] ^= 0x01;
        tried++;
        refused += verify(SLOT_SIZE, 0, &info) != WS_OK;
    }
    WS_TEST_ASSERT_EQ_INT(refused, tried);
    reset_slot();
    for (i = 0; i < WS_VEC_IMAGE_SIZE; i += FLIP_STEP) {
        WS_TEST_ASSERT(verify(i, 0, &info) != WS_OK);
    }
    WS_TEST_ASSERT_EQ_INT(verify(WS_VEC_IMAGE_SIZE - 1, 0, &info), WS_ERR_IMG_BOUNDS);
    WS_TEST_ASSERT_EQ_INT(verify(prot_start(), 0, &info), WS_ERR_IMG_BOUNDS);
    WS_TEST_ASSERT_EQ_INT(verify(31, 0, &info), WS_ERR_IMG_BOUNDS);
    WS_TEST_ASSERT_EQ_INT(info.total_size, 0); /* zeroed on failure */
}

static void check_each_status(void)
{
    ws_image_info_t info;
    uint32_t off;

    reset_slot();
    slot[0] ^= 0x80;
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_MAGIC);

    reset_slot(); /* header size below the 32-byte header */
    ws_put_u16(slot + 8, 16);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_HEADER);
    reset_slot(); /* an encrypted image */
    ws_put_u32(slot + 16, 0x4);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_HEADER);

    reset_slot(); /* header size lying: everything after it moves out of place */
    ws_put_u16(slot + 8, WS_VEC_IMAGE_HEADER_SIZE + 4);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_INFO);
    reset_slot(); /* a header size reaching past the slot */
    ws_put_u16(slot + 8, 0xffff);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_BOUNDS);
    reset_slot(); /* image size larger than the slot, and the largest one */
    ws_put_u32(slot + 12, SLOT_SIZE);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_BOUNDS);
    ws_put_u32(slot + 12, 0xffffffffu);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_BOUNDS);

    reset_slot(); /* protected size in the header disagrees with the area's own */
    ws_put_u16(slot + 10, 16);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_INFO);
    reset_slot(); /* no protected area said, so the 0x6908 area is read as the other */
    ws_put_u16(slot + 10, 0);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_INFO);
    reset_slot(); /* the unprotected area's length reaching past the slot */
    ws_put_u16(slot + tlv_start() + 2, 0xfff0);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_BOUNDS);
    reset_slot(); /* ... or shorter than its own info header */
    ws_put_u16(slot + tlv_start() + 2, 3);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_INFO);

    reset_slot(); /* a TLV whose length overflows its area */
    off = find_tlv(WS_IMAGE_TLV_ED25519);
    ws_put_u16(slot + off + 2, 65);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);
    reset_slot(); /* the area said shorter: the signature's value ends past its end */
    ws_put_u16(slot + tlv_start() + 2, ws_get_u16(slot + tlv_start() + 2) - 10);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);
    reset_slot(); /* the security counter TLV overflowing the protected area */
    ws_put_u16(slot + prot_start() + 6, 5);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);
    reset_slot(); /* a known TLV of the wrong length, inside its area */
    off = find_tlv(WS_IMAGE_TLV_ED25519);
    ws_put_u16(slot + off + 2, 60);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);
    reset_slot(); /* the area ending inside a TLV header */
    ws_put_u16(slot + tlv_start() + 2, ws_get_u16(slot + tlv_start() + 2) + 2);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);
    reset_slot(); /* a security counter outside the signed area: a TLV in the wrong area */
    off = find_tlv(WS_IMAGE_TLV_ED25519);
    ws_put_u16(slot + off, WS_IMAGE_TLV_SEC_CNT);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV);

    reset_slot(); /* KEYHASH retyped as a second SHA256 (both 32 bytes) */
    ws_put_u16(slot + find_tlv(WS_IMAGE_TLV_KEYHASH), WS_IMAGE_TLV_SHA256);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_DUP);

    reset_slot(); /* the signature retyped as an unknown (skipped) TLV */
    ws_put_u16(slot + find_tlv(WS_IMAGE_TLV_ED25519), 0xa0);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_MISSING);
    reset_slot(); /* the security counter retyped as an unknown protected TLV */
    ws_put_u16(slot + prot_start() + 4, 0xa0);
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_TLV_MISSING);

    reset_slot(); /* the body changed (the structure intact) */
    slot[WS_VEC_IMAGE_HEADER_SIZE + 5] ^= 0x10;
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_HASH);
    reset_slot(); /* the security counter changed: it is hashed */
    slot[prot_start() + 8] ^= 0x01;
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_HASH);

    reset_slot(); /* a key the device does not trust */
    WS_TEST_ASSERT_EQ_INT(ws_image_verify(slot, SLOT_SIZE, WS_VEC_IMAGE_FOREIGN_KEY, 0, &info),
                          WS_ERR_IMG_KEY);
    reset_slot(); /* the signature's last byte */
    slot[find_tlv(WS_IMAGE_TLV_ED25519) + 4 + 63] ^= 0x01;
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, 0, &info), WS_ERR_IMG_SIGNATURE);

    reset_slot(); /* an authentic but older image */
    WS_TEST_ASSERT_EQ_INT(verify(SLOT_SIZE, WS_VEC_IMAGE_SEC_CNT + 1, &info), WS_ERR_IMG_ROLLBACK);
    WS_TEST_ASSERT_EQ_INT(info.security_counter, WS_VEC_IMAGE_SEC_CNT);
}

#if defined(WS_PORT_CORTEX_M4)
#include "systick.h"

static void measure(void)
{
    uint32_t start, ticks;
    ws_image_info_t info;
    ws_status_t status;
    reset_slot();
    ws_test_puts("WS-M4-TICKS calibration=");
    ws_test_put_uint(ws_systick_calibrate());
    ws_test_puts(" instructions=");
    ws_test_put_uint(WS_SYSTICK_CALIBRATION_INSTRUCTIONS);
    ws_test_puts("\n");
    start = ws_systick_start();
    status = verify(SLOT_SIZE, 0, &info);
    ticks = ws_systick_elapsed(start);
    WS_TEST_ASSERT_EQ_INT(status, WS_OK);
    ws_test_puts("WS-M4-TICKS image_verify=");
    ws_test_put_uint(ticks);
    ws_test_puts(" bytes=");
    ws_test_put_uint(WS_VEC_IMAGE_SIZE);
    ws_test_puts(" stack_used=");
    ws_test_put_uint(ws_port_stack_used());
    ws_test_puts("\n");
}
#endif

int ws_test_run(void)
{
    check_valid();
    check_flips_and_truncations();
    check_each_status();
#if defined(WS_PORT_CORTEX_M4)
    measure();
#endif
    return ws_test_failures();
}
