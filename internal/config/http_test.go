package config

import (
	"slices"
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
	if h := cfg.HTTP; h.Listen != "127.0.0.1:9464" || len(h.AllowedHosts) != 0 || h.IdleTimeout != time.Minute {
		t.Errorf("defaults: %+v", h)
	}
	cfg, err = Parse("config.yaml", []byte(`http:
  listen: 0.0.0.0:9464
  allowed_hosts: [metrics.example.com, connect_sync, "10.0.0.5", "[fd00::5]", host.example.]
  idle_timeout: 5s
`+httpTestSinks))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"metrics.example.com", "connect_sync", "10.0.0.5", "[fd00::5]", "host.example."}
	if h := cfg.HTTP; !slices.Equal(h.AllowedHosts, want) || h.IdleTimeout != 5*time.Second {
		t.Errorf("http = %+v", h)
	}
}

func TestHTTPErrors(t *testing.T) {
	_, err := Parse("config.yaml", []byte(`http:
  allowed_hosts:
    - https://metrics.example.com
    - metrics.example.com:9464
    - "*.example.com"
    - ""
  idle_timeout: 0s
`+httpTestSinks))
	if err == nil {
		t.Fatal("no error")
	}
	want := []string{
		`config.yaml:3: http.allowed_hosts[0]: "https://metrics.example.com" is not a host name or IP address: give the name alone, without scheme, port or wildcard (metrics.example.com)`,
		`config.yaml:4: http.allowed_hosts[1]: "metrics.example.com:9464" is not a host name or IP address: give the name alone, without scheme, port or wildcard (metrics.example.com)`,
		`config.yaml:5: http.allowed_hosts[2]: "*.example.com" is not a host name or IP address: give the name alone, without scheme, port or wildcard (metrics.example.com)`,
		`config.yaml:6: http.allowed_hosts[3]: "" is not a host name or IP address: give the name alone, without scheme, port or wildcard (metrics.example.com)`,
		`config.yaml:7: http.idle_timeout: must be positive`,
	}
	if got := err.Error(); got != strings.Join(want, "\n") {
		t.Errorf("got:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
}
