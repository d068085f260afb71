package config_test

import (
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
)

// TestTrustedProxiesAndPublicURL: trusted_proxies takes addresses and
// networks from the file (an array) or a flag or env (comma-separated);
// public_url takes an http(s) URL with at most a path; both default to
// none, and anything else names what was expected.
func TestTrustedProxiesAndPublicURL(t *testing.T) {
	c := mustLoad(t, nil, nil)
	if len(c.TrustedProxies) != 0 || c.PublicURL != "" {
		t.Errorf("defaults: %v %q, want none", c.TrustedProxies, c.PublicURL)
	}
	file := writeTOML(t, `
trusted_proxies = ["127.0.0.1", "10.1.2.3/8", "::1/128"]
public_url = "https://radio.example.com/fm/"
`)
	c = mustLoad(t, []string{"--config", file}, nil)
	want := []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32"), netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(c.TrustedProxies, want) || c.PublicURL != "https://radio.example.com/fm" {
		t.Errorf("from the file: %v %q", c.TrustedProxies, c.PublicURL)
	}
	c = mustLoad(t, []string{"--trusted-proxies", " 192.0.2.1, 2001:db8::/32,", "--public-url", "http://radio.example.com:8000"}, nil)
	want = []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32"), netip.MustParsePrefix("2001:db8::/32")}
	if !slices.Equal(c.TrustedProxies, want) || c.PublicURL != "http://radio.example.com:8000" {
		t.Errorf("from flags: %v %q", c.TrustedProxies, c.PublicURL)
	}
	c = mustLoad(t, nil, map[string]string{"TRUSTED_PROXIES": "192.0.2.0/24", "PUBLIC_URL": "https://radio.example.com"})
	if !slices.Equal(c.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}) || c.PublicURL != "https://radio.example.com" {
		t.Errorf("from env: %v %q", c.TrustedProxies, c.PublicURL)
	}
	for _, bad := range []struct {
		args []string
		file string
		want string
	}{
		{args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: "expected a list of addresses or CIDR networks"},
		{args: []string{"--trusted-proxies", "localhost"}, want: "expected a list of addresses or CIDR networks"},
		{file: "trusted_proxies = \"127.0.0.1\"\n", want: "expected a list of addresses or CIDR networks"},
		{file: "trusted_proxies = [\"127.0.0.1\", 3]\n", want: "expected a list of addresses or CIDR networks"},
		{args: []string{"--public-url", "radio.example.com"}, want: "expected an http:// or https:// URL with at most a path"},
		{args: []string{"--public-url", "ftp://radio.example.com"}, want: "expected an http:// or https:// URL with at most a path"},
		{args: []string{"--public-url", "https://radio.example.com/?x=1"}, want: "expected an http:// or https:// URL with at most a path"},
		{args: []string{"--public-url", "https://user:pw@radio.example.com"}, want: "expected an http:// or https:// URL with at most a path"},
	} {
		args := bad.args
		if bad.file != "" {
			args = []string{"--config", writeTOML(t, bad.file)}
		}
		if _, err := config.Load(args, nil); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Load(%q %q): %v, want an error saying %q", bad.args, bad.file, err, bad.want)
		}
	}
}
