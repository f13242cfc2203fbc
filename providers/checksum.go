package providers

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
)

// ChecksumAlgorithm names a checksum.
type ChecksumAlgorithm uint8

const (
	ChecksumNone ChecksumAlgorithm = iota
	// ChecksumCRC32C is Castagnoli CRC32 (hardware-accelerated on amd64/arm64).
	ChecksumCRC32C
	// ChecksumMD5 is MD5, used only where nothing else is offered.
	ChecksumMD5
	// ChecksumCRC64NVME is the CRC64 S3 and Azure offer.
	ChecksumCRC64NVME
)

func (a ChecksumAlgorithm) String() string {
	switch a {
	case ChecksumCRC32C:
		return "crc32c"
	case ChecksumMD5:
		return "md5"
	case ChecksumCRC64NVME:
		return "crc64nvme"
	}
	return "none"
}

// Checksum is one checksum value: raw bytes, big-endian for CRCs, as the
// services put them on the wire (base64 of these bytes).
type Checksum struct {
	Algorithm ChecksumAlgorithm
	Sum       []byte
}

// IsZero reports whether no checksum is set.
func (c Checksum) IsZero() bool { return c.Algorithm == ChecksumNone || len(c.Sum) == 0 }

// Base64 is the wire form used by S3 (x-amz-checksum-*), GCS and Azure.
func (c Checksum) Base64() string { return base64.StdEncoding.EncodeToString(c.Sum) }

// Hex is the hex form (MD5 as ETags show it).
func (c Checksum) Hex() string { return hex.EncodeToString(c.Sum) }

// Equal reports whether both are set, of one algorithm, and equal.
func (c Checksum) Equal(o Checksum) bool {
	return !c.IsZero() && c.Algorithm == o.Algorithm && string(c.Sum) == string(o.Sum)
}

func (c Checksum) String() string {
	if c.IsZero() {
		return "none"
	}
	return c.Algorithm.String() + ":" + c.Base64()
}

// CRC32CTable is the Castagnoli table, shared so it is built once.
var CRC32CTable = crc32.MakeTable(crc32.Castagnoli)

// CRC32C makes a Checksum from a CRC32C value.
func CRC32C(v uint32) Checksum {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, v)
	return Checksum{Algorithm: ChecksumCRC32C, Sum: b}
}

// CRC32CValue returns the CRC32C value of c, and false if c is not a CRC32C.
func (c Checksum) CRC32CValue() (uint32, bool) {
	if c.Algorithm != ChecksumCRC32C || len(c.Sum) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(c.Sum), true
}

// ParseChecksumBase64 decodes a wire-form checksum of algorithm a.
func ParseChecksumBase64(a ChecksumAlgorithm, s string) (Checksum, error) {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return Checksum{}, err
	}
	return Checksum{Algorithm: a, Sum: b}, nil
}
