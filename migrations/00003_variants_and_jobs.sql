-- +goose Up

-- The normalised transformation of a rendition, as JSON written by sqldb;
-- NULL for originals and for renditions stored before this column existed.
-- transform_key stays the identity of a variant; this is what it means, so
-- a variant can be described without parsing its key.
ALTER TABLE variants ADD COLUMN transformation TEXT;

-- Eager-variant jobs: render profile for an entry soon after its upload.
-- path and entry_id are copied from the entry so that a worker can find it
-- the way a request does. A job goes with its entry. run_after is when the
-- job is due: when it was created, or the end of a claim's lease, or the
-- time of a retry.
CREATE TABLE eager_jobs (
    id         BIGINT    NOT NULL PRIMARY KEY,
    asset_id   BIGINT    NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    path       TEXT      NOT NULL,
    entry_id   BIGINT    NOT NULL,
    profile    TEXT      NOT NULL,
    attempts   INTEGER   NOT NULL DEFAULT 0,
    run_after  TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    -- One job per profile and entry; also the index for the foreign key.
    CONSTRAINT eager_jobs_asset_id_profile UNIQUE (asset_id, profile)
);

-- For ClaimJobs: the due jobs, oldest first.
CREATE INDEX eager_jobs_run_after_id ON eager_jobs (run_after, id);

-- +goose Down
DROP INDEX eager_jobs_run_after_id;
DROP TABLE eager_jobs;
ALTER TABLE variants DROP COLUMN transformation;
