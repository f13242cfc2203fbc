package providers

import (
	"hash/crc32"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCombineCRC32C(t *testing.T) {
	data := []byte("the quick brown fox jumps over the lazy dog, then over byob")
	whole := crc32.Checksum(data, CRC32CTable)
	for cut := 0; cut <= len(data); cut++ {
		a := crc32.Checksum(data[:cut], CRC32CTable)
		b := crc32.Checksum(data[cut:], CRC32CTable)
		require.Equal(t, whole, CombineCRC32C(a, b, int64(len(data)-cut)), "cut at %d", cut)
	}
	require.Equal(t, uint32(0x1234), CombineCRC32C(0x1234, 0, 0))
}
