// Package dashboard is the admin page (/admin/), embedded in the binary:
// one HTML file with its style and script inline, nothing fetched from
// elsewhere. The page does everything through the server's JSON API (the
// one scripts use); this package also keeps the login sessions the page
// runs under (session.go).
package dashboard

import (
	_ "embed"
	"html"
	"strings"

	"github.com/aposazhennikov/stream-audio-to-web/internal/web"
)

//go:embed index.html
var page []byte

// Mode is what the page shows.
type Mode string

const (
	// ModeLogin is the login form.
	ModeLogin Mode = "login"
	// ModeApp is the dashboard.
	ModeApp Mode = "app"
)

// View is what the server tells the page.
type View struct {
	Mode Mode // "" = ModeLogin
	// CSRF is the session's token, sent back by the page with every change
	// (and in the logout form); "" when no session is needed (Open).
	CSRF string
	// Open: no admin token is configured, so the page works from this
	// computer (loopback) without a login, and says so.
	Open bool
	// Error is a message for the login form ("" = none).
	Error string
}

// Page is a rendered page and the Content-Security-Policy it must be
// served with.
type Page struct {
	HTML []byte
	// CSP lets only the page's own inline script and style run (by hash),
	// lets it talk to its own server only, post forms only to itself, and
	// be framed by nobody.
	CSP string
}

// Render fills the page with v. The values go into attributes and text,
// escaped; the script and style never change, so neither does the CSP.
func Render(v View) Page {
	mode := v.Mode
	if mode == "" {
		mode = ModeLogin
	}
	open := ""
	if v.Open {
		open = ` data-open=""`
	}
	out := strings.NewReplacer(
		"{{mode}}", html.EscapeString(string(mode)),
		"{{csrf}}", html.EscapeString(v.CSRF),
		"{{open}}", open,
		"{{error}}", html.EscapeString(v.Error),
	).Replace(string(page))
	return Page{
		HTML: []byte(out),
		CSP: "default-src 'none'; script-src " + web.InlineHashes(page, "script") + "; style-src " + web.InlineHashes(page, "style") +
			"; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
	}
}
