/*
 * test_spool.c: the sync journal: replay after reopen, a torn or corrupt last
 * record ignored with the rest replayed, coalescing of waiting changes,
 * batches keeping their idempotency key across restarts, compaction (also
 * when the directory fsync after its rename fails), the owed full resend, the
 * rejected file, and the one-agent lock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sodium.h>

#include "log.h"
#include "agent/spool.h"

/*
 * fsync of this program, in place of libc's (the executable's definition wins
 * for every caller): fails the next `fail_dir_fsyncs` fsyncs of a directory
 * with EIO, passes everything else to the system call.
 */
static int fail_dir_fsyncs;

int
fsync(int fd)
{
	struct stat st;

	if (fail_dir_fsyncs > 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		fail_dir_fsyncs--;
		errno = EIO;
		return -1;
	}
	return (int)syscall(SYS_fsync, fd);
}

struct fixture {
	char dir[64];
	char journal[128];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/pmtest-spool.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->journal, sizeof(f->journal), "%s/%s", f->dir, SPOOL_JOURNAL);
	fail_dir_fsyncs = 0;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static json_t *
printer(const char *key, const char *status)
{
	return json_pack("{s:s, s:s, s:s}", "name", key, "deviceKey", key, "status", status);
}

static void
put(struct spool *sp, const char *key, const char *status)
{
	json_t *p = printer(key, status);

	assert_int_equal(spool_put(sp, p), 0);
	json_decref(p);
}

static struct spool *
open_spool(struct fixture *f)
{
	struct spool *sp = NULL;
	char err[256];

	assert_int_equal(spool_open(f->dir, &sp, err, sizeof(err)), 0);
	assert_non_null(sp);
	return sp;
}

static long
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (long)st.st_size;
}

static const char *
batch_key(const struct spool_batch *b, size_t i)
{
	return json_string_value(json_object_get(json_array_get(b->printers, i), "deviceKey"));
}

static void
test_replay_after_reopen(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	put(sp, "net:c:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);

	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 3);
	assert_int_equal(spool_torn_bytes(sp), 0);
	spool_close(sp);
}

static void
test_torn_last_record_ignored(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	const struct spool_batch *b;
	long before, whole;

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	before = file_size(f->journal);
	put(sp, "net:c:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	whole = file_size(f->journal);
	spool_close(sp);

	/* A crash in the middle of the third append: only part of it reached disk. */
	assert_int_equal(truncate(f->journal, before + (whole - before) / 2), 0);
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 2);
	assert_int_equal(spool_torn_bytes(sp), (whole - before) / 2);
	assert_int_equal(spool_next_batch(sp, 10, &b), 0);
	assert_non_null(b);
	assert_int_equal(json_array_size(b->printers), 2);
	assert_string_equal(batch_key(b, 0), "net:a:9100");
	assert_string_equal(batch_key(b, 1), "net:b:9100");
	/* The torn tail was cut off; appends after it replay again. */
	put(sp, "net:d:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);
	sp = open_spool(f);
	assert_int_equal(spool_torn_bytes(sp), 0);
	assert_int_equal(spool_in_batches(sp), 2);
	assert_int_equal(spool_waiting(sp), 1);
	spool_close(sp);
}

static void
test_corrupt_checksum_ignored(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	long size;
	int fd;
	char c;

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);
	/* Flip one byte inside the last record's JSON: the length is whole but
	 * the checksum no longer matches. */
	size = file_size(f->journal);
	fd = open(f->journal, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, &c, 1, size - 20), 1);
	c ^= 0x20;
	assert_int_equal(pwrite(fd, &c, 1, size - 20), 1);
	close(fd);
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 1);
	assert_true(spool_torn_bytes(sp) > 0);
	spool_close(sp);
}

static void
test_coalescing(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	const struct spool_batch *b;
	const char *st;

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	put(sp, "net:a:9100", "offline");	/* replaces the waiting online change */
	assert_int_equal(spool_waiting(sp), 2);
	assert_int_equal(spool_next_batch(sp, 1, &b), 0);
	assert_string_equal(batch_key(b, 0), "net:b:9100");
	/* A change for a key already in a formed batch does not touch the batch
	 * (its key and body are fixed), it waits for the next one. */
	put(sp, "net:b:9100", "error");
	assert_int_equal(spool_waiting(sp), 2);
	assert_int_equal(spool_in_batches(sp), 1);
	st = json_string_value(json_object_get(json_array_get(b->printers, 0), "status"));
	assert_string_equal(st, "online");
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);

	/* The same state comes back from disk. */
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 2);
	assert_int_equal(spool_in_batches(sp), 1);
	assert_int_equal(spool_next_batch(sp, 5, &b), 0);
	assert_string_equal(batch_key(b, 0), "net:b:9100");
	assert_int_equal(spool_batch_done(sp, b->id), 0);
	assert_int_equal(spool_next_batch(sp, 5, &b), 0);
	assert_int_equal(json_array_size(b->printers), 2);
	assert_string_equal(batch_key(b, 0), "net:a:9100");
	st = json_string_value(json_object_get(json_array_get(b->printers, 0), "status"));
	assert_string_equal(st, "offline");
	st = json_string_value(json_object_get(json_array_get(b->printers, 1), "status"));
	assert_string_equal(st, "error");
	spool_close(sp);
}

/*
 * Batches in flight at once (sync_concurrency): never two with one printer; a
 * printer's newer change waits until its batch in flight is confirmed; after a
 * restart the formed batches come back oldest first.
 */
static void
test_free_batches_disjoint(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	const struct spool_batch *b;
	char b1[SPOOL_ID_LEN], b2[SPOOL_ID_LEN];
	const char *busy[2];
	const char *st;

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	put(sp, "net:c:9100", "online");
	assert_int_equal(spool_next_free_batch(sp, 2, NULL, 0, &b), 0);
	assert_int_equal(json_array_size(b->printers), 2);
	assert_string_equal(batch_key(b, 0), "net:a:9100");
	memcpy(b1, b->id, sizeof(b1));
	put(sp, "net:a:9100", "offline");
	busy[0] = b1;
	assert_int_equal(spool_next_free_batch(sp, 2, busy, 1, &b), 0);
	assert_int_equal(json_array_size(b->printers), 1);
	assert_string_equal(batch_key(b, 0), "net:c:9100");
	memcpy(b2, b->id, sizeof(b2));
	busy[1] = b2;
	/* Only a's newer change waits, and a is in flight. */
	assert_int_equal(spool_next_free_batch(sp, 2, busy, 2, &b), 0);
	assert_null(b);
	assert_int_equal(spool_waiting(sp), 1);
	assert_int_equal(spool_batch_done(sp, b1), 0);
	busy[0] = b2;
	assert_int_equal(spool_next_free_batch(sp, 2, busy, 1, &b), 0);
	assert_non_null(b);
	assert_string_equal(batch_key(b, 0), "net:a:9100");
	st = json_string_value(json_object_get(json_array_get(b->printers, 0), "status"));
	assert_string_equal(st, "offline");
	spool_close(sp);

	sp = open_spool(f);
	assert_int_equal(spool_batches(sp), 2);
	assert_int_equal(spool_next_free_batch(sp, 2, NULL, 0, &b), 0);
	assert_string_equal(b->id, b2);
	spool_close(sp);
}

static void
test_batch_key_survives_restart(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	const struct spool_batch *b;
	char id[SPOOL_ID_LEN];

	put(sp, "net:a:9100", "online");
	put(sp, "net:b:9100", "online");
	put(sp, "net:c:9100", "online");
	assert_int_equal(spool_next_batch(sp, 2, &b), 0);
	assert_int_equal(strlen(b->id), 36);
	memcpy(id, b->id, sizeof(id));
	/* kill -9 here: nothing more is written. */
	spool_close(sp);
	sp = open_spool(f);
	assert_int_equal(spool_batches(sp), 1);
	assert_int_equal(spool_next_batch(sp, 2, &b), 0);
	assert_string_equal(b->id, id);
	assert_int_equal(json_array_size(b->printers), 2);
	assert_int_equal(spool_batch_done(sp, id), 0);
	assert_int_equal(spool_next_batch(sp, 2, &b), 0);
	assert_string_not_equal(b->id, id);
	assert_int_equal(json_array_size(b->printers), 1);
	assert_int_equal(spool_batch_done(sp, b->id), 0);
	assert_int_equal(spool_next_batch(sp, 2, &b), 0);
	assert_null(b);
	spool_close(sp);
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp) + spool_in_batches(sp), 0);
	spool_close(sp);
}

static void
test_compaction(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);
	const struct spool_batch *b;
	char key[64];
	long grown;
	int i, round;

	/* Many superseded changes for few keys grow the journal; compaction
	 * shrinks it to the live state, which replays the same. */
	for (round = 0; round < 50; round++) {
		for (i = 0; i < 20; i++) {
			snprintf(key, sizeof(key), "net:10.0.0.%d:9100", i);
			put(sp, key, round % 2 ? "offline" : "online");
		}
		assert_int_equal(spool_flush(sp), 0);
	}
	assert_int_equal(spool_next_batch(sp, 5, &b), 0);
	grown = file_size(f->journal);
	assert_int_equal(spool_compact(sp), 0);
	assert_true(file_size(f->journal) < grown / 10);
	assert_int_equal(spool_waiting(sp), 15);
	assert_int_equal(spool_in_batches(sp), 5);
	/* Appends after a compaction go to the new file. */
	put(sp, "net:x:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 16);
	assert_int_equal(spool_in_batches(sp), 5);
	assert_int_equal(spool_next_batch(sp, 5, &b), 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(b->printers, 0),
	    "status")), "offline");
	spool_close(sp);
}

/*
 * The directory fsync after the rename fails: the new file already is the
 * journal (the old one is unlinked), so what is appended next must go to it,
 * and is not reported durable until the directory fsync has succeeded.
 */
static void
test_compaction_dir_fsync_fails(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);

	put(sp, "net:a:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	fail_dir_fsyncs = 2;
	assert_int_equal(spool_compact(sp), -1);
	put(sp, "net:b:9100", "online");
	/* The rename is still not known to be on disk: not durable yet. */
	assert_int_equal(spool_flush(sp), -1);
	assert_int_equal(fail_dir_fsyncs, 0);
	put(sp, "net:c:9100", "online");
	assert_int_equal(spool_flush(sp), 0);
	assert_int_equal(spool_journal_bytes(sp), file_size(f->journal));
	spool_close(sp);

	/* Everything appended after the failed compaction is in the journal. */
	sp = open_spool(f);
	assert_int_equal(spool_waiting(sp), 3);
	assert_int_equal(spool_torn_bytes(sp), 0);
	spool_close(sp);
}

/* The owed full resend survives a restart and a compaction, and clearing it
 * does too. */
static void
test_resync_survives_restart(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f);

	assert_int_equal(spool_resync_pending(sp), 0);
	put(sp, "net:a:9100", "online");
	assert_int_equal(spool_set_resync(sp, 1), 0);
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);

	sp = open_spool(f);	/* replays, then compacts */
	assert_int_equal(spool_resync_pending(sp), 1);
	assert_int_equal(spool_waiting(sp), 1);
	spool_close(sp);
	sp = open_spool(f);	/* from the compacted journal */
	assert_int_equal(spool_resync_pending(sp), 1);
	assert_int_equal(spool_set_resync(sp, 0), 0);
	assert_int_equal(spool_flush(sp), 0);
	spool_close(sp);

	sp = open_spool(f);
	assert_int_equal(spool_resync_pending(sp), 0);
	assert_int_equal(spool_waiting(sp), 1);
	spool_close(sp);
}

static void
test_reject_and_lock(void **state)
{
	struct fixture *f = *state;
	struct spool *sp = open_spool(f), *other = NULL;
	const struct spool_batch *b;
	char path[160], line[4096], err[256];
	json_t *reply, *rec;
	FILE *fp;

	assert_int_equal(spool_open(f->dir, &other, err, sizeof(err)), -1);
	assert_null(other);
	assert_non_null(strstr(err, "in use"));
	put(sp, "net:a:9100", "online");
	assert_int_equal(spool_next_batch(sp, 5, &b), 0);
	reply = json_pack("{s:{s:s}}", "error", "code", "validation_failed");
	assert_int_equal(spool_batch_reject(sp, b->id, 422, "HTTP 422", reply), 0);
	json_decref(reply);
	assert_int_equal(spool_batches(sp), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, SPOOL_REJECTED);
	fp = fopen(path, "r");
	assert_non_null(fp);
	assert_non_null(fgets(line, sizeof(line), fp));
	fclose(fp);
	rec = json_loads(line, 0, NULL);
	assert_non_null(rec);
	assert_int_equal(json_integer_value(json_object_get(rec, "httpStatus")), 422);
	assert_int_equal(json_array_size(json_object_get(rec, "printers")), 1);
	json_decref(rec);
	spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_replay_after_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_last_record_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_checksum_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_coalescing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_key_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_batches_disjoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction, setup, teardown),
		cmocka_unit_test_setup_teardown(test_compaction_dir_fsync_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resync_survives_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reject_and_lock, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	log_init("test_spool", "error", "text");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
