package config

import (
	"fmt"
	"strconv"
	"strings"
)

// Error is a configuration failure. Its message is one line that says which
// setting, from where, and what would have been accepted, e.g.
//
//	config: port: "abc" from env PORT: expected an integer 1..65535
//	config: stream_mode: "party" from /etc/as.toml:7: expected radio or individual
//	config: unknown key "colour" in /etc/as.toml:3
//	config: DIRECTORY_ROUTES from env: invalid JSON: ...
type Error struct {
	Key      string // as the source spells it: "port", "station.mode", "DIRECTORY_ROUTES", "--directory-routes"; "" for the whole file or command line
	Source   string // "env PORT", "flag --port", a file path, "env", "flag" or "command line"
	Value    string // the rejected value as given, quoted when Expected is set
	Expected string // what would have been accepted, e.g. "an integer 1..65535"
	Line     int    // 1-based line in the TOML file; 0 when unknown or not a file
	Reason   string // what went wrong when no value was rejected, e.g. "invalid JSON: ..."
	Err      error  // the underlying error, for errors.Is and errors.As
}

// reasonUnknownKey marks an Error for a key the file schema does not have.
const reasonUnknownKey = "unknown key"

func (e *Error) Error() string {
	loc := e.Source
	if e.Line > 0 {
		loc += ":" + strconv.Itoa(e.Line)
	}
	if e.Reason == reasonUnknownKey {
		return fmt.Sprintf("config: unknown key %q in %s", e.Key, loc)
	}
	var b strings.Builder
	b.WriteString("config: ")
	if e.Key != "" {
		b.WriteString(e.Key)
		if e.Value != "" || e.Expected != "" {
			fmt.Fprintf(&b, ": %q", e.Value)
		}
		if loc != "" {
			b.WriteString(" from ")
		}
	}
	b.WriteString(loc)
	if e.Expected != "" {
		b.WriteString(": expected " + e.Expected)
	} else if e.Reason != "" {
		b.WriteString(": " + e.Reason)
	}
	// One line, always: parser messages may quote a raw newline.
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(b.String())
}

func (e *Error) Unwrap() error { return e.Err }

// errAt builds an Error for a rejected value at l.
func errAt(key, value, expected string, l loc) *Error {
	return &Error{Key: key, Value: value, Expected: expected, Source: l.source, Line: l.line}
}
