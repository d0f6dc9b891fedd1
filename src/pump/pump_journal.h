/* SPDX-License-Identifier: Apache-2.0 */
/* The pump's local journal: every record taken from Redis is appended (and fsync'd) here
 * before it is removed from Redis; each sink reads it at its own pace from its own cursor.
 *
 * On disk: a directory of segment files "seg-<first seq, 20 digits>.tpj". Each entry is
 *   u32 payload length | u32 crc32 | u8 kind | 3 zero bytes | u64 batch id | u64 seq | payload
 * (little-endian; the CRC covers everything after itself, payload included). A torn tail left
 * by a crash fails its CRC and is cut off when the journal is opened. Sequence numbers start at
 * 1 and increase by one per entry across segments. */
#ifndef PUMP_JOURNAL_H
#define PUMP_JOURNAL_H

#include "tk_common.h"

enum pump_journal_kind {
    PUMP_KIND_ANALYTICS = 1,
    PUMP_KIND_UPTIME = 2,
};

#define PUMP_JOURNAL_HDR 28u

typedef struct pump_journal pump_journal_t;

/** One entry as a reader sees it. @data points into the reader's buffer (valid until its next
 * read). */
typedef struct pump_journal_entry {
    uint64_t seq;
    uint64_t batch;
    int kind;
    const char *data;
    size_t len;
} pump_journal_entry_t;

typedef struct pump_journal_stats {
    uint64_t head_seq; /* highest seq written (0 = none yet) */
    uint64_t bytes;    /* size of every segment together */
    uint64_t segments;
    uint64_t last_batch;
    uint64_t full_events; /* appends refused because max_bytes was reached */
    uint64_t crc_errors;  /* corrupt entries found by readers (skipped) */
    bool full;
} pump_journal_stats_t;

/**
 * Opens (creating when needed) the journal in @dir. Segments rotate once they reach
 * @segment_bytes; appends are refused once all segments together reach @max_bytes (0 = no
 * limit). A torn or corrupt tail of the newest segment is truncated. NULL + @err on failure.
 */
pump_journal_t *pump_journal_open(const char *dir, uint64_t segment_bytes, uint64_t max_bytes,
                                  char *err, size_t errlen);
void pump_journal_close(pump_journal_t *j);

/** True when the journal has reached max_bytes (the caller should stop taking records). */
bool pump_journal_full(pump_journal_t *j);

/**
 * Appends @n records of @kind from one Redis batch @batch, fsyncs, then makes them visible to
 * readers (and wakes them). Returns TK_OK, or TK_ERROR with @err (I/O error: nothing is
 * visible, the caller keeps the records and retries later). Only one thread may append.
 */
int pump_journal_append(pump_journal_t *j, int kind, uint64_t batch, const tk_str_t *recs, size_t n,
                        char *err, size_t errlen);

/** The batch id of the newest entry (0 when the journal is empty). */
uint64_t pump_journal_last_batch(pump_journal_t *j);
/** How many entries of that newest batch the journal holds (a batch may be appended in
 *  pieces; after a crash the rest is appended from there). */
uint64_t pump_journal_last_batch_count(pump_journal_t *j);
/** The highest seq written (0 when none). */
uint64_t pump_journal_head(pump_journal_t *j);
/** One less than the oldest seq still on disk (a new reader's starting cursor). */
uint64_t pump_journal_tail(pump_journal_t *j);

/** Waits up to @timeout_ms for an entry with seq > @after. True if there is one. */
bool pump_journal_wait(pump_journal_t *j, uint64_t after, int timeout_ms);
/** Wakes every waiter (used at shutdown). */
void pump_journal_wake(pump_journal_t *j);

/** Deletes every segment whose entries all have seq <= @upto (never the one being written). */
void pump_journal_release(pump_journal_t *j, uint64_t upto);

void pump_journal_get_stats(pump_journal_t *j, pump_journal_stats_t *out);

/* ---- readers: one per sink thread ---- */

typedef struct pump_journal_reader pump_journal_reader_t;

pump_journal_reader_t *pump_journal_reader_new(pump_journal_t *j);
void pump_journal_reader_free(pump_journal_reader_t *r);

/**
 * Reads up to @max entries with seq > @after into @out (entries point into the reader's buffer,
 * valid until the next call). Returns how many. A corrupt entry is logged and the rest of its
 * segment skipped (its seqs are missing from the result).
 */
size_t pump_journal_read(pump_journal_reader_t *r, uint64_t after, pump_journal_entry_t *out,
                         size_t max);

/** CRC-32 (IEEE, as zlib's crc32) of @len bytes continuing from @crc (start with 0). */
uint32_t pump_crc32(uint32_t crc, const void *buf, size_t len);

#endif
