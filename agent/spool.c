/*
 * spool.c: the sync journal (see spool.h). File layout: the magic
 * "PMSPOOL1", then records of u32 little-endian length, that many bytes of
 * JSON, and a 16-byte BLAKE2b of length and JSON. Records: put (a change),
 * batch (changes taken into a batch with its key), done (batch confirmed),
 * resync (whether a resend of every current printer is owed).
 * Replaying them in order rebuilds the queue; compaction writes the same
 * state in the fewest records. Not here: batching and sending (sync.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/clock.h"
#include "log.h"
#include "agent/spool.h"
#include "common/uuid.h"

#define SPOOL_MAGIC "PMSPOOL1"
#define SPOOL_MAGIC_LEN 8
#define SPOOL_HASH_LEN 16
#define SPOOL_BATCHES_MAX 100000

struct spool {
	char *dir;
	char *path;		/* dir/journal */
	int fd;			/* journal, O_APPEND */
	int lock_fd;
	json_t *queue;		/* deviceKey -> printer; insertion order is age */
	struct spool_batch *batches;
	size_t nbatches, capbatches;
	char *wbuf;		/* encoded records not yet written */
	size_t wlen, wcap;
	long size;		/* journal bytes on disk */
	long torn;
	int dir_unsynced;	/* a rename over the journal not yet fsync'd */
	int resync;		/* a full resend is owed (spool_set_resync) */
};

static char *
spool_join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int
spool_fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int
spool_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
spool_hash(const unsigned char *lenbuf, const char *json, size_t len,
    unsigned char out[SPOOL_HASH_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, SPOOL_HASH_LEN);
	crypto_generichash_update(&st, lenbuf, 4);
	crypto_generichash_update(&st, (const unsigned char *)json, len);
	crypto_generichash_final(&st, out, SPOOL_HASH_LEN);
}

/* Append one encoded record to a growable buffer. */
static int
spool_encode(char **buf, size_t *len, size_t *cap, const json_t *rec)
{
	char *json = json_dumps(rec, JSON_COMPACT);
	size_t jl, need;
	unsigned char lenbuf[4], hash[SPOOL_HASH_LEN];
	char *nb;
	int rc = -1;

	if (json == NULL)
		return -1;
	jl = strlen(json);
	if (jl > SPOOL_RECORD_MAX)
		goto err;
	need = *len + 4 + jl + SPOOL_HASH_LEN;
	if (need > *cap) {
		size_t nc = *cap ? *cap : 4096;

		while (nc < need)
			nc *= 2;
		if ((nb = realloc(*buf, nc)) == NULL)
			goto err;
		*buf = nb;
		*cap = nc;
	}
	lenbuf[0] = (unsigned char)(jl & 0xff);
	lenbuf[1] = (unsigned char)((jl >> 8) & 0xff);
	lenbuf[2] = (unsigned char)((jl >> 16) & 0xff);
	lenbuf[3] = (unsigned char)((jl >> 24) & 0xff);
	spool_hash(lenbuf, json, jl, hash);
	memcpy(*buf + *len, lenbuf, 4);
	memcpy(*buf + *len + 4, json, jl);
	memcpy(*buf + *len + 4 + jl, hash, SPOOL_HASH_LEN);
	*len = need;
	rc = 0;
err:
	free(json);
	return rc;
}

static int
spool_record(struct spool *sp, json_t *rec)
{
	int rc;

	if (rec == NULL)
		return -1;
	rc = spool_encode(&sp->wbuf, &sp->wlen, &sp->wcap, rec);
	json_decref(rec);
	return rc;
}

/* Make a compaction's rename durable; until then the journal's records are
 * not, whatever fdatasync said about the file. */
static int
spool_sync_dir(struct spool *sp)
{
	if (!sp->dir_unsynced)
		return 0;
	if (spool_fsync_dir(sp->dir) < 0)
		return -1;
	sp->dir_unsynced = 0;
	return 0;
}

int
spool_flush(struct spool *sp)
{
	if (sp->wlen > 0) {
		if (spool_write_all(sp->fd, sp->wbuf, sp->wlen) < 0)
			return -1;
		if (fdatasync(sp->fd) < 0)
			return -1;
		sp->size += (long)sp->wlen;
		sp->wlen = 0;
	}
	return spool_sync_dir(sp);
}

static const char *
spool_key(const json_t *printer)
{
	const char *k = json_string_value(json_object_get(printer, "deviceKey"));

	return (k && *k) ? k : NULL;
}

/* State changes shared by live calls and replay. */
static int
spool_apply_put(struct spool *sp, const json_t *printer)
{
	const char *key = spool_key(printer);
	json_t *copy;

	if (key == NULL || !json_is_object(printer))
		return -1;
	/* Delete first so the replacement moves to the back: it is the newest. */
	json_object_del(sp->queue, key);
	if ((copy = json_deep_copy(printer)) == NULL)
		return -1;
	return json_object_set_new(sp->queue, key, copy);
}

static struct spool_batch *
spool_add_batch(struct spool *sp, const char *id)
{
	struct spool_batch *b;

	if (sp->nbatches >= SPOOL_BATCHES_MAX)
		return NULL;
	if (sp->nbatches == sp->capbatches) {
		size_t nc = sp->capbatches ? sp->capbatches * 2 : 8;

		if ((b = realloc(sp->batches, nc * sizeof(*b))) == NULL)
			return NULL;
		sp->batches = b;
		sp->capbatches = nc;
	}
	b = &sp->batches[sp->nbatches];
	memset(b, 0, sizeof(*b));
	snprintf(b->id, sizeof(b->id), "%s", id);
	if ((b->printers = json_array()) == NULL)
		return NULL;
	sp->nbatches++;
	return b;
}

/* Move the waiting changes named in `keys` into a new batch `id`. */
static int
spool_apply_batch(struct spool *sp, const char *id, const json_t *keys)
{
	struct spool_batch *b;
	const json_t *k;
	json_t *p;
	size_t i;

	if (id == NULL || strlen(id) >= SPOOL_ID_LEN || !json_is_array(keys))
		return -1;
	if ((b = spool_add_batch(sp, id)) == NULL)
		return -1;
	json_array_foreach(keys, i, k) {
		const char *key = json_string_value(k);

		if (key == NULL || (p = json_object_get(sp->queue, key)) == NULL)
			continue;
		json_array_append(b->printers, p);
		json_object_del(sp->queue, key);
	}
	return 0;
}

static int
spool_apply_done(struct spool *sp, const char *id)
{
	size_t i;

	if (id == NULL)
		return -1;
	for (i = 0; i < sp->nbatches; i++) {
		if (strcmp(sp->batches[i].id, id) != 0)
			continue;
		json_decref(sp->batches[i].printers);
		memmove(&sp->batches[i], &sp->batches[i + 1],
		    (sp->nbatches - i - 1) * sizeof(sp->batches[0]));
		sp->nbatches--;
		return 0;
	}
	return -1;
}

static int
spool_apply(struct spool *sp, const json_t *rec)
{
	const char *op = json_string_value(json_object_get(rec, "op"));
	const char *id = json_string_value(json_object_get(rec, "id"));

	if (op == NULL)
		return -1;
	if (strcmp(op, "put") == 0)
		return spool_apply_put(sp, json_object_get(rec, "printer"));
	if (strcmp(op, "batch") == 0)
		return spool_apply_batch(sp, id, json_object_get(rec, "keys"));
	if (strcmp(op, "resync") == 0) {
		sp->resync = json_is_true(json_object_get(rec, "pending"));
		return 0;
	}
	if (strcmp(op, "done") == 0) {
		/* A done for an unknown batch is harmless (already compacted). */
		spool_apply_done(sp, id);
		return 0;
	}
	return -1;
}

static unsigned char *
spool_read_file(int fd, size_t *len)
{
	struct stat st;
	unsigned char *buf;
	size_t off = 0;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return NULL;
	*len = (size_t)st.st_size;
	if ((buf = malloc(*len + 1)) == NULL)
		return NULL;
	while (off < *len) {
		n = pread(fd, buf + off, *len - off, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	*len = off;
	return buf;
}

/* Replay every whole, intact record; stop at the first that is not. */
static int
spool_replay(struct spool *sp, int fd)
{
	unsigned char *buf;
	unsigned char hash[SPOOL_HASH_LEN];
	size_t len, off, jl;
	json_t *rec;
	long records = 0;

	if ((buf = spool_read_file(fd, &len)) == NULL)
		return -1;
	if (len < SPOOL_MAGIC_LEN || memcmp(buf, SPOOL_MAGIC, SPOOL_MAGIC_LEN) != 0) {
		if (len > 0) {
			log_warnx("[AUTO-SYNC] spool: %s is not a journal (%zu bytes ignored)",
			    sp->path, len);
			sp->torn = (long)len;
		}
		free(buf);
		return 0;
	}
	off = SPOOL_MAGIC_LEN;
	while (off < len) {
		if (len - off < 4)
			break;
		jl = (size_t)buf[off] | (size_t)buf[off + 1] << 8 |
		    (size_t)buf[off + 2] << 16 | (size_t)buf[off + 3] << 24;
		if (jl > SPOOL_RECORD_MAX || len - off - 4 < jl + SPOOL_HASH_LEN)
			break;
		spool_hash(buf + off, (const char *)buf + off + 4, jl, hash);
		if (sodium_memcmp(hash, buf + off + 4 + jl, SPOOL_HASH_LEN) != 0)
			break;
		rec = json_loadb((const char *)buf + off + 4, jl, 0, NULL);
		if (rec == NULL)
			break;
		if (spool_apply(sp, rec) < 0)
			log_warnx("[AUTO-SYNC] spool: skipping a malformed record at offset %zu",
			    off);
		json_decref(rec);
		off += 4 + jl + SPOOL_HASH_LEN;
		records++;
	}
	if (off < len) {
		sp->torn = (long)(len - off);
		log_warnx("[AUTO-SYNC] spool: ignoring a torn or corrupt record at offset %zu "
		    "(%zu bytes); %ld records replayed", off, len - off, records);
	}
	free(buf);
	return 0;
}

static int
spool_encode_state(struct spool *sp, char **buf, size_t *len, size_t *cap)
{
	const char *key;
	json_t *p, *keys, *rec;
	size_t i, j;

	for (i = 0; i < sp->nbatches; i++) {
		if ((keys = json_array()) == NULL)
			return -1;
		json_array_foreach(sp->batches[i].printers, j, p) {
			rec = json_pack("{s:s, s:O}", "op", "put", "printer", p);
			if (rec == NULL || spool_encode(buf, len, cap, rec) < 0) {
				json_decref(rec);
				json_decref(keys);
				return -1;
			}
			json_decref(rec);
			json_array_append_new(keys, json_string(spool_key(p)));
		}
		rec = json_pack("{s:s, s:s, s:o}", "op", "batch", "id", sp->batches[i].id,
		    "keys", keys);
		if (rec == NULL || spool_encode(buf, len, cap, rec) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
	}
	json_object_foreach(sp->queue, key, p) {
		rec = json_pack("{s:s, s:O}", "op", "put", "printer", p);
		if (rec == NULL || spool_encode(buf, len, cap, rec) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
	}
	if (sp->resync) {
		rec = json_pack("{s:s, s:b}", "op", "resync", "pending", 1);
		if (rec == NULL || spool_encode(buf, len, cap, rec) < 0) {
			json_decref(rec);
			return -1;
		}
		json_decref(rec);
	}
	return 0;
}

int
spool_compact(struct spool *sp)
{
	char *tmp = NULL, *buf = NULL;
	size_t len = 0, cap = 0;
	int fd = -1, rc = -1;

	if (spool_flush(sp) < 0)
		return -1;
	if ((tmp = spool_join(sp->dir, SPOOL_JOURNAL ".tmp")) == NULL)
		goto err;
	if ((buf = malloc(SPOOL_MAGIC_LEN)) == NULL)
		goto err;
	memcpy(buf, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	len = cap = SPOOL_MAGIC_LEN;
	if (spool_encode_state(sp, &buf, &len, &cap) < 0)
		goto err;
	/* O_APPEND: once renamed, this descriptor is the journal's. */
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || spool_write_all(fd, buf, len) < 0 || fsync(fd) < 0)
		goto err;
	if (rename(tmp, sp->path) < 0)
		goto err;
	/*
	 * From here the new file is the journal whatever happens next: the old
	 * one is unlinked, and a record appended to it would be lost in a crash.
	 * If the directory fsync fails, every flush tries it again and reports
	 * nothing durable before it succeeds.
	 */
	close(sp->fd);
	sp->fd = fd;
	fd = -1;
	sp->size = (long)len;
	sp->dir_unsynced = 1;
	if (spool_sync_dir(sp) < 0)
		goto err;
	rc = 0;
err:
	if (rc < 0)
		log_warn("[AUTO-SYNC] spool: compaction of %s failed", sp->path);
	if (fd >= 0) {
		close(fd);
		unlink(tmp);
	}
	free(tmp);
	free(buf);
	return rc;
}

int
spool_open(const char *dir, struct spool **out, char *err, size_t errlen)
{
	struct spool *sp;
	char *lockpath = NULL;
	int rfd = -1;

	*out = NULL;
	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	sp->fd = sp->lock_fd = -1;
	if ((sp->dir = strdup(dir)) == NULL || (sp->queue = json_object()) == NULL ||
	    (sp->path = spool_join(dir, SPOOL_JOURNAL)) == NULL ||
	    (lockpath = spool_join(dir, SPOOL_LOCK)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto err;
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create spool directory %s: %s", dir,
		    strerror(errno));
		goto err;
	}
	sp->lock_fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sp->lock_fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", lockpath, strerror(errno));
		goto err;
	}
	if (flock(sp->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		snprintf(err, errlen, "spool %s is in use by another agent", dir);
		goto err;
	}
	rfd = open(sp->path, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
	if (rfd < 0 || spool_replay(sp, rfd) < 0) {
		snprintf(err, errlen, "cannot read %s: %s", sp->path, strerror(errno));
		goto err;
	}
	close(rfd);
	rfd = -1;
	sp->fd = open(sp->path, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (sp->fd < 0 || spool_compact(sp) < 0) {
		snprintf(err, errlen, "cannot write %s: %s", sp->path, strerror(errno));
		goto err;
	}
	free(lockpath);
	*out = sp;
	return 0;
err:
	if (rfd >= 0)
		close(rfd);
	free(lockpath);
	spool_close(sp);
	return -1;
}

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	if (sp->fd >= 0) {
		if (spool_flush(sp) < 0)
			log_warn("[AUTO-SYNC] spool: final flush of %s failed", sp->path);
		close(sp->fd);
	}
	if (sp->lock_fd >= 0)
		close(sp->lock_fd);
	for (i = 0; i < sp->nbatches; i++)
		json_decref(sp->batches[i].printers);
	free(sp->batches);
	json_decref(sp->queue);
	free(sp->wbuf);
	free(sp->path);
	free(sp->dir);
	free(sp);
}

int
spool_put(struct spool *sp, const json_t *printer)
{
	if (spool_apply_put(sp, printer) < 0)
		return -1;
	return spool_record(sp, json_pack("{s:s, s:O}", "op", "put", "printer", printer));
}

static int
spool_busy(const char *id, const char *const *busy, size_t nbusy)
{
	size_t i;

	for (i = 0; i < nbusy; i++)
		if (strcmp(busy[i], id) == 0)
			return 1;
	return 0;
}

/* deviceKey -> true for every printer in a formed batch; NULL on failure. */
static json_t *
spool_batched_keys(const struct spool *sp)
{
	json_t *set = json_object(), *p;
	size_t i, j;

	for (i = 0; set && i < sp->nbatches; i++)
		json_array_foreach(sp->batches[i].printers, j, p)
			if (spool_key(p) && json_object_set_new(set, spool_key(p), json_true()) < 0) {
				json_decref(set);
				return NULL;
			}
	return set;
}

/* Form batch from up to `max` waiting changes, oldest first, of printers in
 * no formed batch; *out NULL when none qualifies. */
static int
spool_form_batch(struct spool *sp, size_t max, const struct spool_batch **out)
{
	char id[SPOOL_ID_LEN];
	const char *key;
	json_t *keys, *p, *batched;
	size_t n = 0;

	if (json_object_size(sp->queue) == 0)
		return 0;
	if ((batched = spool_batched_keys(sp)) == NULL || (keys = json_array()) == NULL) {
		json_decref(batched);
		return -1;
	}
	json_object_foreach(sp->queue, key, p) {
		if (n >= max)
			break;
		if (json_object_get(batched, key))
			continue;
		json_array_append_new(keys, json_string(key));
		n++;
	}
	json_decref(batched);
	if (n == 0) {
		json_decref(keys);
		return 0;
	}
	uuid_new(id);
	if (spool_apply_batch(sp, id, keys) < 0) {
		json_decref(keys);
		return -1;
	}
	if (spool_record(sp, json_pack("{s:s, s:s, s:o}", "op", "batch", "id", id,
	    "keys", keys)) < 0)
		return -1;
	*out = &sp->batches[sp->nbatches - 1];
	return 0;
}

int
spool_next_free_batch(struct spool *sp, size_t max, const char *const *busy, size_t nbusy,
    const struct spool_batch **out)
{
	size_t i;

	*out = NULL;
	for (i = 0; i < sp->nbatches && *out == NULL; i++)
		if (!spool_busy(sp->batches[i].id, busy, nbusy))
			*out = &sp->batches[i];
	if (*out == NULL && spool_form_batch(sp, max, out) < 0)
		return -1;
	/* Waiting puts and the batch record become durable before any send. */
	if (spool_flush(sp) < 0) {
		*out = NULL;
		return -1;
	}
	return 0;
}

int
spool_next_batch(struct spool *sp, size_t max, const struct spool_batch **out)
{
	return spool_next_free_batch(sp, max, NULL, 0, out);
}

int
spool_batch_done(struct spool *sp, const char *id)
{
	char idcopy[SPOOL_ID_LEN];

	snprintf(idcopy, sizeof(idcopy), "%s", id);	/* id may point into the batch */
	if (spool_apply_done(sp, idcopy) < 0)
		return -1;
	if (spool_record(sp, json_pack("{s:s, s:s}", "op", "done", "id", idcopy)) < 0 ||
	    spool_flush(sp) < 0)
		return -1;
	/* An empty queue costs one tiny rewrite; a large journal is rewritten
	 * when it has grown well past what it holds. The done record is durable
	 * already: a failed compaction (logged) leaves a consistent journal. */
	if ((sp->nbatches == 0 && json_object_size(sp->queue) == 0 &&
	    sp->size > 4096) || sp->size > SPOOL_COMPACT_BYTES)
		(void)spool_compact(sp);
	return 0;
}

int
spool_batch_reject(struct spool *sp, const char *id, long http_status,
    const char *reason, const json_t *reply)
{
	const struct spool_batch *b = NULL;
	char *path = NULL, *line = NULL, ts[32];
	json_t *rec = NULL;
	time_t now = time(NULL);
	size_t i;
	int fd = -1, rc = -1;

	for (i = 0; i < sp->nbatches; i++)
		if (strcmp(sp->batches[i].id, id) == 0)
			b = &sp->batches[i];
	if (b == NULL)
		return -1;
	clock_iso8601(now, ts);
	rec = json_pack("{s:s, s:s, s:I, s:s, s:O?, s:O}", "at", ts, "idempotencyKey", b->id,
	    "httpStatus", (json_int_t)http_status, "reason", reason ? reason : "",
	    "reply", reply, "printers", b->printers);
	if (rec == NULL || (line = json_dumps(rec, JSON_COMPACT)) == NULL)
		goto err;
	if ((path = spool_join(sp->dir, SPOOL_REJECTED)) == NULL)
		goto err;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 || spool_write_all(fd, line, strlen(line)) < 0 ||
	    spool_write_all(fd, "\n", 1) < 0 || fdatasync(fd) < 0)
		goto err;
	rc = spool_batch_done(sp, id);
err:
	if (fd >= 0)
		close(fd);
	json_decref(rec);
	free(line);
	free(path);
	return rc;
}

int
spool_set_resync(struct spool *sp, int pending)
{
	pending = pending != 0;
	if (sp->resync == pending)
		return 0;
	if (spool_record(sp, json_pack("{s:s, s:b}", "op", "resync", "pending", pending)) < 0)
		return -1;
	sp->resync = pending;
	return 0;
}

int
spool_resync_pending(const struct spool *sp)
{
	return sp->resync;
}

size_t
spool_waiting(const struct spool *sp)
{
	return json_object_size(sp->queue);
}

size_t
spool_in_batches(const struct spool *sp)
{
	size_t i, n = 0;

	for (i = 0; i < sp->nbatches; i++)
		n += json_array_size(sp->batches[i].printers);
	return n;
}

size_t
spool_batches(const struct spool *sp)
{
	return sp->nbatches;
}

long
spool_journal_bytes(const struct spool *sp)
{
	return sp->size + (long)sp->wlen;
}

long
spool_torn_bytes(const struct spool *sp)
{
	return sp->torn;
}
