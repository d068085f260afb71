package auth

import (
	"encoding/base64"
	"net/netip"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("source:pa:ss"))
	for _, c := range []struct {
		header string
		want   Credentials
	}{
		{"", Credentials{}},
		{"Bearer tok", Credentials{Scheme: "Bearer", Secret: "tok"}},
		{"  bearer   tok ", Credentials{Scheme: "bearer", Secret: "tok"}},
		{basic, Credentials{Scheme: "Basic", User: "source", Secret: "pa:ss"}},
		{"Basic !!!", Credentials{Scheme: "Basic"}},
		{"Digest x", Credentials{Scheme: "Digest"}},
	} {
		if got := Parse(c.header); got != c.want {
			t.Errorf("Parse(%q) = %+v, want %+v", c.header, got, c.want)
		}
	}
	if (Credentials{}).Presented() || !(Credentials{Scheme: "Basic"}).Presented() {
		t.Error("Presented: only a header with a scheme or secret is a guess")
	}
}

func TestEqual(t *testing.T) {
	if !Equal("s3cret", "s3cret") || Equal("s3cret", "s3cre") || Equal("", "") {
		t.Error("Equal: exact match only, and an empty expected secret matches nothing")
	}
}

func TestFailuresLockOutAndExpire(t *testing.T) {
	var f Failures
	now := time.Unix(1_000_000, 0)
	for range FailLimit - 1 {
		f.Fail("192.0.2.1", now)
	}
	if d := f.LockedFor("192.0.2.1", now); d != 0 {
		t.Fatalf("locked after %d failures: %v", FailLimit-1, d)
	}
	f.Fail("192.0.2.1", now)
	if d := f.LockedFor("192.0.2.1", now.Add(10*time.Second)); d != FailWindow-10*time.Second {
		t.Fatalf("LockedFor = %v, want %v", d, FailWindow-10*time.Second)
	}
	if d := f.LockedFor("192.0.2.2", now); d != 0 {
		t.Fatalf("another address is locked: %v", d)
	}
	if d := f.LockedFor("192.0.2.1", now.Add(FailWindow)); d != 0 {
		t.Fatalf("still locked after the window: %v", d)
	}
	f.Forget("192.0.2.1")
	if d := f.LockedFor("192.0.2.1", now); d != 0 {
		t.Fatalf("locked after Forget: %v", d)
	}
}

func TestFailuresTableIsBounded(t *testing.T) {
	var f Failures
	now := time.Unix(1_000_000, 0)
	for i := range maxAddrs + 10 {
		f.Fail(string(rune(0x1000+i)), now)
	}
	if n := len(f.m); n > maxAddrs {
		t.Fatalf("table holds %d addresses, bound is %d", n, maxAddrs)
	}
}

// A spray of single failures from other addresses cannot unlock an
// address that is locked out, and an IPv6 client is one client per /64.
func TestFailuresSprayAndIPv6(t *testing.T) {
	var f Failures
	now := time.Unix(1_000_000, 0)
	for range FailLimit {
		f.Fail("198.51.100.7", now)
	}
	for i := range maxAddrs + 100 {
		f.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String(), now)
	}
	if f.LockedFor("198.51.100.7", now) == 0 {
		t.Error("a spray of other addresses unlocked a locked-out one")
	}
	for i := range FailLimit {
		f.Fail(netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)}).String(), now)
	}
	if f.LockedFor("2001:db8::ffff", now) == 0 {
		t.Error("five failures from one /64, each from another address, did not lock the /64")
	}
	if f.LockedFor("2001:db8:0:1::1", now) != 0 {
		t.Error("another /64 is locked")
	}
}
