package dashboard

import (
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestDashboardPageIsSelfContained checks what a browser test cannot see
// failing: nothing is fetched from elsewhere, user text never goes
// through markup, and every inline script and style is in the CSP.
func TestDashboardPageIsSelfContained(t *testing.T) {
	p := Render(View{Mode: ModeApp, CSRF: "tok"})
	html := string(p.HTML)
	for _, want := range []string{
		`<meta name="viewport"`, `prefers-color-scheme: dark`, `role="status"`, `aria-live="polite"`, `:focus-visible`,
		`'X-CSRF-Token'`, `data-mode="app"`, `data-csrf="tok"`, `name="csrf" value="tok"`, `action="login"`, `action="logout"`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "http://", "https://", "//cdn", "@import", "url(", "<script src", `rel="stylesheet"`, "{{"} {
		if strings.Contains(html, bad) {
			t.Errorf("page contains %q: it must be self-contained and set user text with textContent", bad)
		}
	}
	for _, tag := range []string{"script", "style"} {
		bodies := regexp.MustCompile(`(?s)<`+tag+`>(.*?)</`+tag+`>`).FindAllStringSubmatch(html, -1)
		if len(bodies) == 0 {
			t.Fatalf("no <%s>", tag)
		}
		for _, b := range bodies {
			sum := sha256.Sum256([]byte(b[1]))
			if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(p.CSP, tag+"-src "+h) {
				t.Errorf("CSP %q lacks the hash of the page's %s", p.CSP, tag)
			}
		}
	}
	for _, want := range []string{"default-src 'none'", "connect-src 'self'", "form-action 'self'", "frame-ancestors 'none'", "base-uri 'none'"} {
		if !strings.Contains(p.CSP, want) {
			t.Errorf("CSP %q lacks %q", p.CSP, want)
		}
	}
}

// TestDashboardRenderEscapes: what the server puts into the page cannot
// break out of its attribute or text.
func TestDashboardRenderEscapes(t *testing.T) {
	p := string(Render(View{Error: `<img src=x onerror=alert(1)>`, CSRF: `"><script>`}).HTML)
	if strings.Contains(p, "<img src=x") || strings.Contains(p, `"><script>`) {
		t.Fatal("rendered values are not escaped")
	}
	if !strings.Contains(p, `data-mode="login"`) {
		t.Error("the zero Mode is not the login form")
	}
	if strings.Contains(string(Render(View{Mode: ModeApp}).HTML), `data-open=""`) || !strings.Contains(string(Render(View{Open: true}).HTML), `data-open=""`) {
		t.Error("data-open does not follow View.Open")
	}
}

func TestSessionsLifecycle(t *testing.T) {
	var s Sessions
	t0 := time.Unix(1_000_000, 0)
	a := s.Create(t0)
	b := s.Create(t0)
	if len(a.ID) != 43 || len(a.CSRF) != 43 || a.ID == b.ID || a.ID == a.CSRF {
		t.Fatalf("ids not 256 random bits each: %+v %+v", a, b)
	}
	got, ok := s.Lookup(a.ID, t0.Add(time.Hour))
	if !ok || got.CSRF != a.CSRF {
		t.Fatalf("Lookup = %+v, %v", got, ok)
	}
	if !got.CheckCSRF(a.CSRF) || got.CheckCSRF(b.CSRF) || got.CheckCSRF("") {
		t.Error("CheckCSRF accepts only the session's own token")
	}
	if _, ok := s.Lookup(a.ID[:42], t0); ok {
		t.Error("a prefix of the id finds the session")
	}
	if _, ok := s.Lookup("", t0); ok {
		t.Error("an empty id finds a session")
	}
	// Used an hour in: idle until an hour + IdleTimeout.
	if _, ok := s.Lookup(a.ID, t0.Add(time.Hour+IdleTimeout-time.Second)); !ok {
		t.Error("a used session expired early")
	}
	if _, ok := s.Lookup(b.ID, t0.Add(IdleTimeout)); ok {
		t.Error("an idle session did not expire")
	}
	if !s.Delete(a.ID) || s.Delete(a.ID) {
		t.Error("Delete: true once, then false")
	}
	if _, ok := s.Lookup(a.ID, t0.Add(2*time.Hour)); ok {
		t.Error("a deleted session is found")
	}
}

func TestSessionsMaxAge(t *testing.T) {
	var s Sessions
	t0 := time.Unix(1_000_000, 0)
	a := s.Create(t0)
	for now := t0; now.Before(t0.Add(MaxAge)); now = now.Add(IdleTimeout / 2) {
		if _, ok := s.Lookup(a.ID, now); !ok {
			t.Fatalf("session in use expired at %v", now.Sub(t0))
		}
	}
	if _, ok := s.Lookup(a.ID, t0.Add(MaxAge)); ok {
		t.Error("a session in use outlived MaxAge")
	}
}

func TestSessionsBounded(t *testing.T) {
	var s Sessions
	t0 := time.Unix(1_000_000, 0)
	first := s.Create(t0)
	second := s.Create(t0.Add(time.Second))
	s.Lookup(first.ID, t0.Add(2*time.Second)) // first is now used more recently than second
	for i := range MaxSessions {
		s.Create(t0.Add(time.Duration(3+i) * time.Second))
		if s.Len() > MaxSessions {
			t.Fatalf("%d sessions held", s.Len())
		}
	}
	if _, ok := s.Lookup(second.ID, t0.Add(time.Hour)); ok {
		t.Error("the least recently used session survived a full store")
	}
	// Expired ones go before any live one is evicted.
	var e Sessions
	old := e.Create(t0)
	live := e.Create(t0.Add(IdleTimeout))
	e.Create(t0.Add(IdleTimeout + time.Second))
	if e.Len() != 2 {
		t.Errorf("expired session kept: %d held", e.Len())
	}
	if _, ok := e.Lookup(live.ID, t0.Add(IdleTimeout+time.Second)); !ok {
		t.Error("a live session was dropped")
	}
	if _, ok := e.Lookup(old.ID, t0.Add(IdleTimeout+time.Second)); ok {
		t.Error("an expired session is found")
	}
}
