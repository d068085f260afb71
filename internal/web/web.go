// Package web is the /web player page, embedded in the binary: one HTML
// file with its style and script inline, nothing fetched from elsewhere.
package web

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
)

//go:embed index.html
var page []byte

// csp is computed once from the embedded page and never changes.
var csp = policy(page)

// Page returns the player page. Callers must not modify it.
func Page() []byte { return page }

// ContentSecurityPolicy is the Content-Security-Policy header for Page:
// only the page's own inline script and style (by hash) run, and it talks
// to its own server only. Titles are user data; should one ever reach the
// DOM as markup, nothing in it could run.
func ContentSecurityPolicy() string { return csp }

func policy(p []byte) string {
	return "default-src 'none'; script-src " + inlineHashes(p, "script") + "; style-src " + inlineHashes(p, "style") +
		"; connect-src 'self'; media-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
}

// inlineHashes lists the CSP hashes of every <tag>…</tag> body in p.
func inlineHashes(p []byte, tag string) string {
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
