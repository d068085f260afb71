package main

// Static checks of the deployment files (no Docker engine or systemd runs
// in tests): the Dockerfile, docker-compose.yml, .dockerignore and the
// systemd unit must agree with what the config package really reads.

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// seedArgs are the seed Dockerfile's settings and its defaults
// (shared/docs/seed-api.md §4.1).
func seedArgs() map[string]string {
	return map[string]string{
		"AUDIO_STREAM_ROUTES": "/,/humor,/science",
		"DIRECTORY_ROUTES":    `{"humor":"/app/humor","science":"/app/science"}`,
		"STREAM_MODE":         "radio",
		"BUFFER_SIZE":         "2097152",
		"MAX_PRELOAD_TRACKS":  "2",
	}
}

// dockerInstr is one Dockerfile instruction with continuation lines joined.
type dockerInstr struct {
	cmd   string // upper case: FROM, RUN, ENV...
	args  string
	line  int
	stage int // 0-based index of the FROM it belongs to
}

func readDockerfile(t *testing.T) []dockerInstr {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var out []dockerInstr
	stage := -1
	var cur strings.Builder
	start := 0
	for i, line := range strings.Split(string(raw), "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue // comments may sit inside a continued instruction too
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		if body, ok := strings.CutSuffix(trimmed, `\`); ok {
			cur.WriteString(body + " ")
			continue
		}
		cur.WriteString(trimmed)
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		cmd = strings.ToUpper(cmd)
		if cmd == "FROM" {
			stage++
		}
		out = append(out, dockerInstr{cmd: cmd, args: strings.TrimSpace(args), line: start, stage: stage})
		cur.Reset()
	}
	if cur.Len() > 0 {
		t.Fatalf("Dockerfile ends inside a continued line")
	}
	return out
}

func instrs(all []dockerInstr, cmd string, stage int) []dockerInstr {
	var out []dockerInstr
	for _, in := range all {
		if in.cmd == cmd && in.stage == stage {
			out = append(out, in)
		}
	}
	return out
}

// shellWords splits s like the Dockerfile (and a POSIX shell) does: quotes
// group and are removed, $NAME / ${NAME} / ${NAME:-default} expand from
// vars except inside single quotes.
func shellWords(t *testing.T, s string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	expand := func(i int) int { // s[i] == '$'; returns the index after the reference
		if i+1 < len(s) && s[i+1] == '{' {
			end := strings.IndexByte(s[i:], '}')
			if end < 0 {
				t.Fatalf("unclosed ${ in %q", s)
			}
			ref := s[i+2 : i+end]
			name, def, hasDef := strings.Cut(ref, ":-")
			if v, ok := vars[name]; ok && (v != "" || !hasDef) {
				w.WriteString(v)
			} else {
				w.WriteString(def)
			}
			return i + end + 1
		}
		j := i + 1
		for j < len(s) && (s[j] == '_' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= '0' && s[j] <= '9') {
			j++
		}
		if j == i+1 {
			w.WriteByte('$')
			return j
		}
		w.WriteString(vars[s[i+1:j]])
		return j
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
			i++
		case c == '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				t.Fatalf("unclosed ' in %q", s)
			}
			w.WriteString(s[i+1 : i+1+end])
			inWord = true
			i += end + 2
		case c == '"':
			inWord = true
			i++
			for i < len(s) && s[i] != '"' {
				switch {
				case s[i] == '\\' && i+1 < len(s) && strings.IndexByte(`"\$`, s[i+1]) >= 0:
					w.WriteByte(s[i+1])
					i += 2
				case s[i] == '$':
					i = expand(i)
				default:
					w.WriteByte(s[i])
					i++
				}
			}
			if i >= len(s) {
				t.Fatalf(`unclosed " in %q`, s)
			}
			i++
		case c == '\\' && i+1 < len(s):
			w.WriteByte(s[i+1])
			inWord = true
			i += 2
		case c == '$':
			inWord = true
			i = expand(i)
		default:
			w.WriteByte(c)
			inWord = true
			i++
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

// dockerEnv returns the runtime stage's ARG defaults and ENV values (in
// order of appearance), as Docker would set them with the given
// --build-arg values.
func dockerEnv(t *testing.T, all []dockerInstr, stage int, buildArgs map[string]string) (args, env map[string]string, envOrder []string) {
	t.Helper()
	args, env = map[string]string{}, map[string]string{}
	vars := map[string]string{} // what $NAME expands to: effective ARGs, then ENVs
	for _, in := range all {
		if in.stage != stage {
			continue
		}
		switch in.cmd {
		case "ARG":
			for _, w := range shellWords(t, in.args, vars) {
				name, def, _ := strings.Cut(w, "=")
				args[name] = def
				vars[name] = def
				if v, ok := buildArgs[name]; ok {
					vars[name] = v
				}
			}
		case "ENV":
			for _, w := range shellWords(t, in.args, vars) {
				name, val, ok := strings.Cut(w, "=")
				if !ok {
					t.Fatalf("Dockerfile:%d: ENV %q: use the NAME=value form", in.line, w)
				}
				env[name] = val
				envOrder = append(envOrder, name)
			}
			// Docker expands one ENV instruction's words against the
			// values from before it, so vars are updated afterwards.
			for k, v := range env {
				vars[k] = v
			}
		}
	}
	return args, env, envOrder
}

func mapEnv(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// configReads reports whether config.Load reads the environment variable
// name: either some value changes the resulting Config, or a nonsense
// value is refused with an error that names the variable. An unknown
// variable is ignored by Load and so passes neither test.
func configReads(t *testing.T, name string) bool {
	t.Helper()
	base, err := config.Load(nil, mapEnv(nil))
	if err != nil {
		t.Fatal(err)
	}
	probes := []string{"\x01not a valid value\x01", "individual", "json", "debug", "131072", "3", "1", "0",
		"false", "127.0.0.2", "2s", "/tmp/audio-streamer-probe", "probe", `{"probe":"/tmp/probe"}`}
	for _, v := range probes {
		cfg, err := config.Load(nil, mapEnv(map[string]string{name: v}))
		if err != nil {
			if strings.Contains(err.Error(), name) {
				return true
			}
			continue
		}
		if !reflect.DeepEqual(cfg, base) {
			return true
		}
	}
	return false
}

func TestConfigReadsProbe(t *testing.T) {
	// The probe itself must tell known from unknown names.
	for _, name := range []string{"PORT", "DIRECTORY_ROUTES", "SENTRY_DSN", "SHUFFLE"} {
		if !configReads(t, name) {
			t.Errorf("configReads(%s) = false", name)
		}
	}
	for _, name := range []string{"NOT_A_SETTING", "AUDIO_STREAMER_NO_SUCH_SETTING"} {
		if configReads(t, name) {
			t.Errorf("configReads(%s) = true", name)
		}
	}
}

func TestDockerfileBuildStage(t *testing.T) {
	all := readDockerfile(t)
	from := instrs(all, "FROM", 0)
	if len(from) != 1 {
		t.Fatalf("no build stage")
	}
	// The builder's Go matches go.mod's go line (the image sets
	// GOTOOLCHAIN=local, so an older Go cannot build the module).
	mod, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	if m == nil {
		t.Fatal("go.mod has no go line")
	}
	if want := "golang:" + string(m[1]) + "-bookworm AS build"; from[0].args != want {
		t.Errorf("build stage FROM %q, want %q", from[0].args, want)
	}
	var build string
	for _, in := range instrs(all, "RUN", 0) {
		if strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", `-ldflags="-s -w"`, "./cmd/audio-streamer"} {
		if !strings.Contains(build, want) {
			t.Errorf("go build line %q lacks %s", build, want)
		}
	}
}

func TestDockerfileRuntimeStage(t *testing.T) {
	all := readDockerfile(t)
	last := all[len(all)-1].stage
	if last < 1 {
		t.Fatal("Dockerfile has a single stage; want build + runtime")
	}
	if from := instrs(all, "FROM", last); from[0].args != "debian:bookworm-slim" {
		t.Errorf("runtime stage FROM %q, want debian:bookworm-slim", from[0].args)
	}

	var installed []string
	for _, in := range instrs(all, "RUN", last) {
		for cmd := range strings.SplitSeq(in.args, "&&") {
			f := strings.Fields(cmd)
			if len(f) > 2 && f[0] == "apt-get" && f[1] == "install" {
				if !slices.Contains(f, "--no-install-recommends") {
					t.Errorf("Dockerfile:%d: apt-get install without --no-install-recommends", in.line)
				}
				installed = append(installed, f[2:]...)
			}
		}
		if strings.Contains(in.args, "apt-get install") && !strings.Contains(in.args, "rm -rf /var/lib/apt/lists") {
			t.Errorf("Dockerfile:%d: apt lists are not cleaned in the same layer", in.line)
		}
	}
	for _, pkg := range []string{"ffmpeg", "ca-certificates"} {
		if !slices.Contains(installed, pkg) {
			t.Errorf("runtime stage does not install %s (installs %q)", pkg, installed)
		}
	}

	users := instrs(all, "USER", last)
	if len(users) == 0 {
		t.Fatal("no USER: the server would run as root")
	}
	user := users[len(users)-1].args
	if name, _, _ := strings.Cut(user, ":"); name == "" || name == "root" || name == "0" {
		t.Errorf("USER %q is root", user)
	}
	if user != "10001:10001" {
		t.Errorf("USER %q, want 10001:10001", user)
	}

	port := strconv.Itoa(config.Defaults().Port)
	expose := instrs(all, "EXPOSE", last)
	if len(expose) != 1 || expose[0].args != port {
		t.Errorf("EXPOSE %+v, want %s (config.Defaults().Port)", expose, port)
	}

	hc := instrs(all, "HEALTHCHECK", last)
	if len(hc) != 1 {
		t.Fatalf("want one HEALTHCHECK, have %d", len(hc))
	}
	_, cmd, ok := strings.Cut(hc[0].args, "CMD ")
	if !ok {
		t.Fatalf("HEALTHCHECK %q has no CMD", hc[0].args)
	}
	// The port as the shell expands it with PORT unset.
	words := shellWords(t, cmd, nil)
	var url string
	for _, w := range words {
		if strings.HasPrefix(w, "http://") {
			url = w
		}
	}
	if want := "http://127.0.0.1:" + port + "/healthz"; url != want {
		t.Errorf("HEALTHCHECK fetches %q, want %q (from %q)", url, want, cmd)
	}
	if !slices.Contains(installed, words[0]) {
		t.Errorf("HEALTHCHECK runs %s, which the runtime stage does not install", words[0])
	}

	// The entrypoint is the binary the build stage made.
	var dest string
	for _, in := range instrs(all, "COPY", last) {
		if f := strings.Fields(in.args); len(f) == 3 && f[0] == "--from=build" && strings.HasSuffix(f[1], "/audio-streamer") {
			dest = f[2]
		}
	}
	if ep := instrs(all, "ENTRYPOINT", last); dest == "" || len(ep) != 1 || ep[0].args != `["`+dest+`"]` {
		t.Errorf("ENTRYPOINT %+v does not run the copied binary %q", ep, dest)
	}

	// The default station folders exist and belong to the user.
	var runs strings.Builder
	for _, in := range instrs(all, "RUN", last) {
		runs.WriteString(in.args + "\n")
	}
	for _, want := range []string{"/app/audio", "/app/humor", "/app/science", "chown", "10001"} {
		if !strings.Contains(runs.String(), want) {
			t.Errorf("runtime RUN lines never mention %s", want)
		}
	}
}

func TestDockerfileSettings(t *testing.T) {
	all := readDockerfile(t)
	last := all[len(all)-1].stage
	args, env, order := dockerEnv(t, all, last, nil)
	// A --build-arg must reach the environment under the same name.
	overrides := map[string]string{}
	for name := range seedArgs() {
		overrides[name] = "build-arg-" + name
	}
	_, overridden, _ := dockerEnv(t, all, last, overrides)

	for name, def := range seedArgs() {
		got, ok := args[name]
		if !ok {
			t.Errorf("ARG %s is not declared in the runtime stage", name)
			continue
		}
		if got != def {
			t.Errorf("ARG %s default %q, want the seed's %q", name, got, def)
		}
		if env[name] != got || overridden[name] != overrides[name] {
			t.Errorf("ARG %s is not passed to ENV %s (ENV has %q; with --build-arg %q)", name, name, env[name], overridden[name])
		}
	}
	for _, name := range order {
		if !configReads(t, name) {
			t.Errorf("ENV %s is not read by the config package", name)
		}
	}

	// The image's environment, as a whole, is a valid configuration with
	// the three seed stations.
	cfg, err := config.Load(nil, mapEnv(env))
	if err != nil {
		t.Fatalf("the image's ENV is refused: %v", err)
	}
	assertSeedStations(t, cfg)
}

// assertSeedStations checks the three stations of the seed's Docker layout.
func assertSeedStations(t *testing.T, cfg *config.Config) {
	t.Helper()
	got := map[string]string{}
	for _, st := range cfg.Stations {
		got[st.Route] = st.Dir
	}
	want := map[string]string{"/": "/app/audio", "/humor": "/app/humor", "/science": "/app/science"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stations = %v, want %v", got, want)
	}
	if cfg.StreamMode != config.ModeRadio || cfg.BufferSize != 2097152 || cfg.MaxPreloadTracks != 2 {
		t.Errorf("mode %s, buffer %d, preload %d; want the seed's radio, 2097152, 2", cfg.StreamMode, cfg.BufferSize, cfg.MaxPreloadTracks)
	}
}

// composeService is the little of docker-compose.yml the tests read.
type composeService struct {
	env         map[string]string
	envOrder    []string
	ports       []string
	volumes     []string
	healthcheck string
	restart     string
}

// readCompose scans the first service of docker-compose.yml line by line:
// enough YAML for the file we ship, without a YAML dependency.
func readCompose(t *testing.T) composeService {
	t.Helper()
	f, err := os.Open(filepath.Join(testmedia.ModuleRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svc := composeService{env: map[string]string{}}
	section, sectionIndent := "", 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		indent := len(line) - len(strings.TrimLeft(line, " "))
		if section != "" && indent <= sectionIndent {
			section = ""
		}
		key, val, _ := strings.Cut(trimmed, ":")
		val = strings.TrimSpace(val)
		switch {
		case section == "" && val == "" && slices.Contains([]string{"environment", "ports", "volumes", "healthcheck"}, key):
			section, sectionIndent = key, indent
		case section == "" && key == "restart":
			svc.restart = composeValue(t, val)
		case section == "environment" && strings.HasPrefix(trimmed, "- "):
			name, v, _ := strings.Cut(composeValue(t, strings.TrimPrefix(trimmed, "- ")), "=")
			svc.env[name] = v
			svc.envOrder = append(svc.envOrder, name)
		case section == "environment":
			svc.env[key] = composeValue(t, val)
			svc.envOrder = append(svc.envOrder, key)
		case section == "ports" && strings.HasPrefix(trimmed, "- "):
			svc.ports = append(svc.ports, composeValue(t, strings.TrimPrefix(trimmed, "- ")))
		case section == "volumes" && strings.HasPrefix(trimmed, "- "):
			svc.volumes = append(svc.volumes, composeValue(t, strings.TrimPrefix(trimmed, "- ")))
		case section == "healthcheck" && key == "test":
			svc.healthcheck = val
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return svc
}

// composeValue unquotes a YAML scalar and applies compose's ${VAR:-default}
// interpolation with an empty environment.
func composeValue(t *testing.T, v string) string {
	t.Helper()
	switch {
	case len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'':
		v = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	case len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"':
		s, err := strconv.Unquote(v)
		if err != nil {
			t.Fatalf("compose value %s: %v", v, err)
		}
		v = s
	}
	v = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*(?::-([^}]*))?\}`).ReplaceAllString(v, "$1")
	return strings.ReplaceAll(v, "$$", "$")
}

func TestComposeFile(t *testing.T) {
	svc := readCompose(t)
	if len(svc.envOrder) == 0 {
		t.Fatal("no environment found in docker-compose.yml")
	}
	for _, name := range svc.envOrder {
		if !configReads(t, name) {
			t.Errorf("compose sets %s, which the config package does not read", name)
		}
	}
	cfg, err := config.Load(nil, mapEnv(svc.env))
	if err != nil {
		t.Fatalf("the compose environment is refused: %v", err)
	}
	assertSeedStations(t, cfg)

	// Every station folder is mounted, read-only.
	mounts := map[string]string{}
	for _, v := range svc.volumes {
		parts := strings.Split(v, ":")
		if len(parts) < 2 {
			t.Errorf("volume %q: want host:container[:ro]", v)
			continue
		}
		mode := ""
		if len(parts) > 2 {
			mode = parts[2]
		}
		mounts[parts[1]] = mode
	}
	for _, st := range cfg.Stations {
		mode, ok := mounts[st.Dir]
		if !ok || mode != "ro" {
			t.Errorf("station %s folder %s: mounted %v, mode %q; want a read-only mount", st.Route, st.Dir, ok, mode)
		}
	}

	port := strconv.Itoa(config.Defaults().Port)
	if len(svc.ports) != 1 || !strings.HasSuffix(svc.ports[0], ":"+port) {
		t.Errorf("ports %q, want one mapping to container port %s", svc.ports, port)
	}
	if !strings.Contains(svc.healthcheck, `"http://127.0.0.1:`+port+`/healthz"`) {
		t.Errorf("healthcheck %q does not fetch /healthz on port %s", svc.healthcheck, port)
	}
	if svc.restart == "" || svc.restart == "no" {
		t.Errorf("restart policy %q", svc.restart)
	}
}

// dockerignoreMatch is .dockerignore's matching for the patterns we use:
// anchored at the context root, "**/" for any depth, and a match on a
// folder excludes everything below it.
func dockerignoreMatch(pattern, path string) bool {
	pattern = strings.TrimPrefix(pattern, "/")
	segs := strings.Split(path, "/")
	anyDepth := strings.HasPrefix(pattern, "**/")
	pattern = strings.TrimPrefix(pattern, "**/")
	for start := range segs {
		if start > 0 && !anyDepth {
			break
		}
		for end := start + 1; end <= len(segs); end++ {
			if ok, _ := filepath.Match(pattern, strings.Join(segs[start:end], "/")); ok {
				return true
			}
		}
	}
	return false
}

func TestDockerignore(t *testing.T) {
	root := testmedia.ModuleRoot(t)
	raw, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") {
			t.Fatalf("exception pattern %q: teach dockerignoreMatch about it", line)
		}
		patterns = append(patterns, line)
	}
	excluded := func(p string) bool {
		return slices.ContainsFunc(patterns, func(pat string) bool { return dockerignoreMatch(pat, p) })
	}
	for _, p := range []string{".git/config", "artifacts/x.log", "bench/results/run.json", "mount/mount.test", "cmd/audio-streamer/audio-streamer.test"} {
		if !excluded(p) {
			t.Errorf("%s is sent to the Docker build", p)
		}
	}
	// The build needs the module: Go files, go.mod/go.sum and embedded files.
	needed := 0
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(rel)
		if rel == "go.mod" || rel == "go.sum" || (ext == ".go" && !strings.HasSuffix(rel, "_test.go")) ||
			strings.HasPrefix(rel, "demo/") || strings.HasPrefix(rel, "web/") {
			needed++
			if excluded(rel) {
				t.Errorf("%s is needed by the build but .dockerignore excludes it", rel)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if needed < 10 {
		t.Errorf("only %d build inputs found; is the module root right?", needed)
	}
}

// readUnit returns the unit's key=value lines (later ones win, as in systemd).
func readUnit(t *testing.T) (map[string]string, string) {
	t.Helper()
	path := filepath.Join(testmedia.ModuleRoot(t), "deploy", "audio-streamer.service")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	kv := map[string]string{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' || line[0] == ';' || line[0] == '[' {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("unit line %q is not key=value", line)
		}
		kv[k] = v
	}
	return kv, string(raw)
}

func TestSystemdUnit(t *testing.T) {
	kv, raw := readUnit(t)
	for k, want := range map[string]string{
		"Restart": "on-failure", "NoNewPrivileges": "yes", "ProtectSystem": "strict",
		"ProtectHome": "read-only", "StateDirectory": "audio-streamer", "LimitNOFILE": "65536",
		"KillSignal": "SIGTERM", "TimeoutStopSec": "10",
	} {
		if kv[k] != want {
			t.Errorf("%s=%q, want %q", k, kv[k], want)
		}
	}
	if kv["DynamicUser"] != "yes" && kv["User"] == "" {
		t.Error("neither DynamicUser=yes nor a User")
	}
	if !strings.Contains(kv["ReadOnlyPaths"], "/") {
		t.Error("no ReadOnlyPaths for the music")
	}
	// The default port is above 1024: no capability is needed.
	if config.Defaults().Port >= 1024 && kv["AmbientCapabilities"] != "" {
		t.Errorf("AmbientCapabilities=%q for port %d", kv["AmbientCapabilities"], config.Defaults().Port)
	}

	exec0 := strings.Fields(kv["ExecStart"])
	if len(exec0) != 3 || exec0[0] != "/usr/local/bin/audio-streamer" || exec0[1] != "--config" || exec0[2] != "/etc/audio-streamer/config.toml" {
		t.Fatalf("ExecStart=%q", kv["ExecStart"])
	}
	// The flags are ones the server accepts (with an empty file standing in).
	empty := filepath.Join(t.TempDir(), "config.toml")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load([]string{exec0[1], empty}, mapEnv(nil)); err != nil {
		t.Errorf("ExecStart flags refused: %v", err)
	}

	// systemd's own check, where it is installed (not a project
	// requirement: CI does not install systemd).
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze not installed; skipping verify")
		return
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "audio-streamer.service")
	if err := os.WriteFile(unit, []byte(strings.ReplaceAll(raw, exec0[0], self)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// verify exits 0 even for unknown keys; it only says so.
	for line := range strings.SplitSeq(string(out), "\n") {
		if strings.Contains(line, unit) {
			t.Errorf("systemd-analyze verify: %s", line)
		}
	}
	if err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
