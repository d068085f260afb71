package relay

import "io"

// NewDemux lets the end-to-end tests (package relay_test, which may import
// the station builder that imports this package) read ICY streams.
func NewDemux(r io.Reader, metaint int, onTitle func(string)) io.Reader {
	return newDemux(r, metaint, onTitle)
}
