-- +goose Up

-- Listings order the entries of a path by created_at or modified_at, newest
-- first, ties by entry_id, and continue after a cursor on (time, entry_id):
-- both orders need the full key to be read from the index in order.
DROP INDEX assets_path_modified_at;
CREATE INDEX assets_path_created_at_entry_id ON assets (path, created_at, entry_id);
CREATE INDEX assets_path_modified_at_entry_id ON assets (path, modified_at, entry_id);

-- For DeleteExpired: the entries that expired first.
CREATE INDEX assets_expires_at ON assets (expires_at);

-- For Referenced: is an object still referenced by a variant or a trash row?
CREATE INDEX variants_bucket_object_key ON variants (bucket, object_key);
CREATE INDEX trash_bucket_object_key ON trash (bucket, object_key);

-- +goose Down
DROP INDEX trash_bucket_object_key;
DROP INDEX variants_bucket_object_key;
DROP INDEX assets_expires_at;
DROP INDEX assets_path_modified_at_entry_id;
DROP INDEX assets_path_created_at_entry_id;
CREATE INDEX assets_path_modified_at ON assets (path, modified_at);
