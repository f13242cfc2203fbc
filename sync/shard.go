package sync

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"
)

// ShardOf returns the shard (0..n-1) of a relative key: FNV-1a 64 of the
// key's bytes modulo n. The function is part of the CLI's contract: workers
// of different versions must agree, so it never changes.
func ShardOf(key string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New64a()
	h.Write([]byte(key))
	return int(h.Sum64() % uint64(n))
}

// ParseShard parses "K/N" with 0 <= K < N (Slurm array and Kubernetes
// Indexed Job indexes are 0-based).
func ParseShard(s string) (Shard, error) {
	ks, ns, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(ks)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return Shard{}, fmt.Errorf("%w: shard %q: want K/N with 0 <= K < N", ErrInvalidOptions, s)
	}
	return Shard{K: k, N: n}, nil
}

// contains reports whether key belongs to the shard.
func (s Shard) contains(key string) bool {
	return s.N <= 1 || ShardOf(key, s.N) == s.K
}

func (s Shard) String() string {
	if s.N == 0 {
		return "all"
	}
	return fmt.Sprintf("%d/%d", s.K, s.N)
}
