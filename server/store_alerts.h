/*
 * store_alerts.h: the SQL of branch sync alerts (branches.alert_reason):
 * which branches should be in alert and are not (or the reverse), setting or
 * clearing one, and how many are in alert. Run by server/sweeper.c on its own
 * connection.
 */
#ifndef PM_STORE_ALERTS_H
#define PM_STORE_ALERTS_H

#include <libpq-fe.h>

#define STORE_ALERTS_WINDOW_MIN "15"	/* minutes of batches the success rate covers */

/*
 * Branches whose alert should change, at most `max`: rows of company_id,
 * branch_id, current reason ("" none), wanted reason ("" none,
 * "agent-offline" while an agent of it is swept, "success-rate" while the
 * printers its batches synced without error over the window are under
 * `threshold` percent, once the window holds `min_items` at least), items,
 * items ok (over the window), and the JSON array of swept agents' ids (or
 * NULL). With `judge` every branch is looked at and its success rate judged;
 * else only branches in alert or with a swept agent, and the rate only of one
 * whose agent-offline state changes (the others keep theirs). NULL on
 * failure; caller PQclear()s.
 */
PGresult *store_alerts_due(PGconn *c, long threshold, long min_items, long max, int judge);
/* In the caller's transaction: change the branch's alert from `from` to `to`
 * (either "" for none) if it still is `from`. 1 changed, 0 not, -1. */
int store_alerts_set(PGconn *c, const char *branch, const char *from, const char *to);
/* Branches in alert now, or -1. */
long store_alerts_count(PGconn *c);

#endif
