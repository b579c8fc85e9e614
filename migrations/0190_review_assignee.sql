-- Who works an open review (issue 17: the review queue shows each application's assignee). A risk
-- officer takes one from the queue; resolving it still records the reviewer as before.
alter table risk_reviews add column assignee_id bigint references staff (id);
create index risk_reviews_assignee_id_idx on risk_reviews (assignee_id);
