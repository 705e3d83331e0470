package main

import (
	"bytes"
	"io"
	"log/slog"
	"testing"
)

func TestJournalLines(t *testing.T) {
	tests := []struct {
		name   string
		format func(io.Writer, *slog.HandlerOptions) slog.Handler
		want   string
	}{
		{"text", func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewTextHandler(w, o) },
			"<6>level=INFO msg=started sink=csv\n<3>level=ERROR msg=\"sink stopped\" sink=csv run.n=2\n<4>level=WARN msg=retrying\n"},
		{"json", func(w io.Writer, o *slog.HandlerOptions) slog.Handler { return slog.NewJSONHandler(w, o) },
			`<6>{"level":"INFO","msg":"started","sink":"csv"}` + "\n" + `<3>{"level":"ERROR","msg":"sink stopped","sink":"csv","run":{"n":2}}` + "\n" + `<4>{"level":"WARN","msg":"retrying"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			logger := slog.New(newJournalHandler(&out, &slog.HandlerOptions{}, tt.format))
			sinkLogger := logger.With("sink", "csv")
			sinkLogger.Info("started")
			sinkLogger.WithGroup("run").Error("sink stopped", "n", 2)
			logger.Warn("retrying")
			logger.Debug("not at this level")
			if out.String() != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", out.String(), tt.want)
			}
		})
	}
}
