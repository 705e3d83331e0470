package config

import (
	"strings"
	"testing"
	"time"
)

const httpTestSinks = "sinks: [{name: a, type: csv, path: a.csv}]\n"

func TestHTTPSettings(t *testing.T) {
	cfg, err := Parse("config.yaml", []byte(httpTestSinks))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.HTTP; h.Listen != "127.0.0.1:9464" || h.IdleTimeout != time.Minute {
		t.Errorf("defaults: %+v", h)
	}
	cfg, err = Parse("config.yaml", []byte(`http:
  listen: 0.0.0.0:9464
  idle_timeout: 5s
`+httpTestSinks))
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.HTTP; h.IdleTimeout != 5*time.Second {
		t.Errorf("http = %+v", h)
	}
}

func TestHTTPErrors(t *testing.T) {
	_, err := Parse("config.yaml", []byte(`http:
  idle_timeout: 0s
`+httpTestSinks))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`config.yaml:2: http.idle_timeout: must be positive`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
