-- Repair actions that finish (issue 14): a settlement_mismatch item names
-- the bill files it compares, as a JSON array of file names (NULL for
-- every other item). Action states succeeded (and applied awaiting the
-- provider) need no schema change: actions.state is free text.
ALTER TABLE run_items ADD COLUMN bill_files TEXT NULL;
