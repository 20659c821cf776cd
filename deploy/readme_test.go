package deploy_test

import (
	"path/filepath"
	"regexp"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

func readme(t *testing.T) string {
	t.Helper()
	return string(mustRead(t, "../README.md"))
}

// The README's overlay, as written there, renders on top of the base and
// points the Deployment at the registry's image.
func TestREADMEOverlayRenders(t *testing.T) {
	m := regexp.MustCompile(`(?s)cat > (deploy/overlays/\w+)/kustomization\.yaml <<'EOF'\n(.*?)\nEOF\nkubectl apply -n \S+ -k (\S+)\n`).FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("the README has no overlay heredoc followed by kubectl apply -k")
	}
	overlay, body, applied := m[1], m[2], m[3]
	if applied != overlay {
		t.Fatalf("the README writes %s but applies %s", overlay, applied)
	}
	fs := filesys.MakeFsInMemory()
	files, err := filepath.Glob(baseDir + "/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := fs.WriteFile(filepath.Join("/repo/deploy", f), mustRead(t, f)); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join("/repo", overlay)
	if err := fs.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(body)); err != nil {
		t.Fatal(err)
	}
	r := render(t, fs, dir)
	want := regexp.MustCompile(`newName: (\S+)\s+newTag: (\S+)`).FindStringSubmatch(body)
	if want == nil {
		t.Fatalf("the overlay sets no image:\n%s", body)
	}
	if got := container(t, r.deployment(t)).Image; got != want[1]+":"+want[2] {
		t.Errorf("the overlay renders image %q, want %s:%s", got, want[1], want[2])
	}
}

// The README's kubectl create secret line makes the Secret the Deployment
// mounts, with the key the config's client_secret_file names.
func TestREADMESecretCommandMatchesTheDeployment(t *testing.T) {
	m := regexp.MustCompile(`kubectl -n \S+ create secret generic (\S+) --from-file=([^=\s]+)=`).FindStringSubmatch(readme(t))
	if m == nil {
		t.Fatal("the README has no kubectl create secret generic line")
	}
	secret := strict[corev1.Secret](t, secretExample, mustRead(t, secretExample))
	if m[1] != secret.Name || m[1] != clientSecretsName {
		t.Errorf("the README creates Secret %s; the Deployment mounts %s", m[1], clientSecretsName)
	}
	cfg, _ := gatewayConfig(t, renderBase(t))
	for _, a := range cfg.Accounts {
		if filepath.Base(a.ClientSecretFile) == m[2] {
			return
		}
	}
	t.Errorf("the README's secret key %s is no account's client_secret_file", m[2])
}

// The README's docker build passes exactly the build arguments the
// Dockerfile declares.
func TestREADMEDockerBuildMatchesTheDockerfile(t *testing.T) {
	build := regexp.MustCompile(`(?s)docker build (.*?) \.\n`).FindStringSubmatch(readme(t))
	if build == nil {
		t.Fatal("the README has no docker build command")
	}
	var passed []string
	for _, a := range regexp.MustCompile(`--build-arg (\w+)=`).FindAllStringSubmatch(build[1], -1) {
		passed = append(passed, a[1])
	}
	var declared []string
	for _, a := range regexp.MustCompile(`(?m)^ARG (\w+)`).FindAllStringSubmatch(string(mustRead(t, "../Dockerfile")), -1) {
		declared = append(declared, a[1])
	}
	if len(passed) == 0 || !equalSets(passed, declared) {
		t.Errorf("the README passes build args %v; the Dockerfile declares %v", passed, declared)
	}
}

func equalSets(a, b []string) bool {
	set := map[string]int{}
	for _, x := range a {
		set[x]++
	}
	for _, x := range b {
		set[x]--
	}
	for _, n := range set {
		if n != 0 {
			return false
		}
	}
	return true
}
