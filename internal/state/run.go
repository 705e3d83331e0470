package state

import "time"

// Run is the record of one sync run.
type Run struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Result     string    `json:"result"` // RunSucceeded, RunFailed or RunStopped
	Error      string    `json:"error,omitempty"`
}

// The results of a run.
const (
	RunSucceeded = "success"
	RunFailed    = "failure"
	RunStopped   = "stopped" // ended early by a shutdown; the rest stays queued
)

// RecordRun stores the last run's record, and when it succeeded, its time
// as the last success.
func (w *Workspace) RecordRun(r Run) error {
	return w.update(func(ws space) error {
		meta := ws.Bucket(bucketMeta)
		if r.Result == RunSucceeded {
			if err := putJSON(meta, keyLastSuccess, r.FinishedAt); err != nil {
				return err
			}
		}
		return putJSON(meta, keyLastRun, r)
	})
}

// Status is what `connect-sync status --json` prints.
type Status struct {
	Workspace     string       `json:"workspace"`
	LastRun       *Run         `json:"last_run"`
	LastSuccessAt *time.Time   `json:"last_success_at"`
	Contacts      int          `json:"contacts"`
	Sinks         []SinkStatus `json:"sinks"`
}

// SinkStatus is one sink's part of Status.
type SinkStatus struct {
	Name          string     `json:"name"`
	Type          string     `json:"type"`
	Delivered     uint64     `json:"delivered"`
	Pending       int        `json:"pending"`
	DeadLetters   int        `json:"dead_letters"`
	LastError     string     `json:"last_error"`
	LastSuccessAt *time.Time `json:"last_success_at"`
	Disabled      string     `json:"disabled,omitempty"`
	Failures      []Failure  `json:"failures,omitempty"`
	// DeadLetterList holds the oldest dead letters, up to
	// StatusDeadLetters of them.
	DeadLetterList []DeadLetter `json:"dead_letter_list,omitempty"`
}

// StatusDeadLetters bounds the dead letters Status lists; DeadLetters
// counts them all.
const StatusDeadLetters = 20

// Status reads the status from the state file, sinks in name order.
func (w *Workspace) Status() (Status, error) {
	st := Status{Workspace: w.name}
	err := w.view(func(ws space) error {
		meta := ws.Bucket(bucketMeta)
		if meta.Get(keyLastRun) != nil {
			st.LastRun = new(Run)
			if err := getJSON(meta, keyLastRun, st.LastRun); err != nil {
				return err
			}
		}
		if meta.Get(keyLastSuccess) != nil {
			st.LastSuccessAt = new(time.Time)
			if err := getJSON(meta, keyLastSuccess, st.LastSuccessAt); err != nil {
				return err
			}
		}
		st.Contacts = ws.Bucket(bucketContacts).Stats().KeyN
		sinks := ws.Bucket(bucketSinks)
		return sinks.ForEachBucket(func(name []byte) error {
			b := sinks.Bucket(name)
			var info SinkInfo
			if err := getJSON(b, keyInfo, &info); err != nil {
				return err
			}
			s := SinkStatus{
				Name:          string(name),
				Type:          info.Type,
				Delivered:     info.Delivered,
				Pending:       b.Bucket(keyQueue).Stats().KeyN,
				LastError:     info.LastError,
				LastSuccessAt: info.LastSuccessAt,
				Disabled:      info.Disabled,
				Failures:      info.Failures,
			}
			if dead := b.Bucket(keyDead); dead != nil {
				s.DeadLetters = dead.Stats().KeyN
				c := dead.Cursor()
				for k, v := c.First(); k != nil && len(s.DeadLetterList) < StatusDeadLetters; k, v = c.Next() {
					l, err := readLetter(ws, k, v)
					if err != nil {
						return err
					}
					s.DeadLetterList = append(s.DeadLetterList, l)
				}
			}
			st.Sinks = append(st.Sinks, s)
			return nil
		})
	})
	return st, err
}
