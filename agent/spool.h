/*
 * spool.h: the agent's on-disk sync journal. Every queued printer change is
 * appended (length-prefixed, BLAKE2b-checksummed, fsync'd) before it is sent
 * and dropped only after the server confirms it, so a crash, a reboot or a
 * long outage loses nothing. A batch's Idempotency-Key is chosen when the
 * batch is formed and journaled with it, so a resend after a restart is
 * recognised by the server and nothing is applied twice. Main thread only.
 */
#ifndef PM_SPOOL_H
#define PM_SPOOL_H

#include <stddef.h>
#include <jansson.h>

#include "common/uuid.h"

#define SPOOL_JOURNAL "journal"		/* file names inside the spool directory */
#define SPOOL_REJECTED "rejected.jsonl"
#define SPOOL_LOCK "lock"
#define SPOOL_ID_LEN (UUID_TEXT_LEN + 1)	/* idempotency key: a UUID string + NUL */
#define SPOOL_RECORD_MAX (4u << 20)	/* bytes of one record's JSON */
#define SPOOL_COMPACT_BYTES (1L << 20)	/* journal size that triggers compaction */

/* A formed batch: its idempotency key and its printers, oldest change first.
 * Owned by the spool; valid until spool_batch_done/reject or spool_close. */
struct spool_batch {
	char id[SPOOL_ID_LEN];
	json_t *printers;
};

struct spool;

/*
 * Open (creating it, mode 0700) the spool in `dir`, take its lock (one agent
 * per spool), replay the journal and compact it. A torn or corrupt tail
 * record (a crash during an append) is ignored with one log line; everything
 * before it is kept. Returns 0 and *out, or -1 with a reason in err.
 */
int spool_open(const char *dir, struct spool **out, char *err, size_t errlen);

/* Durability helpers, also for the print job spool (jobs.c): write all of
 * buf, retrying short writes; fsync a directory (after a rename in it).
 * 0 or -1 with errno. */
int spool_write_all(int fd, const char *buf, size_t len);
int spool_fsync_dir(const char *dir);
/* Flush what is buffered and release everything. NULL is a no-op. */
void spool_close(struct spool *sp);

/*
 * Queue one change: a normalised printer object with a string "deviceKey".
 * A change still waiting (not yet in a batch) for the same deviceKey is
 * replaced. Buffered: spool_flush (or spool_next_batch) makes it durable.
 * Returns 0, or -1 (no deviceKey, allocation failure).
 */
int spool_put(struct spool *sp, const json_t *printer);
/* Write buffered records and fdatasync (and fsync the directory after a
 * compaction whose rename is not durable yet). Returns 0 or -1 (errno set). */
int spool_flush(struct spool *sp);

/*
 * The oldest batch not yet confirmed. When there is none, form one from up to
 * `max` waiting changes (oldest first) with a fresh Idempotency-Key and make
 * it durable. *out is NULL when nothing waits. Returns 0 or -1 (I/O error).
 */
int spool_next_batch(struct spool *sp, size_t max, const struct spool_batch **out);
/*
 * For several batches in flight: the oldest formed batch whose id is not
 * among the `nbusy` ids in `busy`; when there is none, a new one formed from
 * up to `max` waiting changes (oldest first) of printers that are in no
 * formed batch, so two batches never carry one printer and a printer's
 * newer change waits until its older one is confirmed. *out is NULL when
 * nothing qualifies. The pointer is valid until the next spool call that
 * forms, confirms or rejects a batch. Returns 0 or -1 (I/O error).
 */
int spool_next_free_batch(struct spool *sp, size_t max, const char *const *busy, size_t nbusy,
    const struct spool_batch **out);
/* The server confirmed batch `id`: forget it (durably). Returns 0 or -1; a
 * compaction it starts that fails is only logged. */
int spool_batch_done(struct spool *sp, const char *id);
/*
 * The server refused batch `id` as a whole (a 4xx): append it, with the HTTP
 * status, the reason and the server's reply (may be NULL), to the
 * rejected.jsonl file (fsync'd), then forget it. Returns 0 or -1.
 */
int spool_batch_reject(struct spool *sp, const char *id, long http_status,
    const char *reason, const json_t *reply);

/*
 * Rewrite the journal from the live state: temp file, fsync, rename, fsync
 * of the directory. Returns 0 or -1. A failure before the rename leaves the
 * old journal in use, untouched; after it, the new file is the journal and
 * every spool_flush retries the directory fsync, returning -1 until it works.
 */
int spool_compact(struct spool *sp);

/*
 * Whether a resend of every current printer is owed: set when the server
 * refused the agent's credential, cleared once that resend is queued. Kept in
 * the journal (buffered like spool_put), so a restart in between still owes
 * it. spool_set_resync returns 0 or -1 (allocation failure).
 */
int spool_set_resync(struct spool *sp, int pending);
int spool_resync_pending(const struct spool *sp);

size_t spool_waiting(const struct spool *sp);	/* changes not in a batch */
size_t spool_in_batches(const struct spool *sp);	/* changes in formed batches */
size_t spool_batches(const struct spool *sp);	/* formed, unconfirmed batches */
long spool_journal_bytes(const struct spool *sp);
/* Bytes dropped as a torn tail when the spool was opened. */
long spool_torn_bytes(const struct spool *sp);

#endif
