/*
 * store_locks.h: every PostgreSQL advisory lock id the server takes, named
 * once so two features can never pick the same number by accident. Owns the
 * numbers only: which statement takes which lock, and why, is in the store
 * file that uses it. Strings, because they are pasted into the SQL text.
 * A new lock takes the next free number of the 7412xxx block.
 */
#ifndef PM_STORE_LOCKS_H
#define PM_STORE_LOCKS_H

/* The migration runner: every instance starting at once queues here. */
#define STORE_LOCK_MIGRATIONS "7412001"
/* Seed hashed with a company id: one company's event ids commit in order. */
#define STORE_LOCK_EVENTS_ORDER "7412002"
/* Seed hashed with a branch id: a bulk that inserts printers into a branch. */
#define STORE_LOCK_PRINTERS_BRANCH "7412003"
/* Held, for as long as its connection lives, by the one instance that sweeps
 * agent leases (server/sweeper.c). */
#define STORE_LOCK_SWEEPER "7412004"

#endif
