/*
 * jobs.c: the agent's print jobs (see jobs.h). Files in <spool_dir>/jobs:
 * <id>.job, the offer as received (written to a temporary name, fsync'd,
 * renamed, the directory fsync'd: only then is "accepted" sent); <id>.printing,
 * made (and fsync'd) just before the bytes go out; done.log, one line
 * "<id> <state> <reason>" per finished job, appended and fsync'd before the
 * spool files go and before the answer is sent.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>

#include "log.h"
#include "agent/jobs.h"
#include "agent/printout.h"
#include "agent/spool.h"

#define JOBS_QUEUE_MAX 1024
#define JOBS_REASON_MAX 400
#define JOBS_INTERRUPTED "the agent stopped while sending it to the printer; not sent " \
	"again, so that it is never printed twice"

struct jobs {
	char dir[4096];
	long timeout_ms, delay_ms;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	json_t *inbox;		/* messages from the server; under mu */
	struct ws_client *ws;	/* under mu */
	int stop;		/* under mu */
	json_t *done;		/* id -> [state, reason]; the thread's */
	int done_fd;
	size_t done_lines;
};

size_t
jobs_text_lines(const unsigned char *in, size_t len, unsigned char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char ch = in[i];

		if (ch == '\r') {
			if (i + 1 < len && in[i + 1] == '\n')
				continue;
			ch = '\n';
		}
		if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
			continue;
		out[o++] = ch;
	}
	if (o == 0 || out[o - 1] != '\n')
		out[o++] = '\n';
	return o;
}

/* A job id as a file name: a UUID's characters only, so no path tricks. */
static int
jobs_id_ok(const char *id)
{
	return id && strlen(id) == 36 && strspn(id, "0123456789abcdefABCDEF-") == 36;
}

static void
jobs_path(const struct jobs *j, const char *id, const char *ext, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s%s", j->dir, id, ext);
}

/* Write a file durably: temporary name, fsync, rename, directory fsync. */
static int
jobs_write_file(struct jobs *j, const char *id, const char *ext, const char *data,
    size_t len)
{
	char tmp[4200], path[4200];
	int fd, rc = -1;

	jobs_path(j, id, ".tmp", tmp, sizeof(tmp));
	jobs_path(j, id, ext, path, sizeof(path));
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (spool_write_all(fd, data, len) == 0 && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && (rename(tmp, path) < 0 || spool_fsync_dir(j->dir) < 0))
		rc = -1;
	if (rc < 0)
		unlink(tmp);
	return rc;
}

static void
jobs_done_remember(struct jobs *j, const char *id, const char *state, const char *reason)
{
	json_object_set_new(j->done, id, json_pack("[s,s]", state, reason ? reason : ""));
}

/* Append a finished job to done.log and fsync it. 0 or -1. */
static int
jobs_done_add(struct jobs *j, const char *id, const char *state, const char *reason)
{
	char line[64 + JOBS_REASON_MAX * 2];
	size_t n = 0;
	int len;

	len = snprintf(line, sizeof(line), "%s %s ", id, state);
	for (const char *p = reason ? reason : ""; *p && len + n + 2 < sizeof(line); p++)
		if (*p != '\n' && *p != '\r')
			line[len + n++] = *p;
	line[len + n++] = '\n';
	jobs_done_remember(j, id, state, reason);
	j->done_lines++;
	if (spool_write_all(j->done_fd, line, (size_t)len + n) < 0 || fsync(j->done_fd) < 0) {
		log_warn("[AUTO-SYNC] jobs: cannot write %s/%s", j->dir, JOBS_DONE_FILE);
		return -1;
	}
	return 0;
}

/* Rewrite done.log with the newest JOBS_DONE_KEEP of `order` (ids, oldest
 * first), durably: a temporary file, fsync, rename. 0 or -1. */
static int
jobs_done_compact(struct jobs *j, const json_t *order)
{
	char path[4200], tmp[4200];
	size_t from = json_array_size(order) - JOBS_DONE_KEEP, i;
	json_t *keep = json_object(), *v;
	FILE *f;
	int rc = -1;

	snprintf(path, sizeof(path), "%s/%s", j->dir, JOBS_DONE_FILE);
	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", j->dir, JOBS_DONE_FILE);
	if (!keep || (f = fopen(tmp, "we")) == NULL) {
		json_decref(keep);
		return -1;
	}
	json_array_foreach(order, i, v) {
		const char *id = json_string_value(v);
		json_t *d = json_object_get(j->done, id);

		if (i < from || json_object_get(keep, id))
			continue;
		json_object_set(keep, id, d);
		fprintf(f, "%s %s %s\n", id, json_string_value(json_array_get(d, 0)),
		    json_string_value(json_array_get(d, 1)));
	}
	if (fflush(f) == 0 && fsync(fileno(f)) == 0)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
	if (rc == 0 && (rename(tmp, path) < 0 || spool_fsync_dir(j->dir) < 0))
		rc = -1;
	if (rc < 0) {
		unlink(tmp);
		json_decref(keep);
		return -1;
	}
	json_decref(j->done);
	j->done = keep;
	j->done_lines = json_object_size(keep);
	return 0;
}

/* Read done.log; rewrite it with the newest JOBS_DONE_KEEP when it grew past
 * twice that. 0 or -1. */
static int
jobs_done_load(struct jobs *j)
{
	char path[4200], line[64 + JOBS_REASON_MAX * 2];
	json_t *order = json_array();
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", j->dir, JOBS_DONE_FILE);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f)) {
			char *sp1 = strchr(line, ' '), *sp2, *nl;

			if (!sp1 || (sp2 = strchr(sp1 + 1, ' ')) == NULL)
				continue;
			*sp1 = *sp2 = '\0';
			if ((nl = strchr(sp2 + 1, '\n')) != NULL)
				*nl = '\0';
			if (!jobs_id_ok(line))
				continue;
			jobs_done_remember(j, line, sp1 + 1, sp2 + 1);
			json_array_append_new(order, json_string(line));
		}
		fclose(f);
	}
	j->done_lines = json_array_size(order);
	if (j->done_lines > 2 * JOBS_DONE_KEEP && jobs_done_compact(j, order) < 0)
		log_warn("[AUTO-SYNC] jobs: cannot compact %s", path);
	json_decref(order);
	j->done_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (j->done_fd < 0)
		return -1;
	return 0;
}

/* Jobs a crash left between "about to print" and "finished": failed, as it
 * cannot be known whether the printer got them. */
static void
jobs_recover(struct jobs *j)
{
	DIR *d = opendir(j->dir);
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		char id[64], path[4200];
		size_t n = strlen(e->d_name);

		if (n != 36 + 9 || strcmp(e->d_name + 36, ".printing") != 0)
			continue;
		snprintf(id, sizeof(id), "%.36s", e->d_name);
		if (!jobs_id_ok(id))
			continue;
		if (!json_object_get(j->done, id)) {
			log_warnx("[AUTO-SYNC] jobs: job %s was being printed when the agent "
			    "stopped; reported failed", id);
			jobs_done_add(j, id, "failed", JOBS_INTERRUPTED);
		}
		jobs_path(j, id, ".job", path, sizeof(path));
		unlink(path);
		jobs_path(j, id, ".printing", path, sizeof(path));
		unlink(path);
	}
	if (d)
		closedir(d);
}

static void
jobs_send(struct jobs *j, const char *id, const char *state, const char *reason)
{
	json_t *m = json_pack("{s:s,s:s,s:s,s:s?}", "type", "job-result", "id", id,
	    "state", state, "reason", reason && *reason ? reason : NULL);

	pthread_mutex_lock(&j->mu);
	/* Lost when the connection is down: the server offers the job again
	 * after a reconnect and the answer comes from the spool or done.log. */
	if (ws_client_send(j->ws, m) < 0)
		log_info("[AUTO-SYNC] jobs: job %s %s not reported (no connection); the "
		    "server will ask again", id, state);
	pthread_mutex_unlock(&j->mu);
}

/* The bytes to send for job content of `ctype` to a raw printer; a new buffer
 * (*out, caller frees) or -1 with the reason. */
static int
jobs_raw_bytes(const char *ctype, const unsigned char *data, size_t len,
    unsigned char **out, size_t *outlen, char *msg, size_t msglen)
{
	if (strcmp(ctype, "pdf") == 0) {
		snprintf(msg, msglen, "a pdf job needs an IPP or CUPS printer");
		return -1;
	}
	if ((*out = malloc(len + 1)) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return -1;
	}
	if (strcmp(ctype, "text") == 0)
		*outlen = jobs_text_lines(data, len, *out);
	else {
		memcpy(*out, data, len);
		*outlen = len;
	}
	return 0;
}

/* Send the job to its printer. 0, or -1 with the reason in msg. */
static int
jobs_print(struct jobs *j, const json_t *job, char *msg, size_t msglen)
{
	const json_t *p = json_object_get(job, "printer");
	const char *ctype = json_string_value(json_object_get(job, "contentType"));
	const char *b64 = json_string_value(json_object_get(job, "content"));
	const char *title = json_string_value(json_object_get(job, "title"));
	const char *uri = json_string_value(json_object_get(p, "uri"));
	const char *proto = json_string_value(json_object_get(p, "protocol"));
	const char *conn = json_string_value(json_object_get(p, "connectionType"));
	const char *addr = json_string_value(json_object_get(p, "address"));
	const char *name = json_string_value(json_object_get(p, "name"));
	long port = (long)json_integer_value(json_object_get(p, "port"));
	int copies = (int)json_integer_value(json_object_get(job, "copies"));
	const char *fmt = !ctype ? NULL : strcmp(ctype, "pdf") == 0 ? "application/pdf" :
	    strcmp(ctype, "text") == 0 ? "text/plain" : "application/octet-stream";
	unsigned char *data = NULL, *raw = NULL;
	size_t len = 0, rawlen;
	char built[600];
	int rc = -1;

	if (!ctype || !b64 || copies < 1 || copies > 10) {
		snprintf(msg, msglen, "the job is malformed");
		return -1;
	}
	title = title ? title : "printmaster job";
	if ((data = malloc(strlen(b64) / 4 * 3 + 3)) == NULL ||
	    sodium_base642bin(data, strlen(b64) / 4 * 3 + 3, b64, strlen(b64), NULL, &len,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		snprintf(msg, msglen, "the job's content is not base64");
		goto out;
	}
	if ((conn && strcmp(conn, "cups") == 0) || (proto && strcmp(proto, "cups") == 0)) {
		rc = printout_cups(name ? name : "", title, strcmp(ctype, "raw") == 0 ?
		    "application/vnd.cups-raw" : fmt, data, len, copies, msg, msglen);
	} else if (uri && (strncmp(uri, "ipp://", 6) == 0 || strncmp(uri, "ipps://", 7) == 0)) {
		rc = printout_ipp(uri, title, fmt, data, len, copies, j->timeout_ms, msg, msglen);
	} else if (proto && (strcmp(proto, "ipp") == 0 || strcmp(proto, "ipps") == 0) && addr) {
		snprintf(built, sizeof(built), "%s://%s:%ld/ipp/print", proto, addr,
		    port > 0 ? port : 631);
		rc = printout_ipp(built, title, fmt, data, len, copies, j->timeout_ms, msg,
		    msglen);
	} else if (addr && port > 0) {
		if (jobs_raw_bytes(ctype, data, len, &raw, &rawlen, msg, msglen) < 0)
			goto out;
		/* One connection a copy: each is a whole document to the printer. */
		rc = 0;
		for (int i = 0; i < copies && rc == 0; i++)
			rc = printout_raw(addr, port, raw, rawlen, j->timeout_ms, msg, msglen);
	} else {
		snprintf(msg, msglen, "no way to reach this printer (no address, IPP URI or "
		    "CUPS queue)");
	}
out:
	free(data);
	free(raw);
	return rc;
}

/* An offer: answer from done.log, from the spool, or spool it and accept. */
static void
jobs_on_offer(struct jobs *j, const json_t *job)
{
	const char *id = json_string_value(json_object_get(job, "id"));
	json_t *done;
	char path[4200], *text;
	int rc;

	if (!jobs_id_ok(id)) {
		log_warnx("[AUTO-SYNC] jobs: an offer without a valid id; ignored");
		return;
	}
	if ((done = json_object_get(j->done, id)) != NULL) {
		jobs_send(j, id, json_string_value(json_array_get(done, 0)),
		    json_string_value(json_array_get(done, 1)));
		return;
	}
	jobs_path(j, id, ".job", path, sizeof(path));
	if (access(path, F_OK) == 0) {
		jobs_send(j, id, "accepted", NULL);
		return;
	}
	if ((text = json_dumps(job, JSON_COMPACT)) == NULL) {
		jobs_send(j, id, "failed", "the agent is out of memory");
		return;
	}
	rc = jobs_write_file(j, id, ".job", text, strlen(text));
	free(text);
	if (rc < 0) {
		log_warn("[AUTO-SYNC] jobs: cannot spool job %s in %s", id, j->dir);
		return;		/* no answer: offered again later */
	}
	log_info("[AUTO-SYNC] jobs: job %s spooled", id);
	jobs_send(j, id, "accepted", NULL);
}

/* Wait delay_ms unless stopping; 0, or -1 when asked to stop. */
static int
jobs_pause(struct jobs *j)
{
	struct timespec until;
	int stop;

	if (j->delay_ms <= 0)
		return 0;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += j->delay_ms / 1000;
	until.tv_nsec += (j->delay_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&j->mu);
	while (!j->stop && pthread_cond_timedwait(&j->cv, &j->mu, &until) == 0)
		;
	stop = j->stop;
	pthread_mutex_unlock(&j->mu);
	return stop ? -1 : 0;
}

/* The server's go-ahead (or not) for a spooled job. */
static void
jobs_on_ack(struct jobs *j, const char *id, int print)
{
	char path[4200], marker[4200], msg[JOBS_REASON_MAX];
	json_t *job, *done;
	int rc;

	if (!jobs_id_ok(id))
		return;
	jobs_path(j, id, ".job", path, sizeof(path));
	jobs_path(j, id, ".printing", marker, sizeof(marker));
	if (!print) {
		/* The job went to another agent while this one was away. */
		if (unlink(path) == 0)
			log_info("[AUTO-SYNC] jobs: job %s is not ours any more; dropped", id);
		return;
	}
	if ((done = json_object_get(j->done, id)) != NULL) {
		jobs_send(j, id, json_string_value(json_array_get(done, 0)),
		    json_string_value(json_array_get(done, 1)));
		return;
	}
	if ((job = json_load_file(path, 0, NULL)) == NULL) {
		log_warnx("[AUTO-SYNC] jobs: go-ahead for job %s, which is not in the spool", id);
		return;
	}
	if (jobs_pause(j) < 0) {
		json_decref(job);
		return;
	}
	if (jobs_write_file(j, id, ".printing", "", 0) < 0) {
		log_warn("[AUTO-SYNC] jobs: cannot mark job %s as printing", id);
		json_decref(job);
		return;
	}
	rc = jobs_print(j, job, msg, sizeof(msg));
	json_decref(job);
	log_info("[AUTO-SYNC] jobs: job %s %s: %s", id, rc == 0 ? "printed" : "failed", msg);
	if (jobs_done_add(j, id, rc == 0 ? "printed" : "failed", rc == 0 ? NULL : msg) == 0) {
		unlink(path);
		unlink(marker);
	}
	jobs_send(j, id, rc == 0 ? "printed" : "failed", rc == 0 ? NULL : msg);
}

static void *
jobs_main(void *arg)
{
	struct jobs *j = arg;

	pthread_mutex_lock(&j->mu);
	while (!j->stop) {
		json_t *m;
		const char *type;

		if (json_array_size(j->inbox) == 0) {
			pthread_cond_wait(&j->cv, &j->mu);
			continue;
		}
		m = json_incref(json_array_get(j->inbox, 0));
		json_array_remove(j->inbox, 0);
		pthread_mutex_unlock(&j->mu);
		type = json_string_value(json_object_get(m, "type"));
		if (type && strcmp(type, "job") == 0)
			jobs_on_offer(j, json_object_get(m, "job"));
		else if (type && strcmp(type, "job-ack") == 0)
			jobs_on_ack(j, json_string_value(json_object_get(m, "id")),
			    json_is_true(json_object_get(m, "print")));
		json_decref(m);
		pthread_mutex_lock(&j->mu);
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

/* The websocket's sink: runs on its service thread; only queues. */
static void
jobs_take(const json_t *msg, void *arg)
{
	struct jobs *j = arg;

	pthread_mutex_lock(&j->mu);
	if (json_array_size(j->inbox) < JOBS_QUEUE_MAX) {
		json_array_append(j->inbox, (json_t *)msg);
		pthread_cond_signal(&j->cv);
	} else {
		log_warnx("[AUTO-SYNC] jobs: too many messages waiting; one dropped (the "
		    "server offers it again)");
	}
	pthread_mutex_unlock(&j->mu);
}

void
jobs_set_ws(struct jobs *j, struct ws_client *w)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->ws = w;
	pthread_mutex_unlock(&j->mu);
	if (w)
		ws_client_set_sink(w, jobs_take, j);
}

static void
jobs_free(struct jobs *j)
{
	if (j->done_fd >= 0)
		close(j->done_fd);
	json_decref(j->done);
	json_decref(j->inbox);
	pthread_cond_destroy(&j->cv);
	pthread_mutex_destroy(&j->mu);
	free(j);
}

struct jobs *
jobs_start(const struct agent_config *cfg)
{
	struct jobs *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->done_fd = -1;
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	j->timeout_ms = cfg->job_timeout_ms;
	j->delay_ms = cfg->job_print_delay_ms;
	snprintf(j->dir, sizeof(j->dir), "%s/%s", cfg->spool_dir, JOBS_DIR);
	if ((j->done = json_object()) == NULL || (j->inbox = json_array()) == NULL)
		goto err;
	if (mkdir(cfg->spool_dir, 0700) < 0 && errno != EEXIST)
		goto err_dir;
	if (mkdir(j->dir, 0700) < 0 && errno != EEXIST)
		goto err_dir;
	if (jobs_done_load(j) < 0)
		goto err_dir;
	jobs_recover(j);
	if (j->delay_ms > 0)
		log_warnx("[AUTO-SYNC] jobs: job_print_delay_ms is %ld (a testing setting)",
		    j->delay_ms);
	if (pthread_create(&j->thread, NULL, jobs_main, j) != 0)
		goto err;
	return j;
err_dir:
	log_warn("[AUTO-SYNC] jobs: cannot use %s", j->dir);
err:
	jobs_free(j);
	return NULL;
}

void
jobs_stop(struct jobs *j)
{
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->stop = 1;
	j->ws = NULL;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	jobs_free(j);
}
