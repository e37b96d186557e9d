-- 016_events_branch_index: a replay for branch rooms reads each branch's own
-- events (issue 10: the cost follows the request).
--
-- A branch-scoped connection (a branch's staff on the page) subscribing with
-- `since` was answered from the (company_id, id) index, filtered by branch:
-- after a night away, one reconnect read every event of the whole company
-- since (up to event_retention, a week by default), to find its branch's few.
-- With this index each branch's events after `since` are a range of their
-- own (branch ids are unique across companies; the rows' company is checked).
-- Company-level events (no branch) are never replayed to branch rooms, so
-- they are left out of it.
CREATE INDEX printer_events_branch_idx ON printer_events (branch_id, id)
    WHERE branch_id IS NOT NULL;
