-- +goose Up

-- Application-allocated row ids (see migrations.go): last_value is the last id
-- handed out for name. Allocation never rolls back, like a PostgreSQL sequence.
CREATE TABLE sequences (
    name       TEXT   NOT NULL PRIMARY KEY,
    last_value BIGINT NOT NULL
);

-- The next entry id of each path. It only grows, so entry ids are never reused
-- even after the newest entry of a path is deleted.
CREATE TABLE entry_counters (
    path          TEXT   NOT NULL PRIMARY KEY,
    next_entry_id BIGINT NOT NULL
);

CREATE TABLE assets (
    id          BIGINT    NOT NULL PRIMARY KEY,
    path        TEXT      NOT NULL,
    entry_id    BIGINT    NOT NULL,
    class       TEXT      NOT NULL,
    alt         TEXT      NOT NULL DEFAULT '',
    source      TEXT      NOT NULL,
    source_url  TEXT      NOT NULL DEFAULT '',
    created_at  TIMESTAMP NOT NULL,
    modified_at TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP,
    -- Also the index that finds the newest entry of a path (ORDER BY entry_id DESC).
    CONSTRAINT assets_path_entry_id UNIQUE (path, entry_id)
);

-- For the "modified" selector: the most recently modified entry of a path.
CREATE INDEX assets_path_modified_at ON assets (path, modified_at);

CREATE TABLE variants (
    id            BIGINT    NOT NULL PRIMARY KEY,
    asset_id      BIGINT    NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    is_original   BOOLEAN   NOT NULL,
    transform_key TEXT      NOT NULL,
    bucket        TEXT      NOT NULL,
    object_key    TEXT      NOT NULL,
    width         INTEGER   NOT NULL DEFAULT 0,
    height        INTEGER   NOT NULL DEFAULT 0,
    format        TEXT      NOT NULL DEFAULT '',
    page_count    INTEGER   NOT NULL DEFAULT 0,
    loop          INTEGER   NOT NULL DEFAULT 0,
    orientation   INTEGER   NOT NULL DEFAULT 0,
    size          BIGINT    NOT NULL DEFAULT 0,
    content_type  TEXT      NOT NULL DEFAULT '',
    blurhash      TEXT      NOT NULL DEFAULT '',
    thumbhash     TEXT      NOT NULL DEFAULT '',
    created_at    TIMESTAMP NOT NULL,
    -- The original is exactly the variant without a transformation, so the
    -- unique key below also allows only one original per asset.
    CONSTRAINT variants_original_key CHECK (is_original = (transform_key = '')),
    -- Also the index for the foreign key (cascading deletes, loading variants).
    CONSTRAINT variants_asset_id_transform_key UNIQUE (asset_id, transform_key)
);

CREATE TABLE labels (
    asset_id BIGINT NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    key      TEXT   NOT NULL,
    value    TEXT   NOT NULL,
    PRIMARY KEY (asset_id, key)
);

-- For listing entries by label filter.
CREATE INDEX labels_key_value ON labels (key, value);

CREATE TABLE tags (
    asset_id BIGINT  NOT NULL REFERENCES assets (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    tag      TEXT    NOT NULL,
    PRIMARY KEY (asset_id, position)
);

-- The outbox of object deletes: a row is written in the transaction that
-- deletes the variant, and removed once the object is gone. Its id is the
-- deleted variant's id, so an object enters the trash at most once.
CREATE TABLE trash (
    id         BIGINT    NOT NULL PRIMARY KEY,
    bucket     TEXT      NOT NULL,
    object_key TEXT      NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX trash_created_at_id ON trash (created_at, id);

-- +goose Down
DROP TABLE trash;
DROP TABLE tags;
DROP TABLE labels;
DROP TABLE variants;
DROP TABLE assets;
DROP TABLE entry_counters;
DROP TABLE sequences;
