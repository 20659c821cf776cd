package deploy_test

import (
	"bytes"
	"os"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// makeBuild is what the Makefile's build target builds.
type makeBuild struct {
	pkg, output string
}

// parseMakeBuild reads the build target's go build line.
func parseMakeBuild(t *testing.T) makeBuild {
	t.Helper()
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	recipe := regexp.MustCompile(`(?m)^build:.*\n\t(.*)$`).FindSubmatch(mk)
	if recipe == nil {
		t.Fatal("the Makefile has no build target")
	}
	fields := strings.Fields(string(recipe[1]))
	i := slices.Index(fields, "-o")
	if !slices.Contains(fields, "build") || i < 0 || i+1 >= len(fields) {
		t.Fatalf("build recipe %q is not a go build -o", recipe[1])
	}
	for _, v := range []string{"VERSION", "COMMIT", "BUILD_DATE"} {
		if !regexp.MustCompile(`(?m)^`+v+`\s*\?=`).Match(mk) || !strings.Contains(string(mk), "$("+v+")") {
			t.Errorf("the Makefile no longer takes %s from the command line", v)
		}
	}
	return makeBuild{pkg: fields[len(fields)-1], output: fields[i+1]}
}

func parseDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	data, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	ast, err := parser.Parse(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	stages, _, err := instructions.Parse(ast.AST, nil)
	if err != nil {
		t.Fatalf("Dockerfile: %v", err)
	}
	return stages
}

// The image holds the binary `make build` makes, stamped the same way, and
// runs it as a non-root user on a base with nothing else in it.
func TestDockerfileBuildsWhatMakeBuildBuilds(t *testing.T) {
	mk := parseMakeBuild(t)
	if mk.pkg != "./cmd/eeo-gateway" {
		t.Fatalf("make build builds %s; this test and the Dockerfile expect ./cmd/eeo-gateway", mk.pkg)
	}
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("%d stages; want a build stage and a runtime stage", len(stages))
	}
	build := map[string]instructions.Stage{}
	for _, s := range stages[:len(stages)-1] {
		build[s.Name] = s
	}

	// The runtime stage: distroless static or scratch, non-root, running
	// the copied binary.
	final := stages[len(stages)-1]
	if !strings.HasPrefix(final.BaseName, "gcr.io/distroless/static") && final.BaseName != "scratch" {
		t.Errorf("final stage FROM %s; want distroless/static or scratch", final.BaseName)
	}
	var binary, user string
	var entrypoint []string
	for _, c := range final.Commands {
		switch c := c.(type) {
		case *instructions.CopyCommand:
			src, ok := build[c.From]
			if !ok {
				t.Errorf("COPY --from=%q: not a build stage", c.From)
				continue
			}
			want := path.Join(workdir(src), mk.output)
			if !slices.Equal(c.SourcePaths, []string{want}) {
				t.Errorf("COPY %v from %s; make build writes %s there", c.SourcePaths, c.From, want)
			}
			checkBuildStage(t, src, mk)
			binary = c.DestPath
		case *instructions.UserCommand:
			user = c.User
		case *instructions.EntrypointCommand:
			entrypoint = c.CmdLine
		case *instructions.RunCommand:
			t.Errorf("RUN in the runtime stage (%v): distroless has no shell", c.CmdLine)
		}
	}
	if binary == "" || len(entrypoint) == 0 || entrypoint[0] != binary {
		t.Errorf("ENTRYPOINT %v does not run the copied binary %q", entrypoint, binary)
	}
	if uid, _, _ := strings.Cut(user, ":"); uid == "" || uid == "0" || uid == "root" || !regexp.MustCompile(`^[1-9][0-9]*$`).MatchString(uid) {
		t.Errorf("USER %q; want a numeric non-root uid (runAsNonRoot can only verify a number)", user)
	}
}

// checkBuildStage checks that stage runs `make build` without cgo and
// passes the version stamp through.
func checkBuildStage(t *testing.T, stage instructions.Stage, mk makeBuild) {
	t.Helper()
	cgoOff, made := false, false
	for _, c := range stage.Commands {
		switch c := c.(type) {
		case *instructions.EnvCommand:
			for _, kv := range c.Env {
				if kv.Key == "CGO_ENABLED" {
					cgoOff = kv.Value == "0"
				}
			}
		case *instructions.RunCommand:
			line := strings.Join(c.CmdLine, " ")
			if strings.Contains(line, "go build") {
				t.Errorf("RUN %s: build with make build, so the image gets the Makefile's flags", line)
			}
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "make" && f[1] == "build" {
				made = true
				if !cgoOff && !strings.Contains(line, "CGO_ENABLED=0") {
					t.Error("make build runs with cgo on: the binary would not be static")
				}
				for _, v := range []string{"VERSION", "COMMIT", "BUILD_DATE"} {
					if !strings.Contains(line, v+"=") {
						t.Errorf("RUN %s does not pass %s: the version would not be stamped", line, v)
					}
				}
			}
		}
	}
	if !made {
		t.Errorf("stage %s never runs make build (%s)", stage.Name, mk.pkg)
	}
}

// workdir is the stage's last WORKDIR.
func workdir(stage instructions.Stage) string {
	dir := "/"
	for _, c := range stage.Commands {
		if w, ok := c.(*instructions.WorkdirCommand); ok {
			dir = path.Join(dir, w.Path)
		}
	}
	return dir
}

// The image's default command is the one the Deployment runs.
func TestDockerfileCommandMatchesTheDeployment(t *testing.T) {
	stages := parseDockerfile(t)
	var cmd []string
	for _, c := range stages[len(stages)-1].Commands {
		if c, ok := c.(*instructions.CmdCommand); ok {
			cmd = c.CmdLine
		}
	}
	dep := renderBase(t).deployment(t)
	if got := dep.Spec.Template.Spec.Containers[0].Args; !slices.Equal(got, cmd) {
		t.Errorf("Deployment args %q, image CMD %q", got, cmd)
	}
}
