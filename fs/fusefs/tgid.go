package fusefs

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// tgidOf returns the thread group (process) of thread tid, read from
// /proc/<tid>/status as mountpoint-s3 does; FUSE reports the calling
// thread. 0 when unknown. Answers are remembered for a second (tgids.ttl):
// a tool creating thousands of files (cp -r, tar) then reads /proc once a
// second, not at every open and close, and a thread ID is not reused that
// fast.
func tgidOf(tid uint32) int {
	if tid == 0 {
		return 0
	}
	now := time.Now()
	tgids.mu.Lock()
	if e, ok := tgids.m[tid]; ok && now.Sub(e.at) < tgids.ttl {
		tgids.mu.Unlock()
		return e.tgid
	}
	tgids.mu.Unlock()
	g := readTgid(tid)
	tgids.mu.Lock()
	if len(tgids.m) >= 4096 {
		for k, e := range tgids.m {
			if now.Sub(e.at) >= tgids.ttl {
				delete(tgids.m, k)
			}
		}
		if len(tgids.m) >= 4096 {
			clear(tgids.m)
		}
	}
	tgids.m[tid] = tgidEntry{tgid: g, at: now}
	tgids.mu.Unlock()
	return g
}

type tgidEntry struct {
	tgid int
	at   time.Time
}

// tgids caches tgidOf.
var tgids = struct {
	mu  sync.Mutex
	m   map[uint32]tgidEntry // GUARDED_BY(mu)
	ttl time.Duration
}{m: map[uint32]tgidEntry{}, ttl: time.Second}

func readTgid(tid uint32) int {
	file, err := os.Open("/proc/" + strconv.FormatUint(uint64(tid), 10) + "/status")
	if err != nil {
		return int(tid)
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Tgid:"); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
				return n
			}
		}
	}
	return int(tid)
}
