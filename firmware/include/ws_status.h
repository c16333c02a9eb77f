/* Status codes shared by every firmware module and sent on the wire as one byte.
 * Ranges: 0x00-0x1F protocol and device core, 0x20-0x3F model transfer and
 * packages, 0x40-0x5F interpreter, 0x60-0x7F signal processing, 0x80-0x9F firmware
 * images (docs/firmware-update.md).
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
    WS_ERR_FLASH = 11,   /* a flash program or erase failed (power loss, worn page) */
    WS_ERR_NOT_FOUND = 12, /* names something the device does not hold (a strip id) */
    /* 0x20-0x3F model transfer and packages (docs/model-package.md, "Verification") */
    WS_ERR_PKG_FORMAT = 0x20,    /* not a model package, or an unknown format version */
    WS_ERR_PKG_BOUNDS = 0x21,    /* sizes/offsets/reserved fields wrong, or truncated */
    WS_ERR_PKG_HASH = 0x22,      /* SHA-256 of the model differs from the header */
    WS_ERR_PKG_KEY = 0x23,       /* signed by a key other than the trusted one */
    WS_ERR_PKG_SIGNATURE = 0x24, /* Ed25519 signature does not verify or is malformed */
    WS_ERR_PKG_TASK = 0x25,      /* package is for another task (model slot) */
    WS_ERR_PKG_PLACEMENT = 0x26, /* package is for another placement on the body */
    WS_ERR_PKG_CLASSES = 0x27,   /* output-to-class map invalid for the task */
    WS_ERR_PKG_ROLLBACK = 0x28,  /* model version not newer than the installed one */
    WS_ERR_PKG_MODEL = 0x29,     /* the interpreter rejects the model */
    WS_ERR_PKG_SELFTEST = 0x2A,  /* self-test output differs from the expected output */
    /* 0x40-0x5F interpreter (firmware/src/nn, docs/interpreter.md) */
    WS_ERR_NN_FORMAT = 0x40,     /* not a TFLite flatbuffer: too short, no TFL3 identifier */
    WS_ERR_NN_BOUNDS = 0x41,     /* an offset, vtable or vector reaches outside the file */
    WS_ERR_NN_ALIGN = 0x42,      /* misaligned table, vector, constant buffer or arena */
    WS_ERR_NN_SCHEMA = 0x43,     /* schema version, subgraph count, a required field missing */
    WS_ERR_NN_LIMIT = 0x44,      /* more tensors, operators, inputs or dims than the firmware holds */
    WS_ERR_NN_OP = 0x45,         /* an operator the interpreter does not implement (or custom) */
    WS_ERR_NN_OP_VERSION = 0x46, /* an operator version newer than the interpreter knows */
    WS_ERR_NN_TYPE = 0x47,       /* unsupported tensor type, or the wrong type for an operand */
    WS_ERR_NN_SHAPE = 0x48,      /* shapes inconsistent with the operator, or too large */
    WS_ERR_NN_QUANT = 0x49,      /* missing or inconsistent quantization parameters */
    WS_ERR_NN_OPTIONS = 0x4A,    /* operator options missing or invalid (stride 0, ...) */
    WS_ERR_NN_INDEX = 0x4B,      /* tensor/buffer/opcode index out of range, wrong arity */
    WS_ERR_NN_GRAPH = 0x4C,      /* a tensor read before written, written twice, or constant */
    WS_ERR_NN_ARENA = 0x4D,      /* the arena is smaller than ws_nn_arena_size() */
    WS_ERR_NN_NOT_READY = 0x4E,  /* invoke or data access before load and arena */
    WS_ERR_NN_BUFFER = 0x4F,     /* constant data size differs from its tensor's size */
    /* 0x60-0x7F signal processing */
    WS_ERR_DSP_RATE = 96,   /* 0x60: ECG input rate not supported by the resampler */
    WS_ERR_DSP_CONFIG = 97, /* 0x61: ADC description invalid (gain <= 0, min >= max, ...) */
    WS_ERR_IMU_RATE = 112,  /* 0x70: IMU input rate not supported by the resampler */
    WS_ERR_IMU_CONFIG = 113, /* 0x71: IMU scale or impact threshold out of range */
    /* 0x80-0x9F firmware images in MCUboot's format (ws_image.h, docs/firmware-update.md) */
    WS_ERR_IMG_MAGIC = 0x80,       /* the header's magic is not MCUboot's 0x96f3b83d */
    WS_ERR_IMG_HEADER = 0x81,      /* header size below 32 bytes, or a flag we cannot boot */
    WS_ERR_IMG_BOUNDS = 0x82,      /* header, body or a TLV area reaches past the slot */
    WS_ERR_IMG_TLV_INFO = 0x83,    /* a TLV area's magic or length is wrong */
    WS_ERR_IMG_TLV = 0x84,         /* a TLV overflows its area, has the wrong length or area */
    WS_ERR_IMG_TLV_DUP = 0x85,     /* a TLV the verifier reads appears twice */
    WS_ERR_IMG_TLV_MISSING = 0x86, /* SHA256, KEYHASH, ED25519 or SEC_CNT is absent */
    WS_ERR_IMG_HASH = 0x87,        /* SHA-256 of header+body+protected TLVs differs */
    WS_ERR_IMG_KEY = 0x88,         /* the key hash is not the trusted key's */
    WS_ERR_IMG_SIGNATURE = 0x89,   /* the Ed25519 signature does not verify */
    WS_ERR_IMG_ROLLBACK = 0x8A     /* security counter below the device's minimum */
} ws_status_t;
/* cdef-end */

#endif
