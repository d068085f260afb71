package ingest

import (
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/auth"
	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

const (
	xmlOK       = "<?xml version=\"1.0\"?>\n<iceresponse><message>Metadata update successful</message><return>1</return></iceresponse>\n"
	xmlNoAction = "<?xml version=\"1.0\"?>\n<iceresponse><message>No such action</message><return>0</return></iceresponse>\n"
	xmlNoURL    = "<?xml version=\"1.0\"?>\n<iceresponse><message>Mountpoint will not accept URL updates</message><return>1</return></iceresponse>\n"
)

func html400(msg string) string {
	return "<html><head><title>Error 400</title></head><body><b>400 - " + msg + "</b></body></html>\r\n"
}

// get sends a metadata request with an Authorization header ("" none).
func get(t *testing.T, r *rig, pathQuery, authorization string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("GET", "http://"+r.addr+pathQuery, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

// onAir puts a stream from remote on the fake live source of r's /live.
func onAir(t *testing.T, r *rig, remote string) {
	t.Helper()
	sess, err := r.fake["/live"].Claim(mount.StreamInfo{RemoteAddr: remote})
	if err != nil {
		t.Fatal(err)
	}
	<-r.fake["/live"].claimed
	t.Cleanup(sess.Close)
}

func TestAdminMetadata(t *testing.T) {
	src := basic("source", testPassword)
	admin := basic("admin", testToken)
	cases := []struct {
		name   string
		query  string
		auth   string
		status int
		body   string
		title  string // "" : no title set
	}{
		{"song", "mount=/live&mode=updinfo&song=Artist%20-%20Title", src, 200, xmlOK, "Artist - Title"},
		{"artist and title", "mount=/live&mode=updinfo&artist=A&title=T", src, 200, xmlOK, "A - T"},
		{"song beats artist and title", "mount=/live&mode=updinfo&song=S&artist=A&title=T", src, 200, xmlOK, "S"},
		{"a lone title changes nothing", "mount=/live&mode=updinfo&title=T", src, 200, xmlOK, ""},
		{"a lone artist changes nothing", "mount=/live&mode=updinfo&artist=A", src, 200, xmlOK, ""},
		{"latin1 converted", "mount=/live&mode=updinfo&song=Caf%E9&charset=ISO-8859-1", src, 200, xmlOK, "Café"},
		{"latin1 spelled latin1", "mount=/live&mode=updinfo&song=%E9t%E9&charset=latin1", src, 200, xmlOK, "été"},
		{"utf-8 as given", "mount=/live&mode=updinfo&song=%D0%94%D0%B0", src, 200, xmlOK, "Да"},
		{"invalid utf-8 read as latin1", "mount=/live&mode=updinfo&song=Caf%E9", src, 200, xmlOK, "Café"},
		{"apostrophe passes", "mount=/live&mode=updinfo&song=Rock'n'Roll", src, 200, xmlOK, "Rock'n'Roll"},
		{"admin basic", "mount=/live&mode=updinfo&song=X", admin, 200, xmlOK, "X"},
		{"admin bearer", "mount=/live&mode=updinfo&song=Y", "Bearer " + testToken, 200, xmlOK, "Y"},
		{"other mode", "mount=/live&mode=delete&song=X", src, 200, xmlNoAction, ""},
		{"missing mode", "mount=/live&song=X", src, 400, html400("Missing parameter"), ""},
		{"missing mount", "mode=updinfo&song=X", admin, 400, html400("Missing parameter"), ""},
		{"unknown mount, admin", "mount=/none&mode=updinfo&song=X", admin, 400, html400("Source does not exist"), ""},
		{"unknown mount, source credentials", "mount=/none&mode=updinfo&song=X", src, 401, "You need to authenticate\r\n", ""},
		{"off the air", "mount=/idle&mode=updinfo&song=X", admin, 400, html400("Source is not available"), ""},
		{"no credentials", "mount=/live&mode=updinfo&song=X", "", 401, "You need to authenticate\r\n", ""},
		{"wrong password", "mount=/live&mode=updinfo&song=X", basic("source", "nope"), 401, "You need to authenticate\r\n", ""},
		{"source password, wrong user", "mount=/live&mode=updinfo&song=X", basic("dj", testPassword), 401, "You need to authenticate\r\n", ""},
		{"another station's password", "mount=/idle&mode=updinfo&song=X", src, 401, "You need to authenticate\r\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, liveMount(), &Mount{Route: "/idle", Password: "other-pw"})
			onAir(t, r, "127.0.0.1:40000")
			status, body, h := get(t, r, MetadataPath+"?"+c.query, c.auth)
			if status != c.status || body != c.body {
				t.Errorf("got %d %q, want %d %q", status, body, c.status, c.body)
			}
			switch {
			case status == 200 && h.Get("Content-Type") != "text/xml; charset=utf-8":
				t.Errorf("content type %q", h.Get("Content-Type"))
			case status == 400 && h.Get("Content-Type") != "text/html; charset=utf-8":
				t.Errorf("content type %q", h.Get("Content-Type"))
			case status == 401 && h.Get("WWW-Authenticate") != `Basic realm="Icecast2 Server"`:
				t.Errorf("401 headers %v", h)
			}
			got := r.fake["/live"].Status().Title
			if got != c.title {
				t.Errorf("title %q, want %q", got, c.title)
			}
		})
	}
}

// Like Icecast: source credentials from an address other than the
// source's change nothing ("will not accept URL updates", return 1); the
// admin token still works.
func TestAdminMetadataFromAnotherAddress(t *testing.T) {
	r := newRig(t, liveMount())
	onAir(t, r, "192.0.2.7:5000")
	status, body, _ := get(t, r, MetadataPath+"?mount=/live&mode=updinfo&song=X", basic("source", testPassword))
	if status != 200 || body != xmlNoURL {
		t.Errorf("got %d %q", status, body)
	}
	if title := r.fake["/live"].Status().Title; title != "" {
		t.Errorf("title changed to %q", title)
	}
	status, body, _ = get(t, r, MetadataPath+"?mount=/live&mode=updinfo&song=Y", "Bearer "+testToken)
	if status != 200 || body != xmlOK || r.fake["/live"].Status().Title != "Y" {
		t.Errorf("admin: %d %q", status, body)
	}
}

// Wrong metadata credentials count in the same lockout table as sources.
func TestAdminMetadataLockout(t *testing.T) {
	r := newRig(t, liveMount())
	onAir(t, r, "127.0.0.1:40000")
	for i := range auth.FailLimit {
		if status, _, _ := get(t, r, MetadataPath+"?mount=/live&mode=updinfo&song=X", basic("source", "g"+strconv.Itoa(i))); status != 401 {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	status, _, h := get(t, r, MetadataPath+"?mount=/live&mode=updinfo&song=X", basic("source", testPassword))
	if status != 429 || h.Get("Retry-After") == "" {
		t.Errorf("locked out: %d %v", status, h)
	}
}

func TestShoutcastAdminCGI(t *testing.T) {
	ok := "<html><head><title>Admin request successful</title></head><body><p>Metadata update successful</p></body></html>"
	cases := []struct {
		name   string
		query  string
		status int
		body   string
		title  string
	}{
		{"password picks the station", "mode=updinfo&pass=" + testPassword + "&song=Artist%20-%20Song", 200, ok, "Artist - Song"},
		{"mount given", "mount=/live&mode=updinfo&pass=" + testPassword + "&song=Z", 200, ok, "Z"},
		{"admin token with mount", "mount=/live&mode=updinfo&pass=" + testToken + "&song=Q", 200, ok, "Q"},
		{"latin1 song", "mode=updinfo&pass=" + testPassword + "&song=Caf%E9", 200, ok, "Café"},
		{"wrong password", "mode=updinfo&pass=nope&song=X", 401, "You need to authenticate\r\n", ""},
		{"no pass", "mode=updinfo&song=X", 400, html400("missing pass parameter"), ""},
		{"no song", "mode=updinfo&pass=" + testPassword, 400, html400("Missing parameter"), ""},
		{"other mode", "mode=x&pass=" + testPassword + "&song=X", 400, html400("No such action"), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, liveMount(), &Mount{Route: "/idle", Password: "other-pw"})
			onAir(t, r, "127.0.0.1:40000")
			status, body, _ := get(t, r, ShoutcastMetadataPath+"?"+c.query, "")
			if status != c.status || body != c.body {
				t.Errorf("got %d %q, want %d %q", status, body, c.status, c.body)
			}
			if got := r.fake["/live"].Status().Title; got != c.title {
				t.Errorf("title %q, want %q", got, c.title)
			}
		})
	}
}
