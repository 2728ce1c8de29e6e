// Package asset is the domain of assetd: what an asset, an entry and a variant
// are, the rules for paths and metadata, the interfaces the domain needs from
// its adapters (ObjectStore, Repository, Processor, Placeholders), and the
// Service that ties them together.
//
// # Consistency
//
// The database row is the truth. The Service writes an object before the row
// that points at it, so a crash can leave an orphan object (which a sweeper
// removes) but never a row that points at nothing. Deleting a row moves its
// objects to the trash (an outbox table) in the same transaction; the trash is
// emptied by EmptyTrash, which deletes the objects and then their trash rows,
// and is safe to retry.
//
// This package imports no adapter. Adapters import it, and only cmd/assetd
// wires them together.
package asset
