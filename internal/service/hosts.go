package service

import (
	"context"
	"net"
	"os"
	"strings"
	"time"
)

// hostRules says which Host headers the listener answers to, against DNS
// rebinding: a web page on a name of the attacker's, pointed by its DNS at
// this listener, reads what it serves, and its requests carry that name.
// So a name is served only when it is one of the listener's own:
//   - an IP address, which a rebinding page never has (the address is the
//     page's origin, and the page is not served from this listener);
//   - localhost, and the machine's host name and fully qualified name;
//   - the names configured (http.allowed_hosts: a proxy's, a scraper's);
//   - no Host at all, which only a client that is not a browser sends.
type hostRules struct {
	names map[string]bool
}

// fqdnTimeout bounds the look-up of the machine's fully qualified name,
// which /etc/hosts or the resolver answers, at start.
const fqdnTimeout = time.Second

// newHostRules makes the rules of a listener at addr. The machine's fully
// qualified name is looked up only for a listener that other machines
// reach.
func newHostRules(addr net.Addr, allowed []string) hostRules {
	names := []string{"localhost"}
	if host, err := os.Hostname(); err == nil {
		names = append(names, host)
		if !isLoopback(addr) {
			ctx, cancel := context.WithTimeout(context.Background(), fqdnTimeout)
			defer cancel()
			if fqdn, err := net.DefaultResolver.LookupCNAME(ctx, host); err == nil {
				names = append(names, fqdn)
			}
		}
	}
	r := hostRules{names: map[string]bool{}}
	for _, name := range append(names, allowed...) {
		r.names[normalHost(name)] = true
	}
	return r
}

// allows says whether a request with that Host header is served.
func (r hostRules) allows(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = normalHost(host)
	return host == "" || net.ParseIP(host) != nil || r.names[host]
}

// normalHost is a host as compared: lower case, brackets and the root's
// trailing dot gone.
func normalHost(host string) string {
	return strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
}
