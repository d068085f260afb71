// Package web is the /web player page, embedded in the binary.
package web

import _ "embed"

//go:embed index.html
var page []byte

// Page returns the player page. Callers must not modify it.
func Page() []byte { return page }
