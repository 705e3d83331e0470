package importer

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkImport10k imports 10,000 CSV records into a workspace of
// 10,000 contacts through the fake API, and reports how much of the heap
// the result holds once the import is over: what an import keeps per
// record.
func BenchmarkImport10k(b *testing.B) {
	var in strings.Builder
	in.WriteString("email,firstName,lastName,companyName,phoneNumbers,note\n")
	for i := range 10_000 {
		fmt.Fprintf(&in, "person%d@example.com,Person,%d,Company %d,+1 555 01%02d,A note about person %d\n", i, i, i%100, i%100, i)
	}
	path := filepath.Join(b.TempDir(), "in.csv")
	if err := os.WriteFile(path, []byte(in.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		b.StopTimer()
		e := newEnv(b, 10_000)
		b.StartTimer()
		res, err := e.imp.Run(context.Background(), Options{Files: []string{path}, Concurrency: 4})
		if err != nil || res.Count(Created) != 10_000 {
			b.Fatalf("%v, %d created", err, res.Count(Created))
		}
		b.StopTimer()
		held := heapInUse()
		runtime.KeepAlive(res)
		b.ReportMetric(float64(held-heapInUse())/(1<<20), "MiB-result")
		runtime.KeepAlive(e)
		b.StartTimer()
	}
}

func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
