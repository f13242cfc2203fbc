package layout

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestClassify(t *testing.T) {
	cases := map[string]Class{
		"team/ent/proj/run1/config.yaml":                                             {Kind: KindRunFile, Entity: "ent", Project: "proj", Run: "run1"},
		"ent/proj/run1/logs/output_20240101.log":                                     {Kind: KindRunFile, Entity: "ent", Project: "proj", Run: "run1"},
		"ent/proj/run1/media/images/loss_10_abc123.png":                              {Kind: KindMedia, Entity: "ent", Project: "proj", Run: "run1", MediaKind: "images"},
		"ent/proj/run1/artifact/QXJ0aWZhY3Q6MQ==/wandb_manifest.json":                {Kind: KindArtifactManifest, Entity: "ent", Project: "proj", Run: "run1", ArtifactID: "QXJ0aWZhY3Q6MQ=="},
		"wandb/wandb_artifacts/12/QXJ0aWZhY3Q6MQ==/0cc175b9c0f1b6a831c399e269772661": {Kind: KindArtifactBlob, ArtifactID: "QXJ0aWZhY3Q6MQ==", MD5Hex: "0cc175b9c0f1b6a831c399e269772661"},
		"ent/images/projects/UHJvamVjdDox/ab12.png":                                  {Kind: KindReportImage, Entity: "ent", Project: "UHJvamVjdDox"},
		"ent/proj/run1/checkpoints/model.pt":                                         {Kind: KindOther},
		"config.yaml":                                                                {Kind: KindOther},
		"wandb_artifacts/1/x/not-an-md5":                                             {Kind: KindOther},
	}
	for key, want := range cases {
		require.Equal(t, want, Classify(key), key)
	}
}

func TestManifest(t *testing.T) {
	m, err := ParseManifest([]byte(`{"version":1,"storagePolicy":"wandb-storage-policy-v1","contents":{"0000.parquet":{"digest":"ICy5YqxZB1uWSwcVLSNLcA==","size":10,"birthArtifactID":"QQ=="}}}`))
	require.NoError(t, err)
	require.True(t, m.IsHistoryExport())
	require.Equal(t, []string{"0000.parquet"}, m.Paths())
	_, err = ParseManifest([]byte(`{"version":1}`))
	require.Error(t, err)
	_, err = ParseManifest([]byte(`{`))
	require.Error(t, err)
}
