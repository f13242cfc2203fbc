// Package seed writes a realistic team layout, as the ML platform writes it,
// into any Store: runs with config, summary, metadata, logs and media;
// artifacts as manifests plus wandb_artifacts/<N>/<id>/<md5> blobs; a parquet
// history export; report images. The demo and the integration tests use it.
package seed

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path"
	"sort"
	"time"

	"github.com/byobfs/byob/layout"
	"github.com/byobfs/byob/providers"
)

// Options size the layout.
type Options struct {
	Entity  string
	Project string
	Runs    int
	Seed    uint64
	// BlobSize is the size of each artifact blob (checkpoint shards).
	BlobSize int
}

// DefaultOptions is a small but complete team: 3 runs.
func DefaultOptions() Options {
	return Options{Entity: "acme-ml", Project: "llm-pretrain", Runs: 3, Seed: 1, BlobSize: 256 << 10}
}

// Summary lists what was written: key -> bytes.
type Summary struct {
	Objects map[string][]byte
}

// Keys lists the written keys, sorted.
func (s Summary) Keys() []string {
	out := make([]string, 0, len(s.Objects))
	for k := range s.Objects {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Team writes the layout below prefix (the team's sub-path, may be "").
func Team(ctx context.Context, st providers.Store, prefix string, o Options) (Summary, error) {
	rng := rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	sum := Summary{Objects: map[string][]byte{}}
	base := time.Date(2026, 11, 2, 9, 0, 0, 0, time.UTC)
	put := func(key string, data []byte, mtime time.Time) error {
		full := providers.JoinKey(prefix, key)
		_, err := st.Put(ctx, full, bytes.NewReader(data), int64(len(data)), providers.PutOptions{
			Metadata: map[string]string{providers.MetaMtime: providers.FormatMtime(mtime)},
		})
		if err != nil {
			return fmt.Errorf("seed %s: %w", full, err)
		}
		sum.Objects[full] = data
		return nil
	}
	randBytes := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	}
	artifactN := 0
	for r := 0; r < o.Runs; r++ {
		runID := fmt.Sprintf("%08x", rng.Uint32())
		runDir := path.Join(o.Entity, o.Project, runID)
		t := base.Add(time.Duration(r) * 3 * time.Hour)
		files := map[string][]byte{
			"config.yaml":                     fmt.Appendf(nil, "wandb_version: 1\nlr:\n  value: %g\nbatch_size:\n  value: %d\n", 0.0003*float64(r+1), 32<<r),
			"wandb-summary.json":              fmt.Appendf(nil, `{"_step": %d, "loss": %.4f, "_runtime": %d}`, 1000*(r+1), 2.5/float64(r+1), 3600*(r+1)),
			"wandb-metadata.json":             fmt.Appendf(nil, `{"os": "Linux", "python": "3.11.7", "host": "node-%02d", "gpu_count": 8}`, r),
			"requirements.txt":                []byte("torch==2.5.1\nwandb==0.19.1\nnumpy==2.1.3\n"),
			"output.log":                      bytes.Repeat(fmt.Appendf(nil, "step %d loss 1.23\n", r), 200),
			"diff.patch":                      []byte("diff --git a/train.py b/train.py\n+lr = 3e-4\n"),
			"logs/output_20261102_090000.log": bytes.Repeat([]byte("INFO training\n"), 50),
		}
		for step := 0; step < 3; step++ {
			files[fmt.Sprintf("media/images/samples_%d_%x.png", step*100, rng.Uint64()&0xffffffffffff)] = append([]byte("\x89PNG\r\n\x1a\n"), randBytes(2048)...)
		}
		files[fmt.Sprintf("media/table/eval_%d_%x.table.json", 900, rng.Uint64()&0xffffffffffff)] = []byte(`{"columns":["id","pred"],"data":[[1,"cat"],[2,"dog"]]}`)
		for name, data := range files {
			if err := put(path.Join(runDir, name), data, t); err != nil {
				return sum, err
			}
		}
		// A model checkpoint artifact, and a parquet history export.
		for _, art := range []struct {
			files map[string][]byte
		}{
			{map[string][]byte{"model/shard-00000.safetensors": randBytes(o.BlobSize), "model/shard-00001.safetensors": randBytes(o.BlobSize), "model/config.json": []byte(`{"layers": 24}`)}},
			{map[string][]byte{"0000.parquet": append(append([]byte("PAR1"), randBytes(4096)...), "PAR1"...), "0001.parquet": append(append([]byte("PAR1"), randBytes(4096)...), "PAR1"...)}},
		} {
			artifactN++
			artID := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "Artifact:%d", 7000+artifactN))
			m := layout.Manifest{Version: 1, StoragePolicy: "wandb-storage-policy-v1", Contents: map[string]layout.ManifestEntry{}}
			for logical, data := range art.files {
				d := md5.Sum(data)
				m.Contents[logical] = layout.ManifestEntry{Digest: base64.StdEncoding.EncodeToString(d[:]), Size: int64(len(data)), BirthArtifactID: artID}
				if err := put(path.Join("wandb_artifacts", fmt.Sprint(artifactN), artID, hex.EncodeToString(d[:])), data, t); err != nil {
					return sum, err
				}
			}
			mj, _ := json.MarshalIndent(m, "", "  ")
			if err := put(path.Join(runDir, "artifact", artID, "wandb_manifest.json"), mj, t); err != nil {
				return sum, err
			}
		}
	}
	if err := put(path.Join(o.Entity, "images", "projects", "UHJvamVjdDoxMjM=", fmt.Sprintf("%x.png", rng.Uint64())), append([]byte("\x89PNG\r\n\x1a\n"), randBytes(1024)...), base); err != nil {
		return sum, err
	}
	return sum, nil
}
