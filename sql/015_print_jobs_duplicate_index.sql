-- 015_print_jobs_duplicate_index: print_jobs had two indexes on (company_id, id):
-- the one of its UNIQUE (company_id, id) constraint (008, kept: it is what a
-- composite foreign key to a job would need) and print_jobs_company_idx, made
-- next to it for the job list. Every job insert and state change wrote both;
-- the list's plans use either (EXPLAIN checked), so the plain one goes.
DROP INDEX IF EXISTS print_jobs_company_idx;
