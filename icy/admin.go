package icy

import (
	"bytes"
	"encoding/xml"
	"slices"
	"strconv"
)

// Icecast's admin answers (/admin/stats, listmounts, listclients and the
// actions) are small XML documents in fixed shapes that admin tools and
// dashboards parse. The writers here produce those shapes: the same
// element names, capitalisation and nesting as Icecast 2.4.

// xmlHead opens every admin document, as Icecast writes it.
const xmlHead = "<?xml version=\"1.0\"?>\n"

// AdminResponse is an action's answer:
// <iceresponse><message>msg</message><return>1</return></iceresponse>,
// with return 0 when ok is false (Icecast sends both with HTTP 200).
func AdminResponse(msg string, ok bool) []byte {
	ret := "0"
	if ok {
		ret = "1"
	}
	var b bytes.Buffer
	b.WriteString(xmlHead + "<iceresponse>")
	element(&b, "message", msg)
	element(&b, "return", ret)
	b.WriteString("</iceresponse>\n")
	return b.Bytes()
}

// AdminError is the HTML page Icecast 2.4 answers a failed admin request
// with (400 "Source does not exist", "Missing parameter", …).
func AdminError(code int, msg string) []byte {
	var b bytes.Buffer
	c := strconv.Itoa(code)
	b.WriteString("<html><head><title>Error " + c + "</title></head><body><b>" + c + " - ")
	xml.EscapeText(&b, []byte(msg)) //nolint:errcheck // a bytes.Buffer does not fail
	b.WriteString("</b></body></html>\r\n")
	return b.Bytes()
}

// Stat is one statistic: an element name and its text.
type Stat struct{ Name, Value string }

// SourceStats are one mount's statistics in /admin/stats.
type SourceStats struct {
	Mount string
	Stats []Stat
}

// AdminStats is /admin/stats: the server's statistics, then one <source>
// per mount. Icecast keeps both levels sorted by name, so the elements
// come out in alphabetical order whatever the order given.
func AdminStats(global []Stat, sources []SourceStats) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHead + "<icestats>")
	stats(&b, global)
	for _, s := range sources {
		openSource(&b, s.Mount)
		stats(&b, s.Stats)
		b.WriteString("</source>")
	}
	b.WriteString("</icestats>\n")
	return b.Bytes()
}

// MountEntry is one mount in /admin/listmounts. Connected and
// ContentType are written only while a source plays (Running).
type MountEntry struct {
	Mount       string
	Fallback    string
	Listeners   int
	Running     bool
	Connected   int64 // seconds the source has been on
	ContentType string
}

// ListMounts is /admin/listmounts.
func ListMounts(mounts []MountEntry) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHead + "<icestats>")
	for _, m := range mounts {
		openSource(&b, m.Mount)
		element(&b, "fallback", m.Fallback)
		element(&b, "listeners", strconv.Itoa(m.Listeners))
		if m.Running {
			element(&b, "Connected", strconv.FormatInt(m.Connected, 10))
			element(&b, "content-type", m.ContentType)
		}
		b.WriteString("</source>")
	}
	b.WriteString("</icestats>\n")
	return b.Bytes()
}

// Client is one listener in /admin/listclients; an empty UserAgent is
// shown as "Unknown", as Icecast does.
type Client struct {
	ID        uint64
	IP        string
	UserAgent string
	Connected int64 // seconds
}

// ListClients is /admin/listclients for one mount.
func ListClients(mount string, clients []Client) []byte {
	var b bytes.Buffer
	b.WriteString(xmlHead + "<icestats>")
	openSource(&b, mount)
	element(&b, "Listeners", strconv.Itoa(len(clients)))
	for _, c := range clients {
		ua := c.UserAgent
		if ua == "" {
			ua = "Unknown"
		}
		b.WriteString("<listener>")
		element(&b, "IP", c.IP)
		element(&b, "UserAgent", ua)
		element(&b, "Connected", strconv.FormatInt(c.Connected, 10))
		element(&b, "ID", strconv.FormatUint(c.ID, 10))
		b.WriteString("</listener>")
	}
	b.WriteString("</source></icestats>\n")
	return b.Bytes()
}

func openSource(b *bytes.Buffer, mount string) {
	b.WriteString(`<source mount="`)
	xml.EscapeText(b, []byte(mount)) //nolint:errcheck // a bytes.Buffer does not fail
	b.WriteString(`">`)
}

func stats(b *bytes.Buffer, list []Stat) {
	list = slices.Clone(list)
	slices.SortStableFunc(list, func(x, y Stat) int {
		switch {
		case x.Name < y.Name:
			return -1
		case x.Name > y.Name:
			return 1
		}
		return 0
	})
	for _, s := range list {
		element(b, s.Name, s.Value)
	}
}

func element(b *bytes.Buffer, name, text string) {
	b.WriteString("<" + name + ">")
	xml.EscapeText(b, []byte(text)) //nolint:errcheck // a bytes.Buffer does not fail
	b.WriteString("</" + name + ">")
}
