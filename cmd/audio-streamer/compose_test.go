package main

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
	"go.yaml.in/yaml/v3"

	"github.com/aposazhennikov/stream-audio-to-web/internal/config"
	"github.com/aposazhennikov/stream-audio-to-web/internal/testmedia"
)

// composeService is what the test reads of a docker-compose.yml service
// (short syntax for ports and volumes).
type composeService struct {
	Environment composeEnv `yaml:"environment"`
	Ports       []string   `yaml:"ports"`
	Volumes     []string   `yaml:"volumes"`
	Healthcheck struct {
		Test yaml.Node `yaml:"test"`
	} `yaml:"healthcheck"`
}

// composeEnv is a service's environment, given as a map or as NAME=value
// items; values are interpolated as compose does with an empty shell
// environment (${VAR:-default} gives the default).
type composeEnv map[string]string

func (e *composeEnv) UnmarshalYAML(n *yaml.Node) error {
	raw := map[string]string{}
	switch n.Kind {
	case yaml.MappingNode:
		if err := n.Decode(&raw); err != nil {
			return err
		}
	case yaml.SequenceNode:
		var items []string
		if err := n.Decode(&items); err != nil {
			return err
		}
		for _, it := range items {
			k, v, _ := strings.Cut(it, "=")
			raw[k] = v
		}
	default:
		return fmt.Errorf("line %d: environment is neither a map nor a list", n.Line)
	}
	lex := shell.NewLex('\\')
	lex.SkipProcessQuotes = true // compose values are not shell words
	*e = composeEnv{}
	for k, v := range raw {
		s, _, err := lex.ProcessWord(v, vars{})
		if err != nil {
			return fmt.Errorf("environment %s: %w", k, err)
		}
		(*e)[k] = s
	}
	return nil
}

// test is the health check in Docker's form: CMD args…, CMD-SHELL line or NONE.
func (s composeService) test(t *testing.T) []string {
	t.Helper()
	var test []string
	switch s.Healthcheck.Test.Kind {
	case 0:
		return nil
	case yaml.ScalarNode:
		test = []string{"CMD-SHELL", s.Healthcheck.Test.Value}
	default:
		if err := s.Healthcheck.Test.Decode(&test); err != nil {
			t.Fatalf("docker-compose.yml: healthcheck test: %v", err)
		}
	}
	return test
}

// TestComposeFile: each service sets only settings the server reads, mounts
// every station folder, read-only, publishes the port the server listens
// on, and its health check gets a 200 from the server started with the
// service's environment over the image's (the service builds the image).
func TestComposeFile(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(testmedia.ModuleRoot(t), "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Services map[string]composeService `yaml:"services"`
	}
	if err := yaml.Unmarshal(raw, &file); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(file.Services) == 0 {
		t.Fatal("docker-compose.yml has no service")
	}
	known := config.EnvNames()
	image := readImage(t, nil).env
	for name, svc := range file.Services {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			for k := range svc.Environment {
				if !slices.Contains(known, k) {
					t.Errorf("environment %s is not a setting the server reads (config.EnvNames)", k)
				}
			}
			env := maps.Clone(image)
			maps.Copy(env, svc.Environment)
			cfg, err := config.Load(nil, env.Get)
			if err != nil {
				t.Fatalf("the service's environment is refused: %v", err)
			}
			// The server never writes to music (deploy/README.md: mount it :ro).
			mounts := map[string]string{}
			for _, v := range svc.Volumes {
				parts := strings.Split(v, ":")
				if len(parts) >= 2 {
					mounts[parts[1]] = strings.Join(parts[2:], ":")
				}
			}
			for _, st := range cfg.Stations {
				mode, ok := mounts[st.Dir]
				if !ok || !slices.Contains(strings.Split(mode, ","), "ro") {
					t.Errorf("station %s: folder %s is not mounted read-only (mounted %v, mode %q)", st.Route, st.Dir, ok, mode)
				}
			}
			for _, p := range svc.Ports {
				parts := strings.Split(p, ":")
				if inside, _, _ := strings.Cut(parts[len(parts)-1], "/"); inside != listenPort(env) {
					t.Errorf("ports %q: the server listens on %s in the container", p, listenPort(env))
				}
			}
			if test := svc.test(t); test != nil && test[0] != "NONE" {
				checkHealthcheck(t, shell.NewLex('\\'), test, env)
			}
		})
	}
}
