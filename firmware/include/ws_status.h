/* Status codes shared by every firmware module and sent on the wire as one byte.
 * Ranges: 0x00-0x1F protocol and device core, 0x20-0x3F model transfer and
 * packages, 0x40-0x5F interpreter, 0x60-0x7F signal processing.
 * docs/protocol.md lists when each is returned. */
#ifndef WS_STATUS_H
#define WS_STATUS_H

/* cdef-begin */
typedef enum {
    WS_OK = 0,
    WS_ERR_LENGTH = 1,   /* frame shorter or longer than its type allows */
    WS_ERR_CRC = 2,      /* CRC-16 trailer does not match */
    WS_ERR_VERSION = 3,  /* unknown protocol version */
    WS_ERR_TYPE = 4,     /* unknown event type, command, or acknowledgement kind */
    WS_ERR_RANGE = 5,    /* a field is outside its documented range */
    WS_ERR_ARG = 6,      /* caller error: NULL pointer or buffer too small */
    WS_ERR_STATE = 7,    /* well-formed but not allowed now (ack beyond last sequence, ...) */
    WS_ERR_EPOCH = 8,    /* names an epoch other than the current one */
    WS_ERR_BUSY = 9,     /* the device cannot take this now; retry later */
    WS_ERR_NOSPACE = 10, /* storage full */
    WS_ERR_FLASH = 11    /* a flash program or erase failed (power loss, worn page) */
} ws_status_t;
/* cdef-end */

#endif
