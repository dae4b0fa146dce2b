package audit

import (
	"bufio"
	"bytes"
	"container/heap"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/pitrguard/pitrguard/internal/model"
	"github.com/pitrguard/pitrguard/internal/report"
)

// Defaults of SpillOptions.
const (
	DefaultRunSize = 1000 // rows sorted in memory before they are written as one run
	DefaultFanIn   = 16   // runs merged at once
)

// SpillOptions configure the on-disk spill of a streamed audit.
type SpillOptions struct {
	// Dir is where the temporary files go ("" = os.TempDir(), i.e. $TMPDIR).
	Dir string
	// RunSize is how many rows are held and sorted in memory before they are
	// written as one sorted run (0 = DefaultRunSize).
	RunSize int
	// FanIn is how many runs one merge reads at once (0 = DefaultFanIn, at
	// least 2). More runs than that are merged in several levels.
	FanIn int
}

// Row is one evaluated table as a streamed audit keeps it: the report's row
// and what the history keeps beyond it (store.Facts). The spill writes it as
// JSON and reads it back, so every field of report.TableResult must survive
// a JSON round trip — a field added there with `json:"-"` would be lost.
type Row struct {
	Result        report.TableResult `json:"result"`
	DescribeKnown bool               `json:"describe_known"`
	TagsKnown     bool               `json:"tags_known"`
	CreatedAt     *time.Time         `json:"created_at,omitempty"`
	ReadErrors    []model.ReadError  `json:"read_errors,omitempty"`
	// Critical says the table's tier is critical (config.Tier.IsCritical).
	Critical bool `json:"critical"`
}

// RowOf is an in-memory entry as a Row.
func RowOf(e Entry) Row {
	return Row{Result: e.Result, DescribeKnown: e.Table.DescribeKnown, TagsKnown: e.Table.TagsKnown,
		CreatedAt: e.Table.CreatedAt, ReadErrors: e.Table.ReadErrors, Critical: e.Eval.Tier.IsCritical()}
}

// SpillStats describe what a spill did (tests and the benchmark read them).
type SpillStats struct {
	Rows int // rows added
	Runs int // sorted runs written
	// Levels is the number of merge passes: 0 with at most one run, 1 when
	// all runs were merged at once, more when there were more than FanIn.
	Levels int
	// PeakBytes is the most disk space the spill's files used at once.
	PeakBytes int64
}

// Spill keeps an audit's evaluated tables on disk instead of in memory: rows
// are added in any order (from many goroutines), held in memory RunSize at a
// time, sorted by (account, region, name) and written as sorted runs; Finish
// k-way merges the runs (FanIn at a time, in as many levels as needed) into
// one file, which Each reads back one row at a time, as often as needed.
//
// Its files are unlinked as soon as they are created (where the OS allows
// it; otherwise when Close removes them), so nothing is left in $TMPDIR even
// when the process is killed. The disk space is freed when Close closes them.
type Spill struct {
	dir          string
	runSize, fan int

	mu     sync.Mutex
	buf    []record
	runs   []*spillFile
	out    *spillFile // the merged file, after Finish (nil: no rows)
	err    error      // the first write error; every later call returns it
	done   bool       // Finish was called
	closed bool
	stats  SpillStats
	onDisk int64
}

// record is one row as the spill stores it: its sort key
// (account NUL region NUL name, which sorts bytewise exactly as
// model.Compare orders the three fields, since none contains a NUL) and its
// JSON.
type record struct{ key, data []byte }

// spillFile is one file of the spill: a sorted run, or the merged output.
type spillFile struct {
	f    *os.File
	path string // "" once unlinked
	size int64
}

// NewSpill returns an empty spill; no file is created before the first run.
func NewSpill(o SpillOptions) *Spill {
	s := &Spill{dir: o.Dir, runSize: o.RunSize, fan: o.FanIn}
	if s.runSize <= 0 {
		s.runSize = DefaultRunSize
	}
	if s.fan <= 0 {
		s.fan = DefaultFanIn
	}
	s.fan = max(s.fan, 2)
	return s
}

func rowKey(account, region, name string) []byte {
	k := make([]byte, 0, len(account)+len(region)+len(name)+2)
	k = append(append(append(k, account...), 0), region...)
	return append(append(k, 0), name...)
}

// Add adds a row. It is safe for concurrent use. A row is encoded before the
// lock is taken; every RunSize rows, the full run is sorted and written.
func (s *Spill) Add(r *Row) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("spill: encode %s/%s/%s: %w", r.Result.Account, r.Result.Region, r.Result.Name, err)
	}
	rec := record{key: rowKey(r.Result.Account, r.Result.Region, r.Result.Name), data: data}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.err != nil:
		return s.err
	case s.done || s.closed:
		return errors.New("spill: Add after Finish or Close")
	}
	s.buf = append(s.buf, rec)
	s.stats.Rows++
	if len(s.buf) >= s.runSize {
		s.err = s.writeRun()
	}
	return s.err
}

// writeRun sorts the rows held in memory and writes them as one run.
func (s *Spill) writeRun() error {
	slices.SortStableFunc(s.buf, func(a, b record) int { return bytes.Compare(a.key, b.key) })
	f, err := s.create()
	if err != nil {
		return err
	}
	s.runs = append(s.runs, f) // before writing: Close releases it even if the write fails
	w := bufio.NewWriterSize(f.f, 64<<10)
	for _, r := range s.buf {
		if err := writeRecord(w, r); err != nil {
			return s.fail(err)
		}
	}
	if err := w.Flush(); err != nil {
		return s.fail(err)
	}
	if f.size, err = f.f.Seek(0, io.SeekCurrent); err != nil {
		return s.fail(err)
	}
	s.grow(f.size)
	s.stats.Runs++
	clear(s.buf) // drop the references, keep the capacity
	s.buf = s.buf[:0]
	return nil
}

func (s *Spill) fail(err error) error {
	return fmt.Errorf("spill: write a temporary file in %s (the streamed audit needs about 2 KB of free space per table there; set TMPDIR to another directory): %w", s.tempDir(), err)
}

func (s *Spill) tempDir() string {
	if s.dir != "" {
		return s.dir
	}
	return os.TempDir()
}

// create makes a temporary file and unlinks it at once where the OS allows
// (the open handle keeps the data until Close).
func (s *Spill) create() (*spillFile, error) {
	f, err := os.CreateTemp(s.dir, "pitrguard-spill-*")
	if err != nil {
		return nil, s.fail(err)
	}
	sf := &spillFile{f: f, path: f.Name()}
	if os.Remove(sf.path) == nil {
		sf.path = ""
	}
	return sf, nil
}

func (s *Spill) grow(n int64) {
	s.onDisk += n
	s.stats.PeakBytes = max(s.stats.PeakBytes, s.onDisk)
}

func (s *Spill) release(f *spillFile) {
	s.onDisk -= f.size
	f.close()
}

func (f *spillFile) close() {
	if f.f != nil {
		f.f.Close()
		f.f = nil
	}
	if f.path != "" {
		os.Remove(f.path)
		f.path = ""
	}
}

// writeRecord frames a record: uvarint key length, key, uvarint data length, data.
func writeRecord(w *bufio.Writer, r record) error {
	var n [binary.MaxVarintLen64]byte
	w.Write(n[:binary.PutUvarint(n[:], uint64(len(r.key)))])
	w.Write(r.key)
	w.Write(n[:binary.PutUvarint(n[:], uint64(len(r.data)))])
	_, err := w.Write(r.data)
	return err
}

// readRecord reads one framed record (io.EOF at the end of the file).
func readRecord(r *bufio.Reader) (record, error) {
	var rec record
	for _, p := range []*[]byte{&rec.key, &rec.data} {
		n, err := binary.ReadUvarint(r)
		if err != nil {
			if p == &rec.data && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return rec, err
		}
		*p = make([]byte, n)
		if _, err := io.ReadFull(r, *p); err != nil {
			return rec, io.ErrUnexpectedEOF
		}
	}
	return rec, nil
}

func (f *spillFile) reader() *bufio.Reader {
	return bufio.NewReaderSize(io.NewSectionReader(f.f, 0, f.size), 64<<10)
}

// Finish writes the last run and merges all runs into one sorted file.
// Add may not be called after it.
func (s *Spill) Finish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	if s.closed {
		return errors.New("spill: Finish after Close")
	}
	if s.done {
		return nil
	}
	s.done = true
	if len(s.buf) > 0 {
		if s.err = s.writeRun(); s.err != nil {
			return s.err
		}
	}
	s.buf = nil
	for len(s.runs) > 1 {
		s.stats.Levels++
		var next []*spillFile
		for i := 0; i < len(s.runs); i += s.fan {
			group := s.runs[i:min(i+s.fan, len(s.runs))]
			if len(group) == 1 {
				next = append(next, group[0])
				continue
			}
			m, err := s.merge(group)
			if err != nil {
				s.runs = append(next, s.runs[i:]...) // still open: Close releases them
				s.err = err
				return err
			}
			next = append(next, m)
		}
		s.runs = next
	}
	if len(s.runs) == 1 {
		s.out = s.runs[0]
	}
	return nil
}

// merge k-way merges sorted runs into a new run and releases them. Equal
// keys keep the order of the runs (stable).
func (s *Spill) merge(in []*spillFile) (*spillFile, error) {
	out, err := s.create()
	if err != nil {
		return nil, err
	}
	h := make(mergeHeap, 0, len(in))
	for i, f := range in {
		r := f.reader()
		rec, err := readRecord(r)
		if err == io.EOF {
			continue
		}
		if err != nil {
			out.close()
			return nil, fmt.Errorf("spill: read back a run: %w", err)
		}
		h = append(h, &mergeHead{rec: rec, r: r, run: i})
	}
	heap.Init(&h)
	w := bufio.NewWriterSize(out.f, 64<<10)
	for len(h) > 0 {
		top := h[0]
		if err := writeRecord(w, top.rec); err != nil {
			out.close()
			return nil, s.fail(err)
		}
		rec, err := readRecord(top.r)
		switch {
		case err == io.EOF:
			heap.Pop(&h)
		case err != nil:
			out.close()
			return nil, fmt.Errorf("spill: read back a run: %w", err)
		default:
			top.rec = rec
			heap.Fix(&h, 0)
		}
	}
	if err := w.Flush(); err != nil {
		out.close()
		return nil, s.fail(err)
	}
	if out.size, err = out.f.Seek(0, io.SeekCurrent); err != nil {
		out.close()
		return nil, s.fail(err)
	}
	s.grow(out.size)
	for _, f := range in {
		s.release(f)
	}
	return out, nil
}

type mergeHead struct {
	rec record
	r   *bufio.Reader
	run int
}

// mergeHeap orders the heads of the runs being merged by key, then by run.
type mergeHeap []*mergeHead

func (h mergeHeap) Len() int { return len(h) }
func (h mergeHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].rec.key, h[j].rec.key); c != 0 {
		return c < 0
	}
	return h[i].run < h[j].run
}
func (h mergeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *mergeHeap) Push(x any)   { *h = append(*h, x.(*mergeHead)) }
func (h *mergeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Len is the number of rows added.
func (s *Spill) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.Rows
}

// Stats says what the spill did so far.
func (s *Spill) Stats() SpillStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Each calls fn for every row, sorted by (account, region, name), one row in
// memory at a time, and stops at fn's first error. It may be called any
// number of times (and at once from several goroutines) after Finish.
func (s *Spill) Each(fn func(*Row) error) error {
	s.mu.Lock()
	out, done, closed, err := s.out, s.done, s.closed, s.err
	s.mu.Unlock()
	switch {
	case err != nil:
		return err
	case closed:
		return errors.New("spill: read after Close")
	case !done:
		return errors.New("spill: read before Finish")
	case out == nil:
		return nil
	}
	r := out.reader()
	for {
		rec, err := readRecord(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("spill: read back: %w", err)
		}
		var row Row
		if err := json.Unmarshal(rec.data, &row); err != nil {
			return fmt.Errorf("spill: decode row %q: %w", bytes.ReplaceAll(rec.key, []byte{0}, []byte{'/'}), err)
		}
		if err := fn(&row); err != nil {
			return err
		}
	}
}

// Close closes and removes every file of the spill. It is safe to call more
// than once, and at any point (also after a failed Add or Finish).
func (s *Spill) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, f := range s.runs {
		s.release(f)
	}
	s.runs, s.out, s.buf = nil, nil, nil
	return nil
}
