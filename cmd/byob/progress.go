package main

import (
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	bsync "github.com/byobfs/byob/sync"
)

// syncProgress draws files and bytes bars on a terminal (stderr); it is a
// no-op elsewhere. Totals grow as the streaming plan finds work.
type syncProgress struct {
	p            *mpb.Progress
	files, bytes *mpb.Bar
	nFiles       int64
	nBytes       int64
}

func (a *app) newSyncProgress(on bool) *syncProgress {
	if !on || !isTerminal(a.stderr.w) {
		return &syncProgress{}
	}
	p := mpb.New(mpb.WithOutput(a.stderr.w), mpb.WithRefreshRate(200*time.Millisecond))
	files := p.AddBar(0,
		mpb.PrependDecorators(decor.Name("files ", decor.WC{W: 6}), decor.CountersNoUnit("%d / %d")),
		mpb.AppendDecorators(decor.Percentage()))
	bytes := p.AddBar(0,
		mpb.PrependDecorators(decor.Name("bytes ", decor.WC{W: 6}), decor.Counters(decor.SizeB1024(0), "% .1f / % .1f")),
		mpb.AppendDecorators(decor.AverageSpeed(decor.SizeB1024(0), "% .1f"), decor.Name(" ETA "), decor.AverageETA(decor.ET_STYLE_GO)))
	return &syncProgress{p: p, files: files, bytes: bytes}
}

func (s *syncProgress) event(e bsync.Event) {
	if s.p == nil || e.Op == bsync.OpSkip {
		return
	}
	switch {
	case e.Planned:
		s.nFiles++
		s.nBytes += e.Size
		s.files.SetTotal(s.nFiles, false)
		s.bytes.SetTotal(s.nBytes, false)
	case e.Done:
		s.files.Increment()
		if e.Err == "" {
			s.bytes.IncrInt64(e.Size)
		}
	}
}

func (s *syncProgress) done() {
	if s.p == nil {
		return
	}
	s.files.SetTotal(-1, true)
	s.bytes.SetTotal(-1, true)
	s.p.Wait()
}
