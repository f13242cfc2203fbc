// Package sync owns `byob sync SRC DST`: it makes a destination (a key
// prefix of a store, or a local directory) equal to a source (either kind),
// rsync-style, with memory that does not grow with the size of the tree.
//
// # Plan stages
//
// Run lists both sides concurrently, each in strict byte-wise key order (a
// store's List; for a local directory, a walk that sorts each directory's
// names by the key segment they map to, a directory d sorting as "d/", so
// "a-b" < "a/b" < "a0"). Keys are relative to each side's root. The two
// listings are merge-joined: each key is source-only, destination-only or
// on both sides. The shard (--shard K/N) and the filters drop keys; the
// comparer then decides an Action per key: Copy, Update, Skip, Delete or
// Mkdir, with a reason. Decisions that need requests or reads (a HEAD for a
// remote mtime, hashing a local file) run on Options.Checkers goroutines;
// actions still come out in key order (a bounded queue of futures), so a
// plan is deterministic and a dry run prints exactly the plan a real run
// executes. Transfers start while the plan streams, at most
// Options.Transfers at once; deletes are spooled to a temporary file and
// run after every transfer has finished.
//
// Memory: a bounded number of listing batches, futures and transfers are in
// flight; a local walk holds the names of the directories on its current
// path (one huge directory is held whole while it is walked).
//
// # Ordering invariant
//
// Each side's keys must increase strictly. A key at or before its
// predecessor (an out-of-order or duplicate listing, or two local names
// mapping to one key) is ErrUnordered: the listing has failed, the plan
// stops, and nothing is deleted. Any other listing error does the same
// (ErrListing); transfers already started finish.
//
// # Delete safety
//
// Deletes happen only with Options.Delete, only after every transfer, and
// not at all when a listing failed or any item (a compare, a transfer)
// failed; the Report says why (DeletesSkipped). More pending deletes than
// Options.MaxDelete and none happens (ErrMaxDelete). Excluded destination
// files are kept unless Options.DeleteExcluded. With Options.BackupDir a
// deleted or overwritten destination file is first copied (stores,
// server-side) or moved (disks) to BackupDir/<key>. A destination inside the
// source, a source inside the destination, or a backup directory inside
// either is refused (ErrOverlap), also when a store is a providers/local
// directory.
//
// # Comparison rules
//
//	mode / flag          file on both sides is up to date when           costs
//	default              same size and same mtime (± ModifyWindow)       remote mtime: index by key+Version, else one HEAD
//	--checksum           same size and same CRC32C, else same MD5         listing or index checksums, else one HEAD; local: hash (index by fingerprint)
//	                     (no common checksum: as default)
//	--size-only          same size                                       nothing
//	--update (with any)  skipped first when the destination is newer    mtimes as default
//
// The remote mtime is the rclone-compatible "mtime" metadata (float
// seconds), or the server's ModTime when the object has none. Uploads set
// it, downloads give the file that mtime. Checksums are the server's
// reported CRC32C/MD5 and the "md5chksum" metadata, never an ETag (which is
// not an MD5 in general). Listings carry no metadata, so a no-op re-sync
// costs one listing per side and nothing more once Options.Index remembers
// the remote attributes by key + Version (filled by the run that uploaded
// or downloaded an object, or by the one HEAD a compare needed). The index
// may write behind (the CLI's commits every 500 ms and at exit, so no
// transfer waits for a commit): what a killed run had not committed is
// forgotten, and costs one HEAD per object next time, as on a new node.
//
// A source that does not exist (a local directory that is missing; a key
// prefix with no object and no marker under it) fails the run with
// ErrNoSource and changes nothing: a typo never reads as an empty source.
// A source that exists but lists nothing at all (before filters and
// Shard) lets Delete empty the destination only with
// Options.AllowEmptySource (ErrEmptySource otherwise). A shard whose part
// of a non-empty source is empty deletes its part of the destination.
//
// A source-only key is copied; a destination-only key is deleted with
// Options.Delete. A directory marker (a zero-byte key ending in "/" in a
// store, an empty directory on disk) takes part only with
// Options.CreateEmptyDirs. Between two stores a "x/" key is otherwise an
// ordinary object. On disk a key ending in "/" names a directory, never a
// file: an empty "x/" object is a marker (skipped without
// CreateEmptyDirs), one holding data fails its item (ErrNotFileName; it
// stays in the bucket), and a local file named "%%", the name of an empty
// key segment, fails its item at any depth.
//
// # Filters
//
// Options.Filters are tried in order; the first rule matching a key decides
// (include or exclude). A key no rule matches is included, unless some
// rule is an include (then, as with rclone's --include, it is excluded).
// Patterns are doublestar globs ("*" and "?" stay inside a segment, "**"
// spans segments, "{a,b}" and classes work) with rsync-like anchoring:
//
//	/pat     anchored: matches the path from the sync root ("/logs" matches logs, not a/logs)
//	pat      floating: matches any trailing part of the path that starts at a
//	         segment boundary ("*.log" matches a/b/x.log; "b/*.log" matches a/b/x.log)
//	pat/     matches directories only ("tmp/" matches every file under any tmp directory)
//
// A pattern matches a file when it matches the file's path or the path of
// any directory above it, so excluding a directory excludes its contents.
//
// # Local side
//
// File names map to key segments through a Namer (by default LayoutNamer,
// the layout package's reversible escape), in both directions, so bucket ->
// disk -> bucket keeps every key; each directory is walked in key order
// (layout.SortSiblings). Symlinks are skipped with a
// warning unless Options.CopyLinks (then followed, loops detected). Writes
// go to a temporary file ".byob-sync-*.tmp" in the destination directory,
// get their mtime and are renamed into place, so a killed run leaves whole
// files or none (its temporary files are never listed). Downloaded files
// are not fsynced (nor are rsync's and rclone's by default): a killed
// process still leaves whole files or none, but after a power loss the file
// system may keep a renamed file whose data never reached the disk (on ext4
// with delayed allocation, an empty file, which differs from the source in
// size and is fetched again by the next run). A caller that needs the tree
// durable when the sync returns runs sync(1) after it. An uploaded local
// file is re-checked (size, mtime) after its last byte is read and before
// the upload commits, and again after: a change retries the upload
// (Options.ChangedRetries) and then fails the item (ErrSourceChanged).
//
// # Sharding
//
// With Options.Shard {K, N}, a run handles the keys whose ShardOf(key, N)
// is K, on both sides (deletes included), so N workers given the same
// arguments split one sync without coordination.
package sync
