package service

import (
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

// The Host rules, for a listener on loopback and one on every address:
// the same names are served on both.
func TestHostRules(t *testing.T) {
	hostname, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		host string
		want int
	}{
		{"127.0.0.1:9464", http.StatusOK},
		{"[::1]:9464", http.StatusOK},
		{"192.0.2.7:9464", http.StatusOK}, // an address, as behind NAT: no rebinding page has one
		{"[2001:db8::7]", http.StatusOK},
		{"localhost:9464", http.StatusOK},
		{"LOCALHOST.", http.StatusOK},
		{hostname + ":9464", http.StatusOK},
		{strings.ToUpper(hostname), http.StatusOK},
		{"metrics.example.com:9464", http.StatusOK}, // configured
		{"Metrics.Example.COM.:443", http.StatusOK},
		{"connect_sync", http.StatusOK},
		{"", http.StatusOK}, // HTTP/1.0 without Host: no browser
		{"evil.example:9464", http.StatusMisdirectedRequest},
		{"evil.example", http.StatusMisdirectedRequest},
		{"sub.metrics.example.com", http.StatusMisdirectedRequest},
		{"localhost.evil.example", http.StatusMisdirectedRequest},
		{"127.0.0.1.evil.example", http.StatusMisdirectedRequest},
		{hostname + ".evil.example", http.StatusMisdirectedRequest},
	}
	addrs := []*net.TCPAddr{listenAddr, {IP: net.IPv4zero, Port: 9464}, {IP: net.IPv6unspecified, Port: 9464}}
	for _, addr := range addrs {
		svc := newService(nil, func(s *Service) {
			s.HTTP.AllowedHosts = []string{"metrics.example.com", "connect_sync"}
		})
		handler := svc.handler(addr)
		for _, tt := range tests {
			req := httptest.NewRequest(http.MethodGet, "/healthz", nil)
			req.Host = tt.host
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("listening on %s, Host %q: %d, want %d", addr, tt.host, rec.Code, tt.want)
			}
			if tt.want == http.StatusMisdirectedRequest && !strings.Contains(rec.Body.String(), "add it to http.allowed_hosts") {
				t.Errorf("listening on %s, Host %q: the answer does not name the setting: %s", addr, tt.host, rec.Body)
			}
		}
	}
}

// Without http.allowed_hosts, a name is served only if it is the
// listener's own.
func TestHostRulesWithoutAllowedHosts(t *testing.T) {
	handler := newService(nil).handler(&net.TCPAddr{IP: net.IPv4zero, Port: 9464})
	for _, host := range []string{"metrics.example.com", "evil.example:9464"} {
		for _, path := range []string{"/status", "/metrics"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.Host = host
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusMisdirectedRequest {
				t.Errorf("GET %s with Host %q: %d, want 421", path, host, rec.Code)
			}
		}
	}
}
