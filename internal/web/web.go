// Package web is the listener page (/web, and /embed for other sites),
// embedded in the binary: one HTML file with its style and script inline,
// nothing fetched from elsewhere.
package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

//go:embed index.html
var page []byte

// Branding is what the page says about the server. The zero value is a
// finished page named "audio-streamer" in the built-in orange.
type Branding struct {
	Name        string // heading and window title; "" = "audio-streamer"
	Description string // a line under the name; "" = none
	// Accent is the colour of buttons and highlights, "#rrggbb" ("" or
	// anything else = the built-in orange); dark mode lightens it.
	Accent string
	// Logo is the logo's URL path from the server root ("/art/<hash>");
	// "" = none.
	Logo string
	// HideListeners leaves listener counts off the page.
	HideListeners bool
}

// Page is the rendered page and the headers it must be served with.
type Page struct {
	HTML []byte
	// CSP is the Content-Security-Policy of /web: only the page's own
	// inline script and style (by hash) run, it talks to its own server
	// only, and no other site may frame it. Titles are user data; should
	// one ever reach the DOM as markup, nothing in it could run.
	CSP string
	// EmbedCSP is the same policy for /embed, which any site may frame.
	EmbedCSP string
}

const defaultAccent = "#c2410c"

// Render fills the page with b; the result never changes, so callers
// render once per branding.
func Render(b Branding) Page {
	name := b.Name
	if name == "" {
		name = "audio-streamer"
	}
	accent := defaultAccent
	if validColor(b.Accent) {
		accent = b.Accent
	}
	attrs := ` data-name="` + html.EscapeString(name) + `"`
	if b.Logo != "" {
		attrs += ` data-logo="` + html.EscapeString(b.Logo) + `"`
	}
	if b.HideListeners {
		attrs += ` data-hide-listeners=""`
	}
	// The accent goes into a style of its own, so the main style's hash
	// stays the same whatever the colour.
	brand := fmt.Sprintf("<style>:root { --brand: %s; --on-brand: %s; }</style>", accent, onColor(accent))
	out := strings.NewReplacer(
		"{{name}}", html.EscapeString(name),
		"{{description}}", html.EscapeString(b.Description),
		"{{theme}}", accent,
		"{{attrs}}", attrs,
		"{{brand}}", brand,
	).Replace(string(page))
	base := policy([]byte(out))
	return Page{
		HTML:     []byte(out),
		CSP:      base + "; frame-ancestors 'none'",
		EmbedCSP: base + "; frame-ancestors *",
	}
}

func policy(p []byte) string {
	return "default-src 'none'; script-src " + InlineHashes(p, "script") + "; style-src " + InlineHashes(p, "style") +
		"; connect-src 'self'; media-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
}

// validColor reports whether c is "#rrggbb".
func validColor(c string) bool {
	if len(c) != 7 || c[0] != '#' {
		return false
	}
	_, err := strconv.ParseUint(c[1:], 16, 32)
	return err == nil
}

// onColor is the text colour readable on c: white, or near black on a
// light colour (by WCAG relative luminance).
func onColor(c string) string {
	v, _ := strconv.ParseUint(c[1:], 16, 32)
	lin := func(x uint64) float64 {
		f := float64(x) / 255
		if f <= 0.04045 {
			return f / 12.92
		}
		return math.Pow((f+0.055)/1.055, 2.4)
	}
	l := 0.2126*lin(v>>16&255) + 0.7152*lin(v>>8&255) + 0.0722*lin(v&255)
	// White wins while its contrast (1.05/(l+.05)) beats that of #111
	// (luminance 0.0056).
	if 1.05/(l+0.05) >= (l+0.05)/0.0556 {
		return "#fff"
	}
	return "#111"
}

// InlineHashes lists the CSP hashes ('sha256-…') of every <tag>…</tag>
// body in page p, so its inline scripts and styles run under a
// Content-Security-Policy without 'unsafe-inline'; "'none'" when there is
// none. The listener page and the admin page both use it.
func InlineHashes(p []byte, tag string) string {
	open, end := []byte("<"+tag+">"), []byte("</"+tag+">")
	var out []byte
	for {
		i := bytes.Index(p, open)
		if i < 0 {
			break
		}
		p = p[i+len(open):]
		j := bytes.Index(p, end)
		if j < 0 {
			break
		}
		sum := sha256.Sum256(p[:j])
		if out != nil {
			out = append(out, ' ')
		}
		out = append(out, "'sha256-"...)
		out = base64.StdEncoding.AppendEncode(out, sum[:])
		out = append(out, '\'')
		p = p[j+len(end):]
	}
	if out == nil {
		return "'none'"
	}
	return string(out)
}
