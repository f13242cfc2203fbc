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
// Today it classifies keys (Classify) and reads artifact manifests
// (ParseManifest). Later issues add here: team/sub-path confinement as a
// Store decorator, and the one reversible key <-> file-name escape shared
// by the mount and sync.
package layout
