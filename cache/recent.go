package cache

import (
	"context"
	"strings"
	"time"
)

// The recent tier keeps the bytes of the last blocks fetched for a while
// after they are stored, so that the reader that asked for them a moment
// ahead (a readahead, then the application's read) is served from memory
// instead of reading the block back from disk. Block files are written with
// O_DIRECT (directio.go), so a read from disk would be a real disk read.
//
// Its blocks count in FetchMemory, the one cap of fetched bytes in memory:
// a block in the tier keeps the FetchMemory its fetch took, and a fetch that
// finds FetchMemory used up pushes the oldest blocks out of the tier before
// it waits. It holds at most Options.RecentMemory bytes (counted in whole blocks), oldest out first, and an
// entry leaves after a few seconds (defaultRecentTTL) whatever the room, so that an idle mount
// gives its memory back. A block key names one version of one block, so
// the bytes cannot go stale; a block written again, deleted or dropped
// leaves the tier all the same (writes, DeleteBlock, DropObject, Clear).

// defaultRecentTTL is how long a stored block's bytes stay in memory at
// most (Cache.recentTTL; tests shorten it).
const defaultRecentTTL = 3 * time.Second

// recentEntry is one block in the tier.
type recentEntry struct {
	k     string
	f     *flight
	added time.Time
}

// addRecentLocked puts the bytes of flight f (over, stored as block k) in
// the tier, with the FetchMemory the fetch took, and reports whether it
// did. Called with c.mu held.
func (c *Cache) addRecentLocked(k string, f *flight) bool {
	// A block counts as the FetchMemory it holds (a whole block,
	// whatever its length: the buffer is block-sized).
	n := c.opts.BlockSize
	if c.closed || len(f.data) == 0 || n > c.opts.RecentMemory || c.fetchWaiting.Load() > 0 {
		return false
	}
	c.forgetRecentLocked(k)
	f.recent = true
	c.recent[k] = f
	c.recentQ = append(c.recentQ, recentEntry{k: k, f: f, added: time.Now()})
	c.recentBytes += n
	for c.recentBytes > c.opts.RecentMemory {
		c.popRecentLocked()
	}
	c.armRecentLocked(c.recentTTL)
	return true
}

// acquireFetchMem takes a block's worth of FetchMemory for a fetch,
// pushing blocks out of the tier while it is used up, and waits only when
// the tier is empty.
func (c *Cache) acquireFetchMem(ctx context.Context) error {
	for {
		if c.fetchMem.TryAcquire(c.opts.BlockSize) {
			return nil
		}
		c.mu.Lock()
		popped := c.popRecentLocked()
		c.mu.Unlock()
		if !popped {
			break
		}
	}
	// While a fetch waits, no block joins the tier: each one ending
	// gives its memory back at once.
	c.fetchWaiting.Add(1)
	defer c.fetchWaiting.Add(-1)
	c.mu.Lock()
	for c.popRecentLocked() {
	}
	c.mu.Unlock()
	return c.fetchMem.Acquire(ctx, c.opts.BlockSize)
}

// recentHandleLocked opens block k from the tier, or returns nil. Called with
// c.mu held.
func (c *Cache) recentHandleLocked(k string) *BlockHandle {
	f := c.recent[k]
	if f == nil {
		return nil
	}
	return c.memHandleLocked(k, f)
}

// trimRecentLocked removes the queue entries at the front whose block
// has left the tier already.
func (c *Cache) trimRecentLocked() {
	for len(c.recentQ) > 0 {
		e := c.recentQ[0]
		if c.recent[e.k] == e.f {
			return
		}
		c.recentQ[0] = recentEntry{}
		c.recentQ = c.recentQ[1:]
	}
}

// popRecentLocked drops the oldest block in the tier, and reports whether
// there was one.
func (c *Cache) popRecentLocked() bool {
	c.trimRecentLocked()
	if len(c.recentQ) == 0 {
		return false
	}
	e := c.recentQ[0]
	c.recentQ[0] = recentEntry{}
	c.recentQ = c.recentQ[1:]
	c.dropRecentLocked(e.k, e.f)
	return true
}

func (c *Cache) dropRecentLocked(k string, f *flight) {
	delete(c.recent, k)
	c.recentBytes -= c.opts.BlockSize
	f.recent = false
	c.fetchMem.Release(c.opts.BlockSize)
	c.recycleLocked(f)
}

// forgetRecentLocked drops block k from the tier (its queue entry goes when
// it reaches the front).
func (c *Cache) forgetRecentLocked(k string) {
	if f := c.recent[k]; f != nil {
		c.dropRecentLocked(k, f)
	}
}

// forgetRecent drops block k from the tier.
func (c *Cache) forgetRecent(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.forgetRecentLocked(k)
}

// forgetRecentPrefix drops every block whose key starts with prefix.
func (c *Cache) forgetRecentPrefix(prefix []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := string(prefix)
	for k, f := range c.recent {
		if strings.HasPrefix(k, p) {
			c.dropRecentLocked(k, f)
		}
	}
}

// expireRecent drops the entries older than c.recentTTL and schedules itself
// again while the tier is not empty.
func (c *Cache) expireRecent() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.recentArmed = false
	now := time.Now()
	for {
		c.trimRecentLocked()
		if len(c.recentQ) == 0 {
			return
		}
		if age := now.Sub(c.recentQ[0].added); age < c.recentTTL {
			c.armRecentLocked(c.recentTTL - age)
			return
		}
		c.popRecentLocked()
	}
}

// clearRecentLocked empties the tier (Close).
func (c *Cache) clearRecentLocked() {
	for k, f := range c.recent {
		c.dropRecentLocked(k, f)
	}
	c.recentQ = nil
	if c.recentTimer != nil {
		c.recentTimer.Stop()
	}
	c.recentArmed = false
}

// armRecentLocked makes the one expiry timer fire in d, unless it is
// already set. One timer, reset, never a second: a callback that was
// already waiting for c.mu when the timer was stopped only finds the tier
// as it is.
func (c *Cache) armRecentLocked(d time.Duration) {
	if c.recentArmed {
		return
	}
	c.recentArmed = true
	if c.recentTimer == nil {
		c.recentTimer = time.AfterFunc(d, c.expireRecent)
		return
	}
	c.recentTimer.Reset(d)
}
