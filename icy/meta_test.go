package icy

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// checkBlock asserts the wire layout of a block and returns its text.
func checkBlock(t testing.TB, b []byte) string {
	t.Helper()
	if len(b) < 17 {
		t.Fatalf("block too short: %q", b)
	}
	l := int(b[0])
	if l == 0 || len(b) != 1+16*l || len(b) > MaxBlockLen {
		t.Fatalf("length byte %d does not match block of %d bytes", l, len(b))
	}
	end := bytes.IndexByte(b[1:], 0)
	if end < 0 {
		t.Fatalf("no NUL terminator in block %q", b)
	}
	if pad := b[1+end:]; len(pad) > 16 || len(bytes.Trim(pad, "\x00")) != 0 {
		t.Fatalf("padding %q is not 1..16 NULs", pad)
	}
	text := string(b[1 : 1+end])
	if !strings.HasPrefix(text, titlePrefix) || !strings.HasSuffix(text, titleSuffix) {
		t.Fatalf("text %q is not StreamTitle='…';", text)
	}
	return text[len(titlePrefix) : len(text)-len(titleSuffix)]
}

func TestMetaBlock(t *testing.T) {
	tests := []struct {
		name  string
		title string
		cs    Charset
		want  string // encoded title between the quotes
		rows  int    // 0: do not check
	}{
		{"empty is Icecast's initial block", "", UTF8, "", 1},
		{"text 16 bytes gets a NUL row", "a", UTF8, "a", 2},
		{"text 31 bytes", strings.Repeat("b", 16), UTF8, strings.Repeat("b", 16), 2},
		{"text 32 bytes, exact multiple", strings.Repeat("c", 17), UTF8, strings.Repeat("c", 17), 3},
		{"accented Latin", "Björk - Jóga", UTF8, "Björk - Jóga", 2},
		{"cyrillic", "Кино - Группа крови", UTF8, "Кино - Группа крови", 0},
		{"cjk", "坂本龍一 - 戦場のメリークリスマス", UTF8, "坂本龍一 - 戦場のメリークリスマス", 0},
		{"emoji with ZWJ", "🎸 Rock 👩‍🎤", UTF8, "🎸 Rock 👩‍🎤", 0},
		{"apostrophes and quotes survive", `O'Brien & Sons - Don't "Stop"`, UTF8, `O'Brien & Sons - Don't "Stop"`, 0},
		{"trailing apostrophe survives", "Rock 'n' Roll'", UTF8, "Rock 'n' Roll'", 0},
		{"embedded '; is broken", "A';B", UTF8, "A’;B", 0},
		{"two '; in a row", "'';';", UTF8, "'’;’;", 0},
		{"leading ; after the opening quote", ";x", UTF8, " ;x", 0},
		{"'; formed by stripping a control", "a'\n;b", UTF8, "a’;b", 0},
		{"control bytes stripped", "A\x00B\tC\r\nD\x7fE\u0085F\uFEFF", UTF8, "ABCDEF", 0},
		{"invalid UTF-8 replaced", "\xffA\xc3", UTF8, "\uFFFDA\uFFFD", 0},
		{"latin1 transliterates the brief's example", "Весёлые Ребята", Latin1, "Vesyolye Rebyata", 0},
		{"latin1 all-caps digraphs", "ЩУКА Щука ПОЮЩ Жук", Latin1, "SHCHUKA Shchuka POYUSHCH Zhuk", 0},
		{"latin1 ukrainian, signs dropped", "Україна Мальва Подъезд", Latin1, "Ukrayina Malva Podezd", 0},
		{"latin1 keeps ISO-8859-1 letters as one byte", "Björk - Jóga ½", Latin1, "Bj\xf6rk - J\xf3ga \xbd", 0},
		{"latin1 punctuation look-alikes", "Don’t – Stop… №1 €5", Latin1, "Don't - Stop... No.1 EUR5", 0},
		{"latin1 unknown runes become ?", "坂本 🎸 Ωx", Latin1, "?? ? ?x", 0},
		{"latin1 breaks '; with an acute accent", "A’;B", Latin1, "A\xb4;B", 0},
		{"latin1 invalid UTF-8", "\xffA", Latin1, "?A", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := MetaBlock(tt.title, tt.cs)
			if got := checkBlock(t, b); got != tt.want {
				t.Errorf("title %q: got %q, want %q", tt.title, got, tt.want)
			}
			if tt.rows != 0 && int(b[0]) != tt.rows {
				t.Errorf("length byte %d, want %d", b[0], tt.rows)
			}
		})
	}
}

func TestMetaBlockInitialIsIcecasts(t *testing.T) {
	want := "\x01StreamTitle='';\x00"
	if got := string(MetaBlock("", Latin1)); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestMetaBlockTruncation(t *testing.T) {
	tests := []struct {
		name      string
		title     string
		cs        Charset
		wantBytes int
		wantEnd   string
	}{
		{"ascii", strings.Repeat("a", 5000), UTF8, MaxTitleBytes, "a"},
		{"2-byte runes", strings.Repeat("ж", 3000), UTF8, MaxTitleBytes, "ж"},
		// 1 + 4*1015 = 4061; one more emoji would need 4065 > 4064.
		{"4-byte runes never split", "a" + strings.Repeat("🎸", 2000), UTF8, 4061, "🎸"},
		// The apostrophe fits but its '’;' replacement does not: it stays a
		// plain apostrophe and the ';' is dropped.
		{"'; at the limit", strings.Repeat("a", MaxTitleBytes-1) + "';", UTF8, MaxTitleBytes, "a'"},
		{"latin1 digraphs", strings.Repeat("щ", 2000), Latin1, MaxTitleBytes, "shch"},
		{"latin1 digraph does not split", "a" + strings.Repeat("щ", 2000), Latin1, 4061, "shch"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := MetaBlock(tt.title, tt.cs)
			got := checkBlock(t, b)
			if len(got) != tt.wantBytes {
				t.Errorf("kept %d bytes, want %d", len(got), tt.wantBytes)
			}
			if !strings.HasSuffix(got, tt.wantEnd) {
				t.Errorf("ends with %q, want suffix %q", got[max(0, len(got)-8):], tt.wantEnd)
			}
			if tt.cs == UTF8 && !utf8.ValidString(got) {
				t.Error("truncated title is not valid UTF-8")
			}
			if b[0] != 255 && tt.wantBytes >= MaxTitleBytes {
				t.Errorf("length byte %d, want 255", b[0])
			}
		})
	}
}

func TestAppendMetaBlockMatchesAndKeepsPrefix(t *testing.T) {
	dst := append(make([]byte, 0, 8+MaxBlockLen), "audio!"...)
	out := AppendMetaBlock(dst, "Кино", UTF8)
	if string(out[:6]) != "audio!" {
		t.Fatalf("prefix overwritten: %q", out[:6])
	}
	if want := MetaBlock("Кино", UTF8); !bytes.Equal(out[6:], want) {
		t.Fatalf("AppendMetaBlock %q != MetaBlock %q", out[6:], want)
	}
}

func TestMetaBlockAllocs(t *testing.T) {
	title := "Весёлые Ребята - Бродячие артисты ' O'Brien';"
	if n := testing.AllocsPerRun(100, func() { _ = MetaBlock(title, Latin1) }); n != 1 {
		t.Errorf("MetaBlock: %v allocs, want exactly 1", n)
	}
	buf := make([]byte, 0, MaxBlockLen)
	if n := testing.AllocsPerRun(100, func() { buf = AppendMetaBlock(buf[:0], title, UTF8) }); n != 0 {
		t.Errorf("AppendMetaBlock with capacity: %v allocs, want 0", n)
	}
}

func TestUnchanged(t *testing.T) {
	u := Unchanged()
	if len(u) != 1 || u[0] != 0 {
		t.Fatalf("Unchanged() = %q, want one NUL byte", u)
	}
	if cap(u) != 1 {
		t.Fatalf("cap %d: append could write into the shared block", cap(u))
	}
	if &Unchanged()[0] != &u[0] {
		t.Error("Unchanged returns a new slice each call; want the shared one")
	}
	_ = append(u, 0xff)
	if Unchanged()[0] != 0 {
		t.Error("append changed the shared block")
	}
	if n := testing.AllocsPerRun(100, func() { _ = Unchanged() }); n != 0 {
		t.Errorf("Unchanged: %v allocs, want 0", n)
	}
	title, n, err := ParseMetaBlock(u)
	if title != "" || n != 1 || err != nil {
		t.Errorf("ParseMetaBlock(Unchanged()) = %q, %d, %v", title, n, err)
	}
}

func TestParseCharset(t *testing.T) {
	for in, want := range map[string]Charset{
		"utf-8": UTF8, "UTF8": UTF8, " utf-8 ": UTF8, //nolint:gocritic // the spaces are the case under test
		"latin1": Latin1, "ISO-8859-1": Latin1, "ISO8859-1": Latin1, "Latin-1": Latin1,
	} {
		got, err := ParseCharset(in)
		if err != nil || got != want {
			t.Errorf("ParseCharset(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "cp1251", "utf-16", "ascii"} {
		if _, err := ParseCharset(in); !errors.Is(err, ErrUnknownCharset) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseCharset(%q) error = %v, want ErrUnknownCharset naming the input", in, err)
		}
	}
	if UTF8.String() != "utf-8" || Latin1.String() != "latin1" {
		t.Errorf("String: %q %q", UTF8, Latin1)
	}
	var zero Charset
	if zero != UTF8 {
		t.Error("zero Charset must be UTF8")
	}
}

func TestParseMetaBlockRoundTrip(t *testing.T) {
	for _, title := range []string{
		"", "a", strings.Repeat("x", 17), "Guns N' Roses - Don't Cry", "x'", "'", "''",
		"Кино - Группа крови", "坂本龍一", "🎸👩‍🎤", `O'Brien & Sons - Don't "Stop"`,
		"semi;colon", "=' tricky '=", strings.Repeat("ж", 3000),
	} {
		got, n, err := ParseMetaBlock(MetaBlock(title, UTF8))
		if err != nil {
			t.Fatalf("%q: %v", title, err)
		}
		want := title
		if len(want) > MaxTitleBytes {
			want = want[:MaxTitleBytes]
		}
		if got != want {
			t.Errorf("round trip %q: got %q", want, got)
		}
		if n != 1+16*int(MetaBlock(title, UTF8)[0]) {
			t.Errorf("%q: n = %d", title, n)
		}
	}
	// Latin-1 bytes come back as UTF-8.
	if got, _, err := ParseMetaBlock(MetaBlock("Björk ½ Весна", Latin1)); err != nil || got != "Björk ½ Vesna" {
		t.Errorf("latin1 round trip: %q, %v", got, err)
	}
}

// block builds a raw block around text, as another server would send it.
func block(text string) []byte {
	rows := (len(text) + 15) / 16
	b := make([]byte, 1+rows*16)
	b[0] = byte(rows)
	copy(b[1:], text)
	return b
}

func TestParseMetaBlock(t *testing.T) {
	tests := []struct {
		name    string
		in      []byte
		want    string
		wantN   int
		wantErr error
	}{
		{"no NUL row (exact multiple)", block("StreamTitle='Artist - Song 1';"), "Artist - Song 1", 33, nil},
		{"StreamUrl first", block("StreamUrl='http://x/';StreamTitle='T';"), "T", 49, nil},
		{"StreamUrl after", block("StreamTitle='T';StreamUrl='http://x/?StreamTitle=x';"), "T", 65, nil},
		{"key case-insensitive", block("streamtitle='low';"), "low", 33, nil},
		{"unterminated value", block("StreamTitle='abc'"), "abc", 33, nil},
		{"latin-1 bytes decoded", block("StreamTitle='Bj\xf6rk';"), "Björk", 33, nil},
		{"stops at first ';", block("StreamTitle='a';b';"), "a", 33, nil},
		{"only StreamUrl", block("StreamUrl='http://x/';"), "", 33, ErrNoStreamTitle},
		{"garbage", block("hello"), "", 17, ErrNoStreamTitle},
		{"empty input", nil, "", 0, ErrShortBlock},
		{"truncated", []byte{2, 'S', 't'}, "", 0, ErrShortBlock},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, n, err := ParseMetaBlock(tt.in)
			if got != tt.want || n != tt.wantN || !errors.Is(err, tt.wantErr) {
				t.Errorf("got %q, %d, %v; want %q, %d, %v", got, n, err, tt.want, tt.wantN, tt.wantErr)
			}
		})
	}
}

func TestParseMetaBlockStream(t *testing.T) {
	var s []byte
	s = append(s, MetaBlock("one", UTF8)...)
	s = append(s, Unchanged()...)
	s = append(s, MetaBlock("two", UTF8)...)
	var got []string
	for len(s) > 0 {
		title, n, err := ParseMetaBlock(s)
		if err != nil {
			t.Fatal(err)
		}
		if n > 1 {
			got = append(got, title)
		}
		s = s[n:]
	}
	if strings.Join(got, ",") != "one,two" {
		t.Fatalf("got %q", got)
	}
}

// plainTitle reports whether MetaBlock must keep title byte for byte.
func plainTitle(title string) bool {
	if !utf8.ValidString(title) || len(title) > MaxTitleBytes ||
		strings.Contains(title, "';") || strings.HasPrefix(title, ";") {
		return false
	}
	for _, r := range title {
		if isControl(r) || r == '\uFEFF' {
			return false
		}
	}
	return true
}

func FuzzMetaBlock(f *testing.F) {
	for _, s := range []string{"", "a", "O'Brien';x", "Весёлые Ребята", "\x00\xff;'"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, title string) {
		for _, cs := range []Charset{UTF8, Latin1} {
			b := MetaBlock(title, cs)
			l := int(b[0])
			if l < 1 || len(b) != 1+16*l || len(b) > MaxBlockLen || b[len(b)-1] != 0 {
				t.Fatalf("%v: bad block layout: L=%d len=%d", cs, l, len(b))
			}
			got, n, err := ParseMetaBlock(b)
			if err != nil || n != len(b) {
				t.Fatalf("%v: ParseMetaBlock = %q, %d, %v", cs, got, n, err)
			}
			if !utf8.ValidString(got) {
				t.Fatalf("%v: parsed title %q is not valid UTF-8", cs, got)
			}
			for _, r := range got {
				if isControl(r) {
					t.Fatalf("%v: control %U survived in %q", cs, r, got)
				}
			}
			if cs == UTF8 && plainTitle(title) && got != title {
				t.Fatalf("plain title changed: %q -> %q", title, got)
			}
		}
	})
}

func BenchmarkMetaBlock(b *testing.B) {
	title := "Кино - Группа крови (O'Brien remix) 🎸"
	b.ReportAllocs()
	for b.Loop() {
		_ = MetaBlock(title, UTF8)
	}
}

func BenchmarkAppendMetaBlockLatin1(b *testing.B) {
	title := "Весёлые Ребята - Бродячие артисты"
	buf := make([]byte, 0, MaxBlockLen)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendMetaBlock(buf[:0], title, Latin1)
	}
}

func TestCharsetTextRoundTrip(t *testing.T) {
	for _, c := range []Charset{UTF8, Latin1} {
		b, err := c.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var back Charset
		if err := back.UnmarshalText(b); err != nil || back != c {
			t.Errorf("%v → %q → %v, %v", c, b, back, err)
		}
	}
	var c Charset
	if err := c.UnmarshalText([]byte("koi8-r")); !errors.Is(err, ErrUnknownCharset) {
		t.Errorf("koi8-r: %v, want ErrUnknownCharset", err)
	}
}
