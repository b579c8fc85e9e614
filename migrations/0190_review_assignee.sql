-- Who works an open review (issue 17: the review queue shows each application's assignee). A risk
-- officer takes one from the queue; resolving it still records the reviewer on risk_reviews. A
-- table of its own, not a column on risk_reviews: adding a referenced, indexed column to that busy
-- table would lock it, a new table locks nothing. Customer-owned: led by customer_id.
create table review_assignments (
  customer_id bigint not null references customers (id),
  decision_id bigint not null,
  assignee_id bigint not null references staff (id),
  assigned_at timestamptz not null default now(),
  primary key (customer_id, decision_id),
  foreign key (customer_id, decision_id) references risk_reviews (customer_id, decision_id)
);
create index review_assignments_assignee_id_idx on review_assignments (assignee_id);
