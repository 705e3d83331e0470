package vcarddir

import (
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"

	"github.com/fsnotify/fsnotify"

	"github.com/connect-sync/connect-sync/internal/atomicfile"
)

// maxMarked bounds the names a watch keeps: past that many, it counts as
// having lost track, and the next audit is whole.
const maxMarked = 10_000

// watch marks the names in a folder that something other than the sink
// changed (inotify on Linux), so that the next audit reads those cards at
// once rather than when the sweep comes to them. The sink's own changes
// are expected before it makes them, and not marked: a card renamed into
// place, a card removed. Names the sink gives no card, temporary files
// and changes of status alone (chmod, touch: an edit also writes) are not
// marked either.
type watch struct {
	w      *fsnotify.Watcher
	dir    string
	folder stamp // the folder watched: its inode and device
	done   chan struct{}

	mu       sync.Mutex
	marked   map[string]bool
	lost     bool // events were missed: the queue overflowed, the watch ended
	expected map[string]int
}

// startWatch watches dir, whose stamp is folder.
func startWatch(dir string, folder stamp) (*watch, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, err
	}
	if err := fw.Add(dir); err != nil {
		fw.Close()
		return nil, err
	}
	w := &watch{
		w: fw, dir: filepath.Clean(dir), folder: folder, done: make(chan struct{}),
		marked: map[string]bool{}, expected: map[string]int{},
	}
	go w.run()
	return w, nil
}

func (w *watch) run() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.w.Events:
			if !ok {
				w.lose()
				return
			}
			w.event(ev)
		case err, ok := <-w.w.Errors:
			if !ok {
				w.lose()
				return
			}
			if err != nil {
				w.lose() // fsnotify.ErrEventOverflow, or a read that failed
			}
		}
	}
}

func (w *watch) event(ev fsnotify.Event) {
	if filepath.Clean(ev.Name) == w.dir {
		w.lose() // the folder itself removed or moved away
		return
	}
	name := filepath.Base(ev.Name)
	if strings.HasPrefix(name, atomicfile.TempPrefix) || !namedLikeCard(name) || !ev.Has(fsnotify.Create|fsnotify.Remove|fsnotify.Rename|fsnotify.Write) {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !ev.Has(fsnotify.Write) && w.expected[name] > 0 {
		w.expected[name]--
		if w.expected[name] == 0 {
			delete(w.expected, name)
		}
		return
	}
	if len(w.marked) >= maxMarked {
		w.lost, w.marked = true, map[string]bool{}
		return
	}
	w.marked[name] = true
}

func (w *watch) lose() {
	w.mu.Lock()
	w.lost = true
	w.mu.Unlock()
}

// expect tells the watch that the sink is about to put a card at name or
// remove it, and unexpect that it did not after all.
func (w *watch) expect(name string) {
	w.mu.Lock()
	w.expected[name]++
	w.mu.Unlock()
}

func (w *watch) unexpect(name string) {
	w.mu.Lock()
	if w.expected[name]--; w.expected[name] <= 0 {
		delete(w.expected, name)
	}
	w.mu.Unlock()
}

// take returns the names marked and whether events were missed since the
// last take, and forgets them.
func (w *watch) take() (names []string, lost bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	names, lost = w.pendingLocked()
	w.marked, w.lost = map[string]bool{}, false
	return names, lost
}

// pending is take without forgetting.
func (w *watch) pending() ([]string, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pendingLocked()
}

func (w *watch) pendingLocked() ([]string, bool) {
	names := make([]string, 0, len(w.marked))
	for name := range w.marked {
		names = append(names, name)
	}
	return names, w.lost
}

// mark marks names again: cards an audit found drifted, which the next
// one reads again, whether or not this one's repair is made.
func (w *watch) mark(names []string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, name := range names {
		w.marked[name] = true
	}
}

// alive reports whether the watch still watches: the kernel ends it
// without a word when the folder's file system is unmounted.
func (w *watch) alive() bool {
	select {
	case <-w.done:
		return false
	default:
		return len(w.w.WatchList()) > 0
	}
}

func (w *watch) Close() error {
	err := w.w.Close()
	<-w.done
	return err
}

// folderWatch keeps the watch of one folder, started again for a new
// folder at the path (the old one removed or replaced) or once the watch
// ended. The service keeps one per vcard-dir folder from run to run (see
// sinks.Env.Residents); a one-shot run's sink keeps its own, for the run.
type folderWatch struct {
	dir    string
	logger *slog.Logger

	mu      sync.Mutex
	current *watch
	failed  bool // a watch could not be started: said once
}

// get returns the watch of the folder, whose stamp is folder, starting
// one if need be, and whether a watch of this same folder ended since
// (events were missed); nil when none can be started (no inotify, too
// many watches), which the sweep makes up for.
func (f *folderWatch) get(folder stamp) (*watch, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var lost bool
	if w := f.current; w != nil {
		same := w.folder.Inode == folder.Inode && w.folder.Dev == folder.Dev
		if same && w.alive() {
			return w, false
		}
		lost = same
		w.Close()
		f.current = nil
	}
	w, err := startWatch(f.dir, folder)
	if err != nil {
		if !f.failed && f.logger != nil {
			f.logger.Warn("cannot watch the sink's folder: cards edited there are found by the sweep of later runs", "folder", f.dir, "error", err)
		}
		f.failed = true
		return nil, lost
	}
	f.current = w
	return w, lost
}

// Close ends the watch.
func (f *folderWatch) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current == nil {
		return nil
	}
	err := f.current.Close()
	f.current = nil
	if errors.Is(err, fsnotify.ErrClosed) {
		return nil
	}
	return err
}

// watched resumes or starts the run's watch of the folder, whose stamp is
// folder, and returns the names it marked since the last run and whether
// it missed events.
func (s *Sink) watched(folder stamp) ([]string, bool) {
	if s.watches == nil || !folder.Found {
		return nil, false
	}
	w, lost := s.watches.get(folder)
	s.watch = w
	if w == nil {
		return nil, lost
	}
	names, missed := w.take()
	return names, lost || missed
}

// watchAgain marks names again (see watch.mark).
func (s *Sink) watchAgain(names []string) {
	if s.watch != nil {
		s.watch.mark(names)
	}
}

// watchPending returns what the watch marked during the run.
func (s *Sink) watchPending() ([]string, bool) {
	if s.watch == nil {
		return nil, false
	}
	return s.watch.pending()
}

func (s *Sink) expect(name string) {
	if s.watch != nil {
		s.watch.expect(name)
	}
}

func (s *Sink) unexpect(name string) {
	if s.watch != nil {
		s.watch.unexpect(name)
	}
}
