// Package layout knows the key layout the ML platform writes into a team
// bucket (below the team's sub-path):
//
//	<entity>/<project>/<run_id>/<path>                                   run files
//	<entity>/<project>/<run_id>/media/<kind>/<key>_<step>_<hash><ext>    media
//	<entity>/<project>/<run_id>/artifact/<artifact_id>/wandb_manifest.json
//	wandb_artifacts/<N>/<birth_artifact_id>/<md5 hex>                    artifact blobs
//	<entity>/images/projects/<project_id>/<hash>.png                     report images
//
// Parquet history exports are artifacts of type wandb-history: blobs plus a
// manifest whose paths end in ".parquet"; only the manifest tells (see
// Manifest.IsHistoryExport).
//
// It classifies keys (Classify), reads artifact manifests (ParseManifest),
// and owns the one reversible key <-> file-name mapping shared by the mount
// (names of directory entries) and sync (files on local disk, both
// directions). Confining a store to a team's sub-path is a store decorator
// (providers/wrap.Confine).
//
// # Key segments and file names
//
// A key is split on "/" into segments; each segment maps to one file name
// and back, independently (EncodeSegment, DecodeName; KeyToPath and
// PathToKey for whole keys). Keys are valid UTF-8 (every bucket requires
// it) and may hold empty, "." and ".." segments and NUL; file names may be
// any bytes but "/" and NUL (not UTF-8 on some disks) and are never "", "."
// or "..". E(y) below writes "%", NUL and every byte outside a valid UTF-8
// sequence of y as "%HH" (upper-case hex) and keeps everything else.
//
//	key segment                         file name                 rule
//	----------------------------------  ------------------------  -------------------------------
//	config.yaml, café, 100%, %2F, %E9   the same                  ordinary: identity (any "%" not
//	                                                              starting a token is ordinary)
//	"" (in a//b, /x, trailing /)        %%                        token: "%%" + E(segment)
//	.  / ..                             %%.  / %%..
//	a<NUL>b                             %%a%00b
//	%%caf%E9                            caf<0xE9>                 a name that is not UTF-8: its
//	                                                              key is "%%" + E(name)
//	%% / %%. (a key spelled as a token) %%%25%25 / %%%25%25.      one more level of "%%" + E(...)
//	%%x, %%%C3%A9, %%2F, %%zz           the same                  not a token (E(y) != body, or y
//	                                                              needs no escape): identity
//
// Precisely: a token is "%%" + E(y) where E(y) is exactly the text after
// "%%" and y holds no "/". Unwrapping tokens while possible gives a string's
// base. A base that only a key can hold ("", ".", "..", NUL) maps from key
// to name by adding one token level; a base that only a name can hold (not
// UTF-8) maps from name to key by adding one level; the reverse directions
// remove one; everything else maps to itself. So the mapping is a bijection
// between all key segments and all file names: DecodeName(EncodeSegment(s))
// == s for every segment and EncodeSegment(DecodeName(n)) == n for every
// name, including names from disk holding "%" in any way; there is no
// malformed input. No name decodes to a segment holding "/", and no key maps
// to a path leaving the directory it is written under (no segment becomes
// "", "." or ".."). Look-alikes (U+2215 DIVISION SLASH, U+FF0E FULLWIDTH
// FULL STOP) are ordinary characters and stay as they are.
//
// Beyond the segment rules:
//
//   - Long names: a name over MaxNameLen (255) bytes is shortened by
//     LongName to its head + "%~" + 32 hex digits of its SHA-256 + its
//     extension. The full segment must come from a side record: the mount
//     knows it from the listing (DirEntry.Key); sync stores the key segment
//     in the extended attribute XattrKey ("user.byob.key") of the file or
//     directory and passes a LongNameLookup to PathToKey. A record is used
//     only if it still produces the name (a renamed file decodes as named).
//   - Object and prefix ("a" and "a/b"): the directory gets the name "a";
//     the object is shown as ShadowName: "a%obj" (DirEntries). A real key
//     "a%obj" keeps its name and the shadow becomes "a%obj%2". Sync writes
//     a shadowed object under its shadow name with the XattrKey record.
//   - A key ending in "/" (IsDirMarker) is the directory itself, not a
//     file; DirEntries hides it. Its last segment is empty, so KeyToPath
//     gives ".../%%"; a local file named "%%" maps to such a key, which sync
//     must refuse to upload as a file.
//   - Order: names sort differently from keys ("%%." vs "."), and a
//     directory sorts as its segment + "/". Sync's merge-join must order a
//     local directory by key: SortSiblings. DirEntries sorts by name.
package layout
