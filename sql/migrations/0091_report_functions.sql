-- The reporter role's two reads and its one delete, as functions that run as their owner (the
-- store's owner) with a fixed search_path, so the role itself holds no SELECT or DELETE on the
-- queue at all: it may queue a report (INSERT), count its area's reports this hour (the
-- per-area limit) and delete the one report a receipt's hash names, nothing more. EXECUTE is
-- granted to the reporter only (sql/queries/report_role_grant.sql), never to PUBLIC.
CREATE OR REPLACE FUNCTION camdensity_withdraw_report(receipt bytea) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path = pg_catalog, public AS
$$
    WITH gone AS (DELETE FROM public.report_queue WHERE receipt_sha256 = receipt RETURNING 1)
    SELECT count(*) > 0 FROM gone
$$;
REVOKE ALL ON FUNCTION camdensity_withdraw_report(bytea) FROM PUBLIC;

CREATE OR REPLACE FUNCTION camdensity_area_reports(area bigint) RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS
$$
    SELECT count(*) FROM public.report_queue
    WHERE area_h3 = area AND received_hour >= date_trunc('hour', now())
$$;
REVOKE ALL ON FUNCTION camdensity_area_reports(bigint) FROM PUBLIC;
