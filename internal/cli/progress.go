package cli

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// progress draws a one-line bar on stderr while tables are collected. It is
// used only when stderr is a terminal and --quiet is off; otherwise the
// no-op implementation keeps CI logs free of carriage returns.
type progress interface {
	AddTotal(int)
	TableDone()
	Done()
}

type noProgress struct{}

func (noProgress) AddTotal(int) {}
func (noProgress) TableDone()   {}
func (noProgress) Done()        {}

type barProgress struct {
	w           io.Writer
	label       string
	total, done atomic.Int64
	start       time.Time
	stop        chan struct{}
	wg          sync.WaitGroup
}

func newBar(w io.Writer, label string) *barProgress {
	b := &barProgress{w: w, label: label, start: time.Now(), stop: make(chan struct{})}
	b.wg.Go(func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.draw()
			}
		}
	})
	return b
}

func (b *barProgress) AddTotal(n int) { b.total.Add(int64(n)) }
func (b *barProgress) TableDone()     { b.done.Add(1) }

func (b *barProgress) draw() {
	done, total := b.done.Load(), b.total.Load()
	const width = 30
	filled := 0
	if total > 0 {
		filled = int(done * width / total)
	}
	fmt.Fprintf(b.w, "\r%s [%s%s] %d/%d tables  %s ", b.label, strings.Repeat("#", filled), strings.Repeat("-", width-filled),
		done, total, time.Since(b.start).Round(time.Second))
}

func (b *barProgress) Done() {
	close(b.stop)
	b.wg.Wait()
	b.draw()
	fmt.Fprintln(b.w)
}
