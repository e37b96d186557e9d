/*
 * snapshot.h: what the agent saw at its last scans, by deviceKey, and the diff
 * of a new scan against it: new, changed, and lost (missed for
 * lost_after_scans scans in a row, reported once as offline). Kept in
 * spool_dir/snapshot.json so a restart neither resends everything as new nor
 * forgets a printer that vanished while the agent was down. Main thread only.
 */
#ifndef PM_SNAPSHOT_H
#define PM_SNAPSHOT_H

#include <jansson.h>

#define SNAPSHOT_FILE "snapshot.json"
#define SNAPSHOT_MAX 100000		/* printers remembered */

struct snapshot {
	json_t *entries;	/* deviceKey -> {"printer":{...}, "missed":n} */
};

struct snapshot_counts {
	int found, added, changed, lost, unchanged;
};

int snapshot_init(struct snapshot *s);
void snapshot_free(struct snapshot *s);

/* Load dir/snapshot.json (a missing file is an empty snapshot). 0 or -1. */
int snapshot_load(struct snapshot *s, const char *dir);
/* Write it through a temp file, fsync and rename. 0 or -1. */
int snapshot_save(const struct snapshot *s, const char *dir);

/*
 * Fold one scan's printers (an array of objects with "deviceKey"; others
 * are ignored) into the snapshot and return a new array of the changes to
 * send: new and changed printers as found, and lost ones (missed
 * `lost_after` scans) as their last state with status "offline", after which
 * they are forgotten (seen again, they are new). Counts go to *c. NULL only on
 * allocation failure.
 */
json_t *snapshot_diff(struct snapshot *s, const json_t *found, long lost_after,
    struct snapshot_counts *c);

/* A new array of the printers seen at the last scan (the heartbeat). */
json_t *snapshot_current(const struct snapshot *s);

/* The remembered printer with this deviceKey, else one with this address
 * and port (borrowed; NULL when none). */
const json_t *snapshot_find(const struct snapshot *s, const char *device_key,
    const char *address, long port);

#endif
