package ingest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aposazhennikov/stream-audio-to-web/mount"
)

// okICY is Icecast's answer to a right SHOUTcast password, byte for byte.
const okICY = "OK2\r\nicy-caps:11\r\n\r\n"

// maxICYHeaders bounds the header lines of a SHOUTcast source.
const maxICYHeaders = 64

// ServeShoutcast accepts SHOUTcast v1 source clients on ln (by convention
// the port after the HTTP port, where libshout's ICY mode and BUTT look):
// a password line, then "OK2", icy-* header lines, a blank line, audio.
// The password picks the station among s.Shoutcast. A wrong password, a
// locked-out address, a station in use or libshout's "!POKE" probe get the
// connection closed without a word, as from Icecast. It returns nil once
// ctx ends and every connection it accepted is closed.
func (s *Server) ServeShoutcast(ctx context.Context, ln net.Listener) error {
	s.init()
	var wg sync.WaitGroup
	defer wg.Wait()
	unwatch := context.AfterFunc(ctx, func() { ln.Close() })
	defer unwatch()
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors or memory: wait and retry, as net/http does.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("SHOUTcast port cannot accept connections, retrying", "error", err.Error())
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(backoff):
			}
			continue
		}
		backoff = 0
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveICY(ctx, c)
		}()
	}
}

// serveICY runs one SHOUTcast source connection to its end.
func (s *Server) serveICY(ctx context.Context, c net.Conn) {
	defer c.Close()
	defer s.recoverConn(c)
	unwatch := context.AfterFunc(ctx, func() { c.Close() })
	defer unwatch()
	remote := c.RemoteAddr().String()
	addr := hostOf(remote)
	c.SetReadDeadline(time.Now().Add(s.header))
	br := bufio.NewReaderSize(c, 4096)
	pass, err := readLine(br)
	if err != nil {
		return
	}
	if strings.HasPrefix(pass, "!POKE") {
		// libshout's probe for a server that answers anything: it must fail.
		s.log.Debug("SHOUTcast probe refused", "remote", addr)
		return
	}
	now := s.now()
	if s.fails.LockedFor(addr, now) > 0 {
		s.log.Warn("SHOUTcast source refused: address locked out after wrong passwords", "remote", addr)
		return
	}
	m := s.shoutcastMount(pass)
	if m == nil || !m.takesSources() {
		s.fails.Fail(addr, now)
		s.log.Warn("SHOUTcast source refused: wrong password", "remote", addr)
		return
	}
	s.fails.Forget(addr)
	if m.sink().Status().OnAir {
		s.log.Info("SHOUTcast source refused: mountpoint in use", "route", m.Route, "remote", addr)
		return
	}
	writeAll(c, []byte(okICY))
	info := mount.StreamInfo{ContentType: "audio/mpeg", RemoteAddr: remote}
	br2 := 0
	for range maxICYHeaders + 1 {
		line, err := readLine(br)
		if err != nil {
			return
		}
		if line == "" {
			break
		}
		key, val, _ := strings.Cut(line, ":")
		val = text(bytes.TrimSpace([]byte(val)))
		switch strings.ToLower(strings.TrimSpace(key)) {
		case "icy-name":
			info.Name = val
		case "icy-genre":
			info.Genre = val
		case "icy-url":
			info.URL = val
		case "icy-description":
			info.Description = val
		case "icy-pub":
			info.Public = atoi(val) != 0
		case "icy-br":
			br2 = atoi(val)
		case "user-agent":
			info.UserAgent = val
		case "content-type":
			if !isMP3(val) {
				s.log.Info("SHOUTcast source refused: content type not supported", "route", m.Route, "remote", addr, "content_type", val)
				return
			}
		}
	}
	if br2 > 0 {
		info.AudioInfo = "bitrate=" + strconv.Itoa(br2)
	}
	c.SetReadDeadline(time.Time{})
	s.stream(ctx, c, br, m, info, 0, nil)
}

// readLine reads one line ending in "\n", "\r\n" or "\r\r\n" (all seen
// from SHOUTcast clients) without its ending. A line longer than the
// reader's buffer is an error: nobody's password or header is that long.
func readLine(br *bufio.Reader) (string, error) {
	b, err := br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return "", err
	}
	return string(bytes.TrimRight(b, "\r\n")), nil
}
