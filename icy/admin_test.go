package icy

import "testing"

func TestAdminDocuments(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"action", string(AdminResponse("Client 5 removed", true)),
			"<?xml version=\"1.0\"?>\n<iceresponse><message>Client 5 removed</message><return>1</return></iceresponse>\n"},
		{"action failed, escaped", string(AdminResponse("Client <5> not found", false)),
			"<?xml version=\"1.0\"?>\n<iceresponse><message>Client &lt;5&gt; not found</message><return>0</return></iceresponse>\n"},
		{"error page", string(AdminError(400, "Source does not exist")),
			"<html><head><title>Error 400</title></head><body><b>400 - Source does not exist</b></body></html>\r\n"},
		{"stats sorted at both levels", string(AdminStats([]Stat{{"sources", "1"}, {"admin", "a@b"}},
			[]SourceStats{{Mount: "/x&y", Stats: []Stat{{"title", "A & B"}, {"listeners", "2"}}}})),
			"<?xml version=\"1.0\"?>\n<icestats><admin>a@b</admin><sources>1</sources><source mount=\"/x&amp;y\"><listeners>2</listeners><title>A &amp; B</title></source></icestats>\n"},
		{"listmounts, one source off", string(ListMounts([]MountEntry{
			{Mount: "/a", Listeners: 3, Running: true, Connected: 42, ContentType: "audio/mpeg"}, {Mount: "/b"}})),
			"<?xml version=\"1.0\"?>\n<icestats><source mount=\"/a\"><fallback></fallback><listeners>3</listeners><Connected>42</Connected><content-type>audio/mpeg</content-type></source>" +
				"<source mount=\"/b\"><fallback></fallback><listeners>0</listeners></source></icestats>\n"},
		{"listclients, a client without user agent", string(ListClients("/a", []Client{{ID: 7, IP: "192.0.2.1", UserAgent: "VLC", Connected: 5}, {ID: 9, IP: "::1"}})),
			"<?xml version=\"1.0\"?>\n<icestats><source mount=\"/a\"><Listeners>2</Listeners>" +
				"<listener><IP>192.0.2.1</IP><UserAgent>VLC</UserAgent><Connected>5</Connected><ID>7</ID></listener>" +
				"<listener><IP>::1</IP><UserAgent>Unknown</UserAgent><Connected>0</Connected><ID>9</ID></listener></source></icestats>\n"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, tt.got, tt.want)
		}
	}
}
