package engine

import "fmt"

// MassDeleteError is the delete guard refusing a run.
type MassDeleteError struct {
	Deleted, Tracked int
	MaxFraction      float64
}

func (e *MassDeleteError) Error() string {
	if e.Deleted == e.Tracked {
		return fmt.Sprintf("the API returned no contacts while %d are tracked: refusing to delete them all (run with --allow-mass-delete if that is right)", e.Tracked)
	}
	return fmt.Sprintf("refusing to delete %d of %d tracked contacts, more than sync.max_delete_fraction (%g) allows (run with --allow-mass-delete if that is right)", e.Deleted, e.Tracked, e.MaxFraction)
}

// minGuardedDeletes is how many deletions a run may always make: in a small
// workspace, deleting 3 of 5 contacts is ordinary.
const minGuardedDeletes = 10

// CheckDeletes is the delete guard: it refuses a plan that deletes more
// than maxFraction of the tracked contacts (and more than
// minGuardedDeletes), or all of them because the API returned an empty list.
func (p *Plan) CheckDeletes(maxFraction float64) error {
	deleted := p.Deleted
	if deleted == 0 {
		return nil
	}
	emptied := p.Fetched == 0
	tooMany := deleted > minGuardedDeletes && float64(deleted) > maxFraction*float64(p.Tracked)
	if emptied || tooMany {
		return &MassDeleteError{Deleted: deleted, Tracked: p.Tracked, MaxFraction: maxFraction}
	}
	return nil
}
