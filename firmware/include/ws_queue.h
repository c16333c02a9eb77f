/* The persistent event queue: a log of CRC-checked, two-phase-committed records
 * in flash pages (format and recovery: docs/device-core.md). Events keep their
 * (epoch, seq) identity; they stay until the host acknowledges them; when the
 * flash is full the lowest-priority events of the oldest page go first and a GAP
 * event records what was dropped. The queue also persists the device's counters
 * (epoch, last assigned seq, acknowledged seq, boot count), so a sequence number
 * never repeats across resets. */
#ifndef WS_QUEUE_H
#define WS_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "ws_flash.h"
#include "ws_protocol.h"
#include "ws_status.h"

/* cdef-begin */
#define WS_QUEUE_MAX_PAGES 64
#define WS_QUEUE_MIN_PAGES 3
#define WS_QUEUE_MIN_PAGE_SIZE 256
#define WS_QUEUE_MAX_PAGE_SIZE 65536
#define WS_QUEUE_PAGE_HEADER_SIZE 28
#define WS_QUEUE_MAX_RECORD_SIZE 32
/* cdef-end */

typedef struct ws_queue {
    const ws_flash_t *flash;
    uint32_t now_s;       /* device time: stamped on GAP events, BOOT records, page headers */
    uint32_t last_time_s; /* latest device time found in flash at mount */
    uint16_t epoch;
    uint32_t last_seq; /* last sequence number assigned in this epoch */
    uint32_t acked;    /* highest sequence number the host acknowledged */
    uint16_t boot_count;
    uint8_t formatted; /* 1 when mount found a blank flash and started epoch 1 */
    uint32_t next_page_seq;
    uint32_t head;   /* page being appended to, or WS_QUEUE_NO_PAGE */
    uint32_t newest; /* live page with the highest page sequence */
    uint8_t live[WS_QUEUE_MAX_PAGES];
    uint32_t page_seq[WS_QUEUE_MAX_PAGES];
    uint32_t end[WS_QUEUE_MAX_PAGES];     /* offset after the last complete record */
    uint32_t max_seq[WS_QUEUE_MAX_PAGES]; /* highest event seq in the page, 0 if none */
} ws_queue_t;

#define WS_QUEUE_NO_PAGE 0xFFFFFFFFu

/* Recovers the queue from flash after any reset or power cut: keeps every
 * complete record, drops a torn one, finishes or forgets an interrupted
 * compaction. A blank flash is formatted as epoch 1. */
ws_status_t ws_queue_mount(ws_queue_t *q, const ws_flash_t *flash);

/* Assigns the next sequence number to ev (ev->seq) and stores it durably.
 * WS_ERR_NOSPACE when sequence numbers of the epoch are exhausted. */
ws_status_t ws_queue_append(ws_queue_t *q, ws_event_t *ev);

/* Persists "the host holds every event up to seq" and frees the pages that
 * only hold acknowledged events. The caller checks epoch and range. */
ws_status_t ws_queue_ack(ws_queue_t *q, uint32_t seq);

/* Starts epoch+1 with an empty queue (factory reset). WS_ERR_RANGE at 65535. */
ws_status_t ws_queue_new_epoch(ws_queue_t *q);

/* Counts this boot durably. */
ws_status_t ws_queue_note_boot(ws_queue_t *q);

/* The stored event with the smallest seq greater than after (and than the
 * acknowledged seq): its wire bytes in out. *len is 0 when there is none. */
ws_status_t ws_queue_next(const ws_queue_t *q, uint32_t after, uint8_t *out, size_t cap,
                          size_t *len, uint32_t *seq);

/* Events of the largest size that still fit before the queue starts dropping. */
uint32_t ws_queue_free_events(const ws_queue_t *q);

/* Unacknowledged event records (a copy left by an interrupted compaction counts
 * twice until the next mount). */
uint32_t ws_queue_pending(const ws_queue_t *q);

#endif
