-- Workflow steps get stable ids: a webhook step's secret stays with its id (and URL) when
-- steps are reordered or their URLs edited, instead of with its position. The application
-- assigns ids to new steps; this gives every stored step without one an id of its own.
-- Run snapshots (workflow_runs.steps) keep the steps as they were: nothing reads their ids.
--
-- The table forces row level security and only kassa_app has a policy, so an owner that is
-- not a superuser (RDS) would see no rows: lift the force for this one statement. The touch
-- trigger stays off too: adding ids changes no workflow.
alter table workflows no force row level security;
alter table workflows disable trigger workflows_touch;

update workflows w
set steps = (
  select jsonb_agg(
           case when jsonb_typeof(s) = 'object' and jsonb_typeof(s -> 'id') is distinct from 'string'
                then s || jsonb_build_object('id', gen_random_uuid())
                else s end
           order by n)
  from jsonb_array_elements(w.steps) with ordinality as e(s, n)
)
where exists (
  select 1 from jsonb_array_elements(w.steps) s
  where jsonb_typeof(s) = 'object' and jsonb_typeof(s -> 'id') is distinct from 'string'
);

alter table workflows enable trigger workflows_touch;
alter table workflows force row level security;
