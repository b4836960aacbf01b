-- The previous build's results go (DELETE, not TRUNCATE: TRUNCATE would block readers, while
-- DELETE lets them see the old rows until this transaction commits).
DELETE FROM hexagon;
DELETE FROM hexagon_breakdown;
DELETE FROM hexagon_withheld;
DELETE FROM baseline;
DELETE FROM site_exposure;
