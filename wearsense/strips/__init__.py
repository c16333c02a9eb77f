"""ECG strips (issue #31): the lossless block codec of the device's ECG samples and the
strip image the device stores and sends (docs/strips.md).

``codec``: ``decode_block``, ``decode_payload`` (a pure-Python reference decoder, written
from the format in docs/strips.md, not from the C) and ``encode_block`` (the firmware's C
encoder through the host binding). ``image``: ``parse_image``, ``build_image``,
``StripImage``. Every malformed input raises ``StripFormatError``.
"""

from wearsense.strips.codec import (
    BLOCK_MAX_BYTES,
    BLOCK_SAMPLES,
    StripFormatError,
    decode_block,
    decode_payload,
    encode_block,
    encode_samples,
)
from wearsense.strips.image import (
    HEADER_SIZE,
    MAGIC,
    REASON_AF_ONSET,
    REASON_FALL,
    REASON_RECORDING,
    StripImage,
    build_image,
    parse_image,
)

__all__ = [
    "BLOCK_MAX_BYTES",
    "BLOCK_SAMPLES",
    "HEADER_SIZE",
    "MAGIC",
    "REASON_AF_ONSET",
    "REASON_FALL",
    "REASON_RECORDING",
    "StripFormatError",
    "StripImage",
    "build_image",
    "decode_block",
    "decode_payload",
    "encode_block",
    "encode_samples",
    "parse_image",
]
