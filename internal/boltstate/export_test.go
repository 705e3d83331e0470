package boltstate

// CountChanges counts a workspace's change records, for the behaviour
// suite (suite_test.go, package state_test).
func (db *DB) CountChanges(workspace string) (int, error) {
	w, err := db.Workspace(workspace)
	if err != nil {
		return 0, err
	}
	n := 0
	err = w.view(func(s space) error {
		n = s.Bucket(bucketChanges).Stats().KeyN
		return nil
	})
	return n, err
}
