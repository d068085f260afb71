// Package icy produces the wire formats that Icecast/SHOUTcast clients expect:
// ICY in-band metadata blocks, the listener response head, Icecast 2.4's
// /status-json.xsl document and the .m3u/.pls/.xspf playlist files.
//
// Everything here is a pure function over plain data: no networking, no
// clocks, no package state that can change. The per-listener interleaving of
// metadata into the audio lives in interleave.go.
//
// docs/wire-formats.md summarises the formats; Icecast 2.4.4's behaviour
// is the authority wherever clients depend on a detail.
package icy

// Error is the type of this package's sentinel errors. They are constants,
// so no caller can reassign them (no package-level mutable state).
type Error string

func (e Error) Error() string { return string(e) }

const (
	// ErrUnknownCharset is wrapped by ParseCharset for unsupported names.
	ErrUnknownCharset Error = "icy: unknown charset"
	// ErrShortBlock means the buffer ends before the metadata block does.
	ErrShortBlock Error = "icy: metadata block truncated"
	// ErrNoStreamTitle means a non-empty block carries no StreamTitle key.
	ErrNoStreamTitle Error = "icy: metadata block has no StreamTitle"
)
