// Package config reads byob's one configuration file (TOML) and resolves
// what users type as a location — an address, NAME:path for a configured
// remote or team, or nothing (BYOB_STORE, then the platform's BUCKET) — into
// one store address plus key prefix.
//
// The file lives at --config, else $BYOB_CONFIG, else
// $XDG_CONFIG_HOME/byob/config.toml (~/.config/byob/config.toml). Its schema:
//
//	cache_dir  = "/var/cache/byob"   # optional
//	cache_size = "50GiB"
//
//	[remotes.scratch]                 # usable as scratch:path
//	address     = "s3://minio.internal:9000/scratch?tls=false"
//	path        = "sub/path"          # optional sub-path prepended to every path
//	credentials = "env"               # inline (default) | env | file:PATH | chain
//
//	[instance]                        # the platform's instance-level bucket
//	address = "s3://wandb-prod-bucket?region=us-east-1"
//	path    = "wandb"
//	kms_key = "arn:aws:kms:..."       # optional SSE-KMS key for uploads
//
//	[teams.omega]                     # team-level BYOB: its own store
//	address = "az://:${OMEGA_KEY}@omegaacct/omega"
//	path    = "runs"
//	[teams.kappa]                     # no address: the instance bucket under instance.path
//
// ${VAR} in any string expands from the environment; an unset variable is an
// error naming it. A team resolves to one store and one sub-path and nothing
// of a team reaches outside it: the path a user gives is joined below the
// sub-path and may not climb out with "..".
//
// Credentials sources: "inline" uses what the address carries; "env" takes
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (s3, cw), AZURE_STORAGE_KEY or
// AZURE_STORAGE_SAS_TOKEN (az), GOOGLE_APPLICATION_CREDENTIALS (gs, a key
// file); "file:PATH" reads KEY=VALUE lines (access_key_id,
// secret_access_key, account_key, sas_token, service_account, private_key)
// when the location is resolved and records the file in
// Address.CredentialsFile, which the s3 and minio backends follow while the
// store is open (see providers/credfile); "chain" drops any inline secret
// and uses the cloud's default chain.
package config
