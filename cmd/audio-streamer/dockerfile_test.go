package main

// The Dockerfile and .dockerignore, read with the code Docker itself uses
// (BuildKit's Dockerfile parser and shell lexer, moby's .dockerignore
// matcher), checked for what the image promises: it builds the server, runs
// it as a non-root user with only settings the server reads, and its
// HEALTHCHECK gets a 200 from the server running with the image's
// environment. No Docker engine is needed.

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// serverPackage is the command the image must build and run.
const serverPackage = "./cmd/audio-streamer"

// vars is an environment for BuildKit's shell lexer.
type vars map[string]string

func (v vars) Get(k string) (string, bool) { s, ok := v[k]; return s, ok }
func (v vars) Keys() []string              { return slices.Sorted(maps.Keys(v)) }

// image is the Dockerfile as BuildKit reads it, with the final stage's
// instructions expanded as a build with the given --build-arg values would.
type image struct {
	stages []instructions.Stage
	final  *instructions.Stage
	env    vars // the final stage's ENV: the container's environment
	lex    *shell.Lex
}

func readImage(t *testing.T, buildArgs map[string]string) image {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	// The checks that run while parsing (docker build --check runs more,
	// but those need the base images from a registry).
	lint := linter.New(&linter.Config{Warn: func(rule, _, _, msg string, loc []parser.Range) {
		line := 0
		if len(loc) > 0 {
			line = loc[0].Start.Line
		}
		t.Errorf("Dockerfile:%d: %s: %s", line, rule, msg)
	}})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	if len(stages) == 0 {
		t.Fatal("Dockerfile has no stage")
	}
	img := image{stages: stages, final: &stages[len(stages)-1], env: vars{}, lex: shell.NewLex(res.EscapeToken)}
	// Expand the final stage's words as BuildKit does: ARG values (defaults
	// or --build-arg) and earlier ENV values are visible to later words.
	scope := vars{}
	for _, c := range img.final.Commands {
		if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
			err := e.Expand(func(word string) (string, error) {
				w, _, err := img.lex.ProcessWord(word, scope)
				return w, err
			})
			if err != nil {
				t.Fatalf("Dockerfile: %s: %v", c.Name(), err)
			}
		}
		switch c := c.(type) {
		case *instructions.ArgCommand:
			for _, a := range c.Args {
				scope[a.Key] = a.ValueString()
				if v, ok := buildArgs[a.Key]; ok {
					scope[a.Key] = v
				}
			}
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				scope[kv.Key], img.env[kv.Key] = kv.Value, kv.Value
			}
		}
	}
	return img
}

// stage returns the stage a COPY --from names (by name or index).
func (img image) stage(t *testing.T, name string) *instructions.Stage {
	t.Helper()
	for i := range img.stages {
		if strings.EqualFold(img.stages[i].Name, name) || strconv.Itoa(i) == name {
			return &img.stages[i]
		}
	}
	t.Fatalf("COPY --from=%s: no such stage", name)
	return nil
}

func commands[C instructions.Command](s *instructions.Stage) []C {
	var out []C
	for _, c := range s.Commands {
		if c, ok := c.(C); ok {
			out = append(out, c)
		}
	}
	return out
}

// words splits a RUN or ENTRYPOINT command line as the shell would.
func (img image) words(t *testing.T, c instructions.ShellDependantCmdLine) []string {
	t.Helper()
	if !c.PrependShell {
		return c.CmdLine
	}
	w, err := img.lex.ProcessWords(strings.Join(c.CmdLine, " "), vars{})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestDockerfileBuildsTheServer: the ENTRYPOINT runs the file that COPY
// --from takes out of the stage where `go build` compiled the server.
func TestDockerfileBuildsTheServer(t *testing.T) {
	img := readImage(t, nil)
	eps := commands[*instructions.EntrypointCommand](img.final)
	if len(eps) == 0 || eps[len(eps)-1].PrependShell {
		t.Fatal("the final stage has no exec-form ENTRYPOINT (a shell would not pass SIGTERM on)")
	}
	bin := eps[len(eps)-1].CmdLine[0]

	var from, src string
	for _, c := range commands[*instructions.CopyCommand](img.final) {
		for _, s := range c.SourcePaths {
			if c.From != "" && (c.DestPath == bin || strings.HasSuffix(c.DestPath, "/") && path.Join(c.DestPath, path.Base(s)) == bin) {
				from, src = c.From, s
			}
		}
	}
	if from == "" {
		t.Fatalf("no COPY --from=<stage> puts the ENTRYPOINT %s into the final stage", bin)
	}
	for _, run := range commands[*instructions.RunCommand](img.stage(t, from)) {
		w := img.words(t, run.ShellDependantCmdLine)
		for i := 0; i+1 < len(w); i++ {
			if w[i] != "go" || w[i+1] != "build" {
				continue
			}
			args := w[i+2:]
			if end := slices.IndexFunc(args, func(a string) bool { return slices.Contains([]string{"&&", "||", ";", "|"}, a) }); end >= 0 {
				args = args[:end]
			}
			out := ""
			if o := slices.Index(args, "-o"); o >= 0 && o+1 < len(args) {
				out = args[o+1]
			}
			if slices.Contains(args, serverPackage) && out == src {
				return
			}
		}
	}
	t.Errorf("stage %s has no `go build -o %s %s`", from, src, serverPackage)
}

// osVariables may be set by an image without being settings.
var osVariables = []string{"PATH", "HOME", "LANG", "LC_ALL", "TZ"}

// TestDockerfileSettings: every variable the image sets is an image
// default of a setting the server reads (never the setting's own name,
// which would beat a mounted config file), and every build arg that is a
// setting reaches the environment as its image default (deploy/README.md
// promises both).
func TestDockerfileSettings(t *testing.T) {
	known := config.EnvNames()
	img := readImage(t, nil)
	for _, name := range slices.Sorted(maps.Keys(img.env)) {
		setting, isDefault := strings.CutPrefix(name, config.ImageDefaultPrefix)
		switch {
		case slices.Contains(osVariables, name):
		case !slices.Contains(known, setting):
			t.Errorf("ENV %s is not a setting the server reads (config.EnvNames)", name)
		case !isDefault:
			t.Errorf("ENV %s would override a mounted config file; set %s%s instead", name, config.ImageDefaultPrefix, name)
		}
	}
	given := map[string]string{}
	for _, arg := range commands[*instructions.ArgCommand](img.final) {
		for _, a := range arg.Args {
			if slices.Contains(known, a.Key) {
				given[a.Key] = "build-arg-" + a.Key
			}
		}
	}
	if len(given) == 0 {
		t.Error("the final stage has no build arg for a setting (the seed's AUDIO_STREAM_ROUTES, DIRECTORY_ROUTES...)")
	}
	built := readImage(t, given)
	for name, v := range given {
		if got := built.env[config.ImageDefaultPrefix+name]; got != v {
			t.Errorf("--build-arg %s=%s gives ENV %s%s=%q", name, v, config.ImageDefaultPrefix, name, got)
		}
	}
}

// TestDockerfileDefaultsGiveWay: the real binary, run as `check` with the
// image's environment, plays the seed's three stations; a config file the
// user mounts replaces them (routes and mode); a variable the user passes
// with docker run -e beats the image's default for it.
func TestDockerfileDefaultsGiveWay(t *testing.T) {
	t.Parallel()
	img := readImage(t, nil)
	music := t.TempDir()
	testmedia.WriteFile(t, music, "a.mp3", testmedia.Frames(20))
	mounted := testmedia.WriteFile(t, t.TempDir(), "radio.toml",
		[]byte("stream_mode = \"individual\"\n[[station]]\nroute = \"/mine\"\ndir = \""+music+"\"\n"))
	type station struct{ Route, Mode string }
	cases := []struct {
		name string
		args []string
		env  map[string]string // docker run -e
		want []station
	}{
		{"image alone", nil, nil,
			[]station{{"/", "radio"}, {"/humor", "radio"}, {"/science", "radio"}}},
		{"config file from env", nil, map[string]string{"AUDIO_STREAMER_CONFIG": mounted},
			[]station{{"/", "individual"}, {"/mine", "individual"}}},
		{"config file from flag", []string{"--config", mounted}, nil,
			[]station{{"/", "individual"}, {"/mine", "individual"}}},
		{"user env", nil, map[string]string{"DIRECTORY_ROUTES": `{"jazz":"` + music + `"}`, "AUDIO_STREAM_ROUTES": "/", "STREAM_MODE": "individual"},
			[]station{{"/", "individual"}, {"/jazz", "individual"}}},
		{"user env and config file", nil, map[string]string{"AUDIO_STREAMER_CONFIG": mounted, "STREAM_MODE": "radio"},
			[]station{{"/", "radio"}, {"/mine", "radio"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := maps.Clone(img.env)
			maps.Copy(env, tc.env)
			var got []station
			for _, st := range runCheckBinary(t, tc.args, env).Stations {
				got = append(got, station{st.Route, st.Mode})
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("stations %v, want %v", got, tc.want)
			}
		})
	}
}

// runCheckBinary runs the built binary's `check --json` with args and
// exactly env (plus a fixed PATH and HOME) and decodes its report.
func runCheckBinary(t *testing.T, args []string, env vars) checkReport {
	t.Helper()
	cmd := exec.Command(os.Getenv(binaryEnv), append([]string{"check", "--json"}, args...)...)
	cmd.Env = baseEnv(t)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	// Exit status 1 only says a station has nothing to play yet.
	if exit, ok := err.(*exec.ExitError); err != nil && (!ok || exit.ExitCode() != 1) {
		t.Fatalf("check: %v\n%s", err, stderr.String())
	}
	var rep checkReport
	if err := json.Unmarshal(out, &rep); err != nil {
		t.Fatalf("check --json printed invalid JSON (%v):\n%s", err, out)
	}
	return rep
}

// TestDockerfileRuntime: the image runs as a non-root user, and its
// HEALTHCHECK, evaluated with the image's environment, gets a 200 from the
// server started with that environment.
func TestDockerfileRuntime(t *testing.T) {
	t.Parallel()
	img := readImage(t, nil)
	users := commands[*instructions.UserCommand](img.final)
	if len(users) == 0 {
		t.Error("no USER in the final stage: the server would run as root")
	} else if user, _, _ := strings.Cut(users[len(users)-1].User, ":"); user == "" || user == "root" || user == "0" {
		t.Errorf("USER %s is root", users[len(users)-1].User)
	}

	hcs := commands[*instructions.HealthCheckCommand](img.final)
	if len(hcs) == 0 {
		t.Fatal("no HEALTHCHECK in the final stage")
	}
	test := hcs[len(hcs)-1].Health.Test
	// Its program is installed by the final stage (the base image is slim).
	if prog := healthProgram(t, img.lex, test); prog != "" {
		installed := false
		for _, run := range commands[*instructions.RunCommand](img.final) {
			installed = installed || slices.Contains(img.words(t, run.ShellDependantCmdLine), path.Base(prog))
		}
		if !installed {
			t.Errorf("HEALTHCHECK runs %s, which no RUN of the final stage installs", prog)
		}
	}
	checkHealthcheck(t, img.lex, test, img.env)
}

// healthProgram is the program a HEALTHCHECK test runs.
func healthProgram(t *testing.T, lex *shell.Lex, test []string) string {
	t.Helper()
	if len(test) < 2 {
		return ""
	}
	if test[0] == "CMD-SHELL" {
		w, err := lex.ProcessWords(test[1], vars{})
		if err != nil || len(w) == 0 {
			t.Fatalf("HEALTHCHECK %q: %v", test[1], err)
		}
		return w[0]
	}
	return test[1]
}

// healthURL is the http:// or https:// URL a health check test (Docker's
// form: CMD args… or CMD-SHELL line) requests in a container with env.
func healthURL(t *testing.T, lex *shell.Lex, test []string, env vars) *url.URL {
	t.Helper()
	if len(test) < 2 || (test[0] != "CMD" && test[0] != "CMD-SHELL") {
		t.Fatalf("health check %q runs nothing", test)
	}
	words := test[1:] // exec form: no shell, no expansion
	if test[0] == "CMD-SHELL" {
		var err error
		if words, err = lex.ProcessWords(test[1], env); err != nil {
			t.Fatalf("health check %q: %v", test[1], err)
		}
	}
	for _, w := range words {
		if strings.HasPrefix(w, "http://") || strings.HasPrefix(w, "https://") {
			u, err := url.Parse(w)
			if err != nil {
				t.Fatalf("health check URL %q: %v", w, err)
			}
			return u
		}
	}
	t.Fatalf("health check %q requests no URL", test)
	return nil
}

// listenPort is the port the server uses with env alone.
func listenPort(env vars) string {
	if p, ok := env["PORT"]; ok {
		return p
	}
	return strconv.Itoa(config.Defaults().Port)
}

// checkHealthcheck: in a container with env the health check requests
// the server's port (also when PORT is given at run time, if a shell
// expands the URL), and the server started with env answers it with 200.
func checkHealthcheck(t *testing.T, lex *shell.Lex, test []string, env vars) {
	t.Helper()
	if u := healthURL(t, lex, test, env); u.Port() != listenPort(env) {
		t.Errorf("health check requests %s; the server listens on port %s", u, listenPort(env))
	}
	port := testmedia.FreePort(t)
	run := maps.Clone(env)
	run["HOST"], run["PORT"] = "127.0.0.1", strconv.Itoa(port) // as docker run -e would
	u := healthURL(t, lex, test, run)
	if test[0] == "CMD-SHELL" && u.Port() != run["PORT"] {
		t.Errorf("health check requests %s with PORT=%s: it does not follow PORT", u, run["PORT"])
	}
	if p := u.Path; p != "/healthz" && p != "/readyz" {
		t.Errorf("health check requests %s, want /healthz or /readyz", p)
	}
	var kv []string
	for k, v := range run {
		kv = append(kv, k+"="+v)
	}
	p := start(t, port, nil, kv...)
	p.ready()
	if code, body := p.get(u.RequestURI()); code != 200 {
		t.Errorf("health check %s: %d %q from the server running with this environment", u.RequestURI(), code, body)
	}
}

// TestDockerignore: the build context, as Docker filters it with
// .dockerignore, holds every file `go build` reads for the server, and not
// the repository's .git.
func TestDockerignore(t *testing.T) {
	root := testmedia.ModuleRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	patterns, err := ignorefile.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	excluded := func(rel string) bool {
		ex, err := pm.MatchesOrParentMatches(filepath.ToSlash(rel))
		if err != nil {
			t.Fatalf(".dockerignore on %s: %v", rel, err)
		}
		return ex
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err == nil && !excluded(".git") {
		t.Error(".git is sent to the Docker build")
	}

	// What the image's build reads (CGO_ENABLED=0, as in the Dockerfile).
	list := exec.Command("go", "list", "-e", "-deps", "-f",
		`{{if and .Module .Module.Main}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{range .EmbedFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		serverPackage)
	list.Dir = root
	list.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := list.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	inputs := []string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}
	for line := range strings.Lines(string(out)) {
		if line = strings.TrimSuffix(line, "\n"); line != "" {
			inputs = append(inputs, line)
		}
	}
	if len(inputs) < 10 {
		t.Fatalf("go list found only %q", inputs)
	}
	for _, in := range inputs {
		rel, err := filepath.Rel(root, in)
		if err != nil {
			t.Fatal(err)
		}
		if excluded(rel) {
			t.Errorf("the build reads %s, but .dockerignore keeps it out of the context", rel)
		}
	}
}
