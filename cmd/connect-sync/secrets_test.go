package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/connect-sync/connect-sync/internal/davtest"
	"github.com/connect-sync/connect-sync/internal/fakeconnect"
	"github.com/connect-sync/connect-sync/internal/natstest"
)

// Every secret connect-sync holds, each a known value with "canary" in it,
// so that a partial leak shows as well as a whole one.
const (
	canaryAPIKey          = "sk_live_canaryApiKey7Q2x"
	canaryAPIKeyFile      = "sk_live_canaryApiKeyFile5N8w"
	canaryWrongKey        = "sk_live_canaryWrongKey3J6v"
	canaryHookKey         = "canary-webhook-key-inline-32byte" // 32 bytes, as whsec_ base64
	canaryHookKeyFile     = "canary-webhook-key-in-a-file-32b"
	canaryHookToken       = "canaryHookHeaderToken9W4"
	canaryHookURLToken    = "canaryHookPathToken7P"  // Slack-style, in the url's path
	canaryHookMakeToken   = "canaryHookMakeToken3X8" // Make-style, the url's first path segment
	canaryHookQueryToken  = "canaryHookQueryToken5L"
	canaryDavPassword     = "canaryDavPassword2K7"
	canaryDavPasswordFile = "canaryDavPasswordFile8M1"
	canaryDavToken        = "canaryDavBearer6T3"
	canaryDavTokenFile    = "canaryDavBearerFile4R9"
	davUser               = "alice"

	canaryNatsPassword     = "canaryNatsPassword3D5"
	canaryNatsPasswordFile = "canaryNatsPasswordFile1H8"
	canaryNatsToken        = "canaryNatsToken6F2"
	canaryNatsTokenFile    = "canaryNatsTokenFile9B4"
)

func whsec(key string) string { return "whsec_" + base64.StdEncoding.EncodeToString([]byte(key)) }

// secretForms are the secrets and the encodings they travel in: base64
// (whsec_ secrets, HTTP basic auth), base64url and hex.
func secretForms() map[string]string {
	forms := map[string]string{}
	for _, v := range []string{
		canaryAPIKey, canaryAPIKeyFile, canaryWrongKey, canaryHookKey, canaryHookKeyFile, canaryHookToken,
		canaryHookURLToken, canaryHookMakeToken, canaryHookQueryToken, canaryDavPassword, canaryDavPasswordFile, canaryDavToken, canaryDavTokenFile,
		canaryNatsPassword, canaryNatsPasswordFile, canaryNatsToken, canaryNatsTokenFile,
	} {
		forms[v] = v
		forms[v+" (base64)"] = strings.TrimRight(base64.StdEncoding.EncodeToString([]byte(v)), "=")
		forms[v+" (base64url)"] = base64.RawURLEncoding.EncodeToString([]byte(v))
		forms[v+" (hex)"] = hex.EncodeToString([]byte(v))
	}
	for _, pw := range []string{canaryDavPassword, canaryDavPasswordFile} {
		forms[pw+" (basic auth)"] = base64.StdEncoding.EncodeToString([]byte(davUser + ":" + pw))
	}
	return forms
}

// secretsEnv is a workspace whose API, webhook receiver, CardDAV server
// and nats-servers each take only their secrets, and a record of
// everything checked.
type secretsEnv struct {
	*workspace
	apiURL, hookURL, davURL string
	hook                    *secretReceiver
	dav                     *davGate
	nats                    natsURLs          // the servers that take the nats sinks' secrets
	natsRefusing            natsURLs          // servers that take other credentials
	natsClients             map[string]string // stream → a URL with the credentials to read it
	forms                   map[string]string
	checked                 int
	// apiEcho, when set, makes the API answer 400 quoting the key it got;
	// the webhook receiver and the CardDAV server take sinkEcho (echo).
	apiEcho echo
}

// echo is how a hostile server quotes a secret back, when set.
type echo struct {
	mu sync.Mutex
	fn func(string) string
}

func (e *echo) set(fn func(string) string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fn = fn
}

func (e *echo) get() func(string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.fn
}

// echoes are the ways the servers quote a secret back: as is,
// upper-cased, cut after 200 bytes with the secret's first 12 characters
// at the end, and 10 characters from its middle.
var echoes = []struct {
	name string
	fn   func(string) string
}{
	{"as is", func(s string) string { return "you sent " + s }},
	{"upper-cased", func(s string) string { return "YOU SENT " + strings.ToUpper(s) }},
	{"cut", func(s string) string {
		return (strings.Repeat("x", 178) + " you sent " + s + strings.Repeat(" ", 200))[:200]
	}},
	{"middle slice", func(s string) string {
		if len(s) > 10 {
			s = s[len(s)/2-5 : len(s)/2+5]
		}
		return "you sent …" + s + "…"
	}},
}

// natsURLs are the servers of the nats sinks: one whose users have the
// password and the password_file's password, and one for each token.
type natsURLs struct{ users, token, tokenFile string }

// natsStreams are the nats sinks' streams, one per sink.
var natsStreams = []string{"PASSWORD", "PASSWORD_FILE", "TOKEN", "TOKEN_FILE"}

func newSecretsEnv(t *testing.T) *secretsEnv {
	t.Helper()
	api := fakeconnect.New(fakeconnect.Options{APIKey: canaryAPIKey, Contacts: 6, Seed: 11})
	// The fake takes one key; the key file holds another.
	e := &secretsEnv{}
	apiSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if echo := e.apiEcho.get(); echo != nil {
			w.Header().Set("Content-Type", "text/plain")
			w.WriteHeader(http.StatusBadRequest)
			io.WriteString(w, echo(r.Header.Get("X-Api-Key")))
			return
		}
		if r.Header.Get("X-Api-Key") == canaryAPIKeyFile {
			r.Header.Set("X-Api-Key", canaryAPIKey)
		}
		api.ServeHTTP(w, r)
	}))
	t.Cleanup(apiSrv.Close)
	hook := &secretReceiver{t: t, seen: map[string]int{}}
	hookSrv := httptest.NewServer(hook)
	t.Cleanup(hookSrv.Close)
	dav := newDavGate(davtest.StartXandikos(t))
	davSrv := httptest.NewServer(dav)
	t.Cleanup(davSrv.Close)
	// A nats-server has one way to authenticate and takes one token.
	users := natstest.Start(t, fmt.Sprintf(`authorization {
  users: [
    {user: nats-user, password: %q}
    {user: nats-file-user, password: %q}
  ]
}`, canaryNatsPassword, canaryNatsPasswordFile))
	token := natstest.Start(t, fmt.Sprintf("authorization {\n  token: %q\n}", canaryNatsToken))
	tokenFile := natstest.Start(t, fmt.Sprintf("authorization {\n  token: %q\n}", canaryNatsTokenFile))
	withCredentials := func(srv *natstest.Server, userinfo string) string {
		return strings.Replace(srv.URL, "//", "//"+userinfo+"@", 1)
	}
	natsClients := map[string]string{
		"PASSWORD":      withCredentials(users, "nats-user:"+canaryNatsPassword),
		"PASSWORD_FILE": withCredentials(users, "nats-file-user:"+canaryNatsPasswordFile),
		"TOKEN":         withCredentials(token, canaryNatsToken),
		"TOKEN_FILE":    withCredentials(tokenFile, canaryNatsTokenFile),
	}
	// natstest.Start waits for JetStream only without extra config.
	for _, stream := range []string{"PASSWORD", "TOKEN", "TOKEN_FILE"} {
		natstest.WaitJetStream(t, natsClients[stream])
	}
	*e = secretsEnv{
		workspace: &workspace{t: t, api: api, dir: t.TempDir()},
		apiURL:    apiSrv.URL, hookURL: hookSrv.URL, davURL: davSrv.URL,
		hook: hook, dav: dav, forms: secretForms(),
		nats:         natsURLs{users: users.URL, token: token.URL, tokenFile: tokenFile.URL},
		natsRefusing: natsURLs{users: token.URL, token: users.URL, tokenFile: token.URL},
		natsClients:  natsClients,
	}
	for name, content := range map[string]string{
		"api-key": canaryAPIKeyFile + "\n", "webhook-secret": whsec(canaryHookKeyFile) + "\n",
		"dav-password": canaryDavPasswordFile + "\n", "dav-token": canaryDavTokenFile + "\n",
		"nats-password": canaryNatsPasswordFile + "\n", "nats-token": canaryNatsTokenFile + "\n",
	} {
		if err := os.WriteFile(e.path(name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// configText is a config with every sink type and every kind of secret: the
// API key as keyLine sets it, sinks at hookURL, davURL and the nats servers.
func (e *secretsEnv) configText(keyLine, hookURL, davURL string, nats natsURLs) string {
	return fmt.Sprintf(`connect:
  base_url: %s
  %s
  max_retries: 0
state:
  path: %s
sinks:
  - name: spreadsheet
    type: csv
    path: %s
  - name: hook
    type: webhook
    url: %s/hooks/%s?token=%s
    secret: %s
    headers:
      Authorization: Bearer ${HOOK_TOKEN}
    max_retries: 0
  - name: hook-file
    type: webhook
    url: %s/hook-file
    secret_file: %s
    max_retries: 0
  - name: hook-make
    type: webhook
    url: %[9]s/%[17]s
    secret: %[8]s
    max_retries: 0
  - name: dav-password
    type: carddav
    url: %[11]s/user/contacts/password/
    create_addressbook: true
    username: %[12]s
    password: %[13]s
  - name: dav-password-file
    type: carddav
    url: %[11]s/user/contacts/password-file/
    create_addressbook: true
    username: %[12]s
    password_file: %[14]s
  - name: dav-token
    type: carddav
    url: %[11]s/user/contacts/token/
    create_addressbook: true
    bearer_token: %[15]s
  - name: dav-token-file
    type: carddav
    url: %[11]s/user/contacts/token-file/
    create_addressbook: true
    bearer_token_file: %[16]s
`, e.apiURL, keyLine, e.path("state.db"), e.path("contacts.csv"),
		hookURL, canaryHookURLToken, canaryHookQueryToken, whsec(canaryHookKey),
		hookURL, e.path("webhook-secret"),
		davURL, davUser, canaryDavPassword, e.path("dav-password"), canaryDavToken, e.path("dav-token"), canaryHookMakeToken) +
		fmt.Sprintf(`  - name: nats-password
    type: nats
    urls: [%[1]s]
    stream: PASSWORD
    subject_prefix: password
    user: nats-user
    password: %[2]s
  - name: nats-password-file
    type: nats
    urls: [%[1]s]
    stream: PASSWORD_FILE
    subject_prefix: password-file
    user: nats-file-user
    password_file: %[3]s
  - name: nats-token
    type: nats
    urls: [%[4]s]
    stream: TOKEN
    token: %[5]s
  - name: nats-token-file
    type: nats
    urls: [%[6]s]
    stream: TOKEN_FILE
    token_file: %[7]s
`, nats.users, canaryNatsPassword, e.path("nats-password"), nats.token, canaryNatsToken, nats.tokenFile, e.path("nats-token"))
}

func (e *secretsEnv) use(keyLine string) {
	e.writeConfig(e.configText(keyLine, e.hookURL, e.davURL, e.nats))
}

// natsClosed are nats URLs on loopback ports nobody listens on.
func natsClosed(t *testing.T) natsURLs {
	t.Helper()
	closed := func() string { return strings.Replace(closedURL(t), "http://", "nats://", 1) }
	return natsURLs{users: closed(), token: closed(), tokenFile: closed()}
}

// run runs a command and checks its output; code < 0 takes any exit code.
func (e *secretsEnv) run(code int, args ...string) result {
	e.t.Helper()
	r := e.workspace.run([]string{"HOOK_TOKEN=" + canaryHookToken}, args...)
	if code >= 0 && r.code != code {
		e.t.Errorf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", args, r.code, code, r.stdout, r.stderr)
	}
	e.check(fmt.Sprint(args), r.stdout+r.stderr)
	return r
}

// check fails the test for any secret, in any of its forms, in text, and
// for any 10 characters of a secret or of a basic auth header, in any case
// (fewer would find the sinks' names in the secrets').
func (e *secretsEnv) check(where, text string) {
	e.t.Helper()
	e.checked++
	for _, line := range strings.Split(text, "\n") {
		if strings.Contains(strings.ToLower(line), "canary") {
			e.t.Errorf("a secret leaked into %s:\n%s", where, line)
			continue
		}
		for name, form := range e.forms {
			if strings.Contains(line, form) {
				e.t.Errorf("secret %s leaked into %s:\n%s", name, where, line)
			}
			if name != form && !strings.HasSuffix(name, " (basic auth)") {
				continue
			}
			for i := 0; i+10 <= len(form); i++ {
				if strings.Contains(strings.ToLower(line), strings.ToLower(form[i:i+10])) {
					e.t.Errorf("%q of secret %s leaked into %s:\n%s", form[i:i+10], name, where, line)
					break
				}
			}
		}
	}
}

func (e *secretsEnv) checkFile(path string) {
	e.t.Helper()
	e.check(path, e.read(path))
}

// secretReceiver is a webhook endpoint that records which secrets it was
// sent and answers what the test sets.
type secretReceiver struct {
	t      *testing.T
	mu     sync.Mutex
	answer int    // for every request; 0 means 204
	refuse string // a contact whose events get 422
	seen   map[string]int
	// echo, when set, makes it answer 400 quoting the Authorization
	// header and the URL it got.
	echo echo
}

func (h *secretReceiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Header.Get("Authorization") == "Bearer "+canaryHookToken {
		h.seen["header"]++
	}
	if r.URL.Path == "/hooks/"+canaryHookURLToken && r.URL.Query().Get("token") == canaryHookQueryToken {
		h.seen["url token"]++
	}
	if r.URL.Path == "/"+canaryHookMakeToken {
		h.seen["first segment token"]++
	}
	if echo := h.echo.get(); echo != nil {
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, echo(r.Header.Get("Authorization"))+"\n"+echo(r.URL.RequestURI()))
		return
	}
	for name, key := range map[string]string{"secret": canaryHookKey, "secret_file": canaryHookKeyFile} {
		mac := hmac.New(sha256.New, []byte(key))
		fmt.Fprintf(mac, "%s.%s.%s", r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), body)
		if r.Header.Get("webhook-signature") == "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
			h.seen[name]++
		}
	}
	var ev struct {
		Data struct{ Contact struct{ ID json.Number } }
	}
	json.Unmarshal(body, &ev)
	switch {
	case h.answer != 0:
		w.WriteHeader(h.answer)
	case h.refuse != "" && ev.Data.Contact.ID.String() == h.refuse:
		w.WriteHeader(http.StatusUnprocessableEntity)
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (h *secretReceiver) set(answer int, refuse string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer, h.refuse = answer, refuse
}

// davGate stands in front of a CardDAV server without authentication and
// lets through only requests with one of the test's credentials.
type davGate struct {
	mu     sync.Mutex
	refuse bool
	seen   map[string]int
	proxy  http.Handler
	// echo, when set, makes it answer every PUT with a 400 quoting the
	// Authorization header.
	echo echo
}

func newDavGate(srv *davtest.Server) *davGate {
	root, _ := url.Parse(srv.Root)
	return &davGate{seen: map[string]int{}, proxy: httputil.NewSingleHostReverseProxy(root)}
}

func (g *davGate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	credentials := map[string]string{
		"Basic " + base64.StdEncoding.EncodeToString([]byte(davUser+":"+canaryDavPassword)):     "password",
		"Basic " + base64.StdEncoding.EncodeToString([]byte(davUser+":"+canaryDavPasswordFile)): "password_file",
		"Bearer " + canaryDavToken:     "bearer_token",
		"Bearer " + canaryDavTokenFile: "bearer_token_file",
	}
	which := credentials[r.Header.Get("Authorization")]
	g.mu.Lock()
	refuse := g.refuse || which == ""
	if !refuse {
		g.seen[which]++
	}
	g.mu.Unlock()
	if refuse {
		w.Header().Set("WWW-Authenticate", `Basic realm="connect"`)
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if echo := g.echo.get(); echo != nil && r.Method == http.MethodPut {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, echo(r.Header.Get("Authorization")))
		return
	}
	r.Header.Del("Authorization")
	g.proxy.ServeHTTP(w, r)
}

func (g *davGate) setRefuse(refuse bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.refuse = refuse
}

// closedURL is an http URL on a loopback port nobody listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// TestSecretsNeverLeak drives every command and endpoint that prints or
// serves something, in success and failure, with every kind of secret in
// the config, and finds none of them (nor their base64, basic-auth or hex
// forms) in any output, metrics, textfile or the state file.
func TestSecretsNeverLeak(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: every command of the real binary, searched for every secret; runs without -short")
	}
	e := newSecretsEnv(t)
	inline, fromFile := "api_key: "+canaryAPIKey, "api_key_file: "+e.path("api-key")
	prom := e.path("connect-sync.prom")

	// Success, with each form of the API key.
	e.use(inline)
	e.run(0, "check")
	e.run(0, "sync")
	e.use(fromFile)
	e.run(0, "check")
	e.api.Edit(e.api.IDs()[0], func(c map[string]any) { c["note"] = "edited" })
	e.run(0, "sync", "--metrics-textfile", prom)
	e.checkFile(prom)
	// Every secret was in use: a test whose secrets went nowhere proves nothing.
	for _, want := range []string{"header", "url token", "first segment token", "secret", "secret_file"} {
		if e.hook.seen[want] == 0 {
			t.Errorf("the webhook receiver never got the %s", want)
		}
	}
	for _, want := range []string{"password", "password_file", "bearer_token", "bearer_token_file"} {
		if e.dav.seen[want] == 0 {
			t.Errorf("the CardDAV server never got the %s", want)
		}
	}
	if rows, err := csv.NewReader(strings.NewReader(e.read(e.path("contacts.csv")))).ReadAll(); err != nil || len(rows) != 7 {
		t.Errorf("the csv file has %d rows after the syncs, want 7 (%v)", len(rows), err)
	}
	// Only the right credentials publish to each nats-server: 6 created, 1 updated.
	for _, stream := range natsStreams {
		if n := len(natstest.Messages(t, natstest.Connect(t, e.natsClients[stream]), stream)); n != 7 {
			t.Errorf("the nats stream %s holds %d events after the syncs, want 7", stream, n)
		}
	}

	// A rejected API key, everywhere it is used.
	e.use("api_key: " + canaryWrongKey)
	e.run(1, "check")
	e.run(1, "sync", "--metrics-textfile", prom)
	e.checkFile(prom)
	csvPath := e.path("import.csv")
	os.WriteFile(csvPath, []byte("email,firstName\nnew@example.com,New\n"), 0o600)
	e.run(1, "import", "--dry-run", csvPath)

	// Sinks that refuse the credentials (the nats sinks' go to servers that
	// take others), then sinks that cannot be reached.
	e.writeConfig(e.configText(inline, e.hookURL, e.davURL, e.natsRefusing))
	e.hook.set(http.StatusUnauthorized, "")
	e.dav.setRefuse(true)
	e.api.Edit(e.api.IDs()[1], func(c map[string]any) { c["note"] = "refused" })
	e.run(1, "check")
	e.run(1, "sync")
	e.run(0, "status")
	e.hook.set(0, "")
	e.dav.setRefuse(false)
	e.writeConfig(e.configText(inline, closedURL(t), closedURL(t), natsClosed(t)))
	e.run(1, "check")
	e.run(1, "sync", "--metrics-textfile", prom)
	e.checkFile(prom)
	e.run(0, "status", "--json")

	// A config error on the line that holds the secret.
	e.use(inline)
	good := e.read(e.config)
	for _, bad := range []struct{ old, new string }{
		{"api_key: " + canaryAPIKey, `api_key: "` + canaryAPIKey},                             // unterminated quote
		{"api_key: " + canaryAPIKey, "api_key: " + canaryAPIKey + ": x"},                      // not a mapping value
		{"api_key: " + canaryAPIKey, "api_key: [" + canaryAPIKey + "]"},                       // not a string
		{"api_key: " + canaryAPIKey, "api_kee: " + canaryAPIKey},                              // unknown key
		{"api_key: " + canaryAPIKey, "api_key: " + canaryAPIKey + "\n  api_key_file: k"},      // both
		{"secret: " + whsec(canaryHookKey), "secret: " + canaryHookKey},                       // no whsec_ prefix
		{"secret: " + whsec(canaryHookKey), "secret: whsec_" + canaryHookKey + "!"},           // not base64
		{"secret: " + whsec(canaryHookKey), "secret: " + whsec(canaryHookKey[:20])},           // too short
		{"Authorization: Bearer", "Content-Type: Bearer"},                                     // reserved header
		{"Authorization: Bearer ${HOOK_TOKEN}", "Authorization: \"Bearer ${HOOK_TOKEN}\\n\""}, // two lines
		{"api_key: " + canaryAPIKey, "api_key: {" + canaryAPIKey + ": x}"},                    // its keys are the secret
		{"Authorization: Bearer ${HOOK_TOKEN}", `Authorization: {"token": "${HOOK_TOKEN}"}`},
		{"password: " + canaryDavPassword, "password: {" + canaryDavPassword + "}"},
		{"username: alice\n    password: " + canaryDavPassword, "password: " + canaryDavPassword}, // no username
		{"bearer_token: " + canaryDavToken, "bearer_token: " + canaryDavToken + "\n    password: " + canaryDavPassword},
		{e.davURL + "/user/contacts/token/", strings.Replace(e.davURL, "//", "//u:"+canaryDavToken+"@", 1) + "/user/contacts/token/"},
		{e.hookURL + "/hooks/", strings.Replace(e.hookURL, "//", "//u:"+canaryDavToken+"%zz@", 1) + "/hooks/"}, // a bad URL
		{"token: " + canaryNatsToken, "token: [" + canaryNatsToken + "]"},
		{"password: " + canaryNatsPassword, "password: {" + canaryNatsPassword + ": x}"},
		{"user: nats-user\n    password: " + canaryNatsPassword, "password: " + canaryNatsPassword}, // no user
		{"token: " + canaryNatsToken, "token: " + canaryNatsToken + "\n    user: nats-user\n    password: " + canaryNatsPassword},
		{"urls: [" + e.nats.token + "]", "urls: [" + e.natsClients["TOKEN"] + "]"},               // credentials in the URL
		{"api_key: " + canaryAPIKey, "api_key: !!int " + canaryAPIKey},                           // YAML quotes a tagged value whole
		{"headers:\n      Authorization: Bearer ${HOOK_TOKEN}", "headers: Bearer ${HOOK_TOKEN}"}, // and the start of a mistyped one
		{"base_url: " + e.apiURL, "base_url: " + strings.Replace(e.apiURL, "http://", "http://u:"+canaryAPIKey+"@", 1)},
		{"base_url: " + e.apiURL, "base_url: " + strings.Replace(e.apiURL, "http://", "htp://u:"+canaryAPIKey+"@", 1)}, // a mistyped scheme
	} {
		if !strings.Contains(good, bad.old) {
			t.Fatalf("the config has no %q", bad.old)
		}
		e.writeConfig(strings.Replace(good, bad.old, bad.new, 1))
		if r := e.run(2, "sync"); !strings.Contains(r.stderr, "config.yaml:") {
			t.Errorf("a config error without its place:\n%s", r.stderr)
		}
	}
	e.run(2, "check")

	// A dead letter, redelivered.
	e.writeConfig(good)
	refused := e.api.IDs()[2]
	e.hook.set(0, refused)
	e.api.Edit(refused, func(c map[string]any) { c["note"] = "a dead letter" })
	e.run(1, "sync")
	e.run(0, "status")
	if r := e.run(0, "status", "--json"); !strings.Contains(r.stdout, `"dead_letter_list"`) {
		t.Errorf("no dead letter in status:\n%s", r.stdout)
	}
	e.hook.set(0, "")
	e.run(0, "redeliver", "--sink", "hook", "--all")
	e.run(2, "redeliver", "--sink", "nope", "--all")
	e.run(0, "sync")
	e.run(0, "import", "--dry-run", csvPath)

	// Servers that quote the secrets back in their errors: the API (the
	// key it got), the webhook receiver (the Authorization header and the
	// URL, tokens and all) and the CardDAV server (the Authorization
	// header, basic or bearer), each echo in turn.
	for i, echo := range echoes {
		e.apiEcho.set(echo.fn)
		e.run(1, "sync")
		e.apiEcho.set(nil)
		e.hook.echo.set(echo.fn)
		e.dav.echo.set(echo.fn)
		e.api.Edit(e.api.IDs()[i], func(c map[string]any) { c["note"] = "echoed " + echo.name })
		e.run(1, "sync")
		e.hook.echo.set(nil)
		e.dav.echo.set(nil)
		if r := e.run(0, "status"); strings.Count(r.stdout, "[redacted]") < 5 {
			t.Errorf("%s: the echoes were not quoted in status, so the test proves nothing:\n%s", echo.name, r.stdout)
		}
		e.run(0, "status", "--json")
	}
	e.checkFile(e.path("state.db"))

	// The service: its endpoints, status and redeliver through it, a run
	// whose sinks refuse, and a reload with a broken config.
	e.writeConfig(e.configText(inline, e.hookURL, e.davURL, e.natsRefusing))
	addr := e.serviceConfig("run_on_start: true\nschedule: \"@hourly\"\n")
	e.hook.set(http.StatusUnauthorized, "")
	e.dav.setRefuse(true)
	e.api.Edit(refused, func(c map[string]any) { c["note"] = "while the service runs" })
	s := e.startService(addr, "HOOK_TOKEN="+canaryHookToken)
	s.expect("READY=1")
	eventually(t, "the refused run in /status", func() bool {
		_, body := s.get("/status")
		return strings.Contains(body, "401")
	})
	for _, path := range []string{"/metrics", "/status", "/healthz", "/readyz", "/nope"} {
		_, body := s.get(path)
		e.check("GET "+path, body)
	}
	_, body := s.post("/sync")
	e.check("POST /sync", body)
	e.run(0, "status", "--json")
	e.run(0, "redeliver", "--sink", "hook", "--all")
	running := e.read(e.config)
	e.writeConfig(strings.Replace(running, "api_key: "+canaryAPIKey, "api_key: "+canaryAPIKey+": x", 1))
	s.signal(syscall.SIGHUP)
	eventually(t, "the reload error in the log", func() bool {
		return strings.Contains(s.logs.String(), "config reload failed")
	})
	e.writeConfig(strings.Replace(running, "password: "+canaryDavPassword, "password: ["+canaryDavPassword+"]", 1))
	s.signal(syscall.SIGHUP)
	eventually(t, "the second reload error in the log", func() bool {
		return strings.Count(s.logs.String(), "config reload failed") == 2
	})
	s.signal(syscall.SIGTERM)
	if code := s.wait(); code != 0 {
		t.Errorf("the service exited %d after SIGTERM", code)
	}
	e.check("the service's log", s.logs.String())
	e.checkFile(e.path("state.db"))
	t.Logf("%d outputs checked", e.checked)
}

func (e *secretsEnv) read(path string) string {
	e.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(b)
}

// A webhook at a plain URL (/api/webhook?v=1) with a plain header
// (Accept: application/json) gives the workspace no secrets of those
// words: the API's errors keep "api" and "1" in the URLs they name, and
// the receiver's message keeps "webhook", "application/json" and "1".
func TestRedactionKeepsWords(t *testing.T) {
	w := newWorkspace(t, 3)
	receiver := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.WriteHeader(http.StatusBadRequest)
		io.WriteString(rw, "webhook payload must be application/json, v 1")
	}))
	t.Cleanup(receiver.Close)
	config := func(apiURL string) string {
		return fmt.Sprintf(`connect:
  base_url: %s
  api_key: ${TEST_API_KEY}
  max_retries: 0
state:
  path: %s
sinks:
  - name: hook
    type: webhook
    url: %s/api/webhook?v=1
    secret: %s
    headers:
      Accept: application/json
`, apiURL, w.path("state.db"), receiver.URL, whsec(canaryHookKey))
	}
	unreachable := closedURL(t)
	w.writeConfig(config(unreachable))
	r := w.run(nil, "sync")
	if want := `Get "` + unreachable + `/api/connect/contacts`; r.code != 1 || !strings.Contains(r.stderr, want) {
		t.Errorf("exit %d, want 1 and an error naming %s:\n%s", r.code, want, r.stderr)
	}

	srv := httptest.NewServer(w.api)
	t.Cleanup(srv.Close)
	w.writeConfig(config(srv.URL))
	out := w.run(nil, "sync").stderr + w.run(nil, "status").stdout
	if want := "400 Bad Request: webhook payload must be application/json, v 1"; !strings.Contains(out, want) {
		t.Errorf("the receiver's message is not %q:\n%s", want, out)
	}
	if strings.Contains(r.stderr+out, "[redacted]") {
		t.Errorf("a word was redacted:\n%s\n%s", r.stderr, out)
	}
}
