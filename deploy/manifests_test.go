package deploy_test

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eeo-gateway/eeo-gateway/config"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	k8sjson "sigs.k8s.io/json"
	"sigs.k8s.io/kustomize/api/krusty"
	kustypes "sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"
)

const (
	baseDir           = "base"
	secretExample     = "base/client-secrets.example.yaml"
	configFileName    = "config.yaml"
	containerName     = "eeo-gateway"
	clientSecretsName = "eeo-gateway-client-secrets"
)

// strict decodes YAML into a typed object as the API server would: field
// names match case-sensitively, and an unknown or duplicate field is an
// error (readOnlyRootFileSystem, say, would otherwise be dropped silently).
func strict[T any](t *testing.T, what string, data []byte) *T {
	t.Helper()
	var v T
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	strictErrs, err := k8sjson.UnmarshalStrict(j, &v, k8sjson.DisallowDuplicateFields, k8sjson.DisallowUnknownFields)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if len(strictErrs) > 0 {
		t.Fatalf("%s: %v", what, errors.Join(strictErrs...))
	}
	return &v
}

// rendered is the kustomize base as `kubectl apply -k deploy/base` would
// send it, each object decoded into its k8s.io/api type.
type rendered struct {
	deployments     []*appsv1.Deployment
	services        []*corev1.Service
	configMaps      []*corev1.ConfigMap
	serviceAccounts []*corev1.ServiceAccount
	pdbs            []*policyv1.PodDisruptionBudget
	netpols         []*networkingv1.NetworkPolicy
}

func renderBase(t *testing.T) *rendered {
	t.Helper()
	return render(t, filesys.MakeFsOnDisk(), baseDir)
}

// render runs `kustomize build dir` on fs.
func render(t *testing.T, fs filesys.FileSystem, dir string) *rendered {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(fs, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	out := &rendered{}
	for _, r := range m.Resources() {
		data, err := r.AsYAML()
		if err != nil {
			t.Fatal(err)
		}
		what := r.GetKind() + "/" + r.GetName()
		switch gvk := r.GetGvk(); gvk.ApiVersion() + " " + gvk.Kind {
		case "apps/v1 Deployment":
			out.deployments = append(out.deployments, strict[appsv1.Deployment](t, what, data))
		case "v1 Service":
			out.services = append(out.services, strict[corev1.Service](t, what, data))
		case "v1 ConfigMap":
			out.configMaps = append(out.configMaps, strict[corev1.ConfigMap](t, what, data))
		case "v1 ServiceAccount":
			out.serviceAccounts = append(out.serviceAccounts, strict[corev1.ServiceAccount](t, what, data))
		case "policy/v1 PodDisruptionBudget":
			out.pdbs = append(out.pdbs, strict[policyv1.PodDisruptionBudget](t, what, data))
		case "networking.k8s.io/v1 NetworkPolicy":
			out.netpols = append(out.netpols, strict[networkingv1.NetworkPolicy](t, what, data))
		default:
			t.Fatalf("%s: %s is a kind this test does not check", what, gvk)
		}
	}
	return out
}

func one[T any](t *testing.T, kind string, items []*T) *T {
	t.Helper()
	if len(items) != 1 {
		t.Fatalf("%d %s objects, want 1", len(items), kind)
	}
	return items[0]
}

func (r *rendered) deployment(t *testing.T) *appsv1.Deployment {
	return one(t, "Deployment", r.deployments)
}

// Every file in deploy/ decodes strictly into its type, the ones kustomize
// does not render (the Secret example, kustomization.yaml) included.
func TestEveryManifestDecodesStrictly(t *testing.T) {
	files, err := filepath.Glob(baseDir + "/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var head metav1.TypeMeta
		if err := yaml.Unmarshal(data, &head); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		switch head.APIVersion + " " + head.Kind {
		case "kustomize.config.k8s.io/v1beta1 Kustomization":
			strict[kustypes.Kustomization](t, f, data)
		case "apps/v1 Deployment":
			strict[appsv1.Deployment](t, f, data)
		case "v1 Service":
			strict[corev1.Service](t, f, data)
		case "v1 Secret":
			strict[corev1.Secret](t, f, data)
		case "v1 ServiceAccount":
			strict[corev1.ServiceAccount](t, f, data)
		case "policy/v1 PodDisruptionBudget":
			strict[policyv1.PodDisruptionBudget](t, f, data)
		case "networking.k8s.io/v1 NetworkPolicy":
			strict[networkingv1.NetworkPolicy](t, f, data)
		case " ":
			if filepath.Base(f) != configFileName {
				t.Errorf("%s has no apiVersion/kind", f)
			}
			// The gateway's config: checked by TestConfigMapPassesCheckConfig.
		default:
			t.Errorf("%s: %s %s is a kind this test does not check", f, head.APIVersion, head.Kind)
		}
	}
	r := renderBase(t)
	for kind, n := range map[string]int{"Deployment": len(r.deployments), "Service": len(r.services), "ConfigMap": len(r.configMaps),
		"ServiceAccount": len(r.serviceAccounts), "PodDisruptionBudget": len(r.pdbs), "NetworkPolicy": len(r.netpols)} {
		if n != 1 {
			t.Errorf("the base renders %d %s objects, want 1", n, kind)
		}
	}
}

// gatewayConfig is the config file of the rendered ConfigMap, checked as
// `eeo-gateway check-config --require-secrets` would check it inside the
// pod: the config at its mount path, the client secrets from the Secret
// example at theirs.
func gatewayConfig(t *testing.T, r *rendered) (config.Config, *config.Report) {
	t.Helper()
	dep := r.deployment(t)
	cm := one(t, "ConfigMap", r.configMaps)
	_, ok := cm.Data[configFileName]
	if !ok {
		t.Fatalf("ConfigMap %s has no %s", cm.Name, configFileName)
	}
	files := map[string][]byte{}
	c := container(t, dep)
	for _, m := range c.VolumeMounts {
		v := volume(t, dep, m.Name)
		switch {
		case v.ConfigMap != nil:
			if v.ConfigMap.Name != cm.Name {
				t.Errorf("volume %s mounts ConfigMap %s; the base renders %s", v.Name, v.ConfigMap.Name, cm.Name)
			}
			for k, val := range cm.Data {
				files[path.Join(m.MountPath, k)] = []byte(val)
			}
		case v.Secret != nil:
			secret := strict[corev1.Secret](t, secretExample, mustRead(t, secretExample))
			if v.Secret.SecretName != secret.Name {
				t.Errorf("volume %s mounts Secret %s; the example is %s", v.Name, v.Secret.SecretName, secret.Name)
			}
			for k, val := range secret.StringData {
				files[path.Join(m.MountPath, k)] = []byte(val)
			}
		}
	}
	configPath := flagValue(c.Args, "--config")
	if _, ok := files[configPath]; !ok {
		t.Fatalf("the container reads --config %q, which no mount provides (have %v)", configPath, keys(files))
	}
	readFile := func(name string) ([]byte, error) {
		if b, ok := files[name]; ok {
			return b, nil
		}
		return nil, fmt.Errorf("open %s: %w", name, os.ErrNotExist)
	}
	rep := config.Check(configPath, func(string) string { return "" }, readFile, config.CheckOptions{RequireSecrets: true})
	return rep.Config, rep
}

// The ConfigMap's config passes the gateway's own validation, with every
// client secret present where the Deployment mounts the Secret.
func TestConfigMapPassesCheckConfig(t *testing.T) {
	_, rep := gatewayConfig(t, renderBase(t))
	for _, p := range rep.Problems {
		t.Errorf("%s", p)
	}
}

// The probes, container ports and Service follow the config's listen
// addresses, so changing a port in one place and not the other fails here.
func TestPortsAndProbesMatchTheConfig(t *testing.T) {
	r := renderBase(t)
	cfg, rep := gatewayConfig(t, r)
	if rep.HasErrors() {
		t.Fatal("config does not pass check-config; see TestConfigMapPassesCheckConfig")
	}
	dep := r.deployment(t)
	c := container(t, dep)
	ports := map[string]int32{}
	for _, p := range c.Ports {
		ports[p.Name] = p.ContainerPort
	}
	for name, addr := range map[string]string{"grpc": cfg.GRPCAddr, "http": cfg.HTTPAddr, "admin": cfg.AdminAddr} {
		if got, want := ports[name], portOf(t, addr); got != want {
			t.Errorf("container port %s = %d; the config listens on %s", name, got, addr)
		}
	}
	for what, probe := range map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
		if probe == nil || probe.HTTPGet == nil {
			t.Errorf("%s probe is not an HTTP GET", what)
			continue
		}
		if got := resolvePort(t, c, probe.HTTPGet.Port); got != portOf(t, cfg.AdminAddr) {
			t.Errorf("%s probe on port %d; the admin listener is %s", what, got, cfg.AdminAddr)
		}
		want := "/livez"
		if what == "readiness" {
			want = "/readyz"
		}
		if probe.HTTPGet.Path != want {
			t.Errorf("%s probe path %s, want %s", what, probe.HTTPGet.Path, want)
		}
	}

	svc := one(t, "Service", r.services)
	pods := labels.Set(dep.Spec.Template.Labels)
	if !labels.SelectorFromSet(svc.Spec.Selector).Matches(pods) || len(svc.Spec.Selector) == 0 {
		t.Errorf("Service selector %v does not select the pods %v", svc.Spec.Selector, pods)
	}
	for _, p := range svc.Spec.Ports {
		if got := resolvePort(t, c, p.TargetPort); got != ports[p.Name] || got == ports["admin"] {
			t.Errorf("Service port %s targets %d; want the container's %s port, not admin", p.Name, got, p.Name)
		}
	}

	// terminationGracePeriodSeconds must cover the drain the config asks for.
	drain := cfg.ShutdownDrainDelay.Std() + cfg.ShutdownTimeout.Std()
	if g := dep.Spec.Template.Spec.TerminationGracePeriodSeconds; g == nil || float64(*g) <= drain.Seconds() {
		t.Errorf("terminationGracePeriodSeconds %v does not cover shutdown_drain_delay + shutdown_timeout (%s)", g, drain)
	}
}

// Two replicas that run as non-root on a read-only root file system with
// no privileges, bounded resources, and client secrets as read-only files.
func TestDeploymentIsHardened(t *testing.T) {
	r := renderBase(t)
	dep := r.deployment(t)
	spec := dep.Spec.Template.Spec
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas != 2 {
		t.Errorf("replicas %v, want 2", dep.Spec.Replicas)
	}
	if !labels.SelectorFromSet(dep.Spec.Selector.MatchLabels).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Error("the Deployment's selector does not select its own pods")
	}
	c := container(t, dep)
	psc, sc := spec.SecurityContext, c.SecurityContext
	switch {
	case psc == nil || sc == nil:
		t.Fatal("no pod or container securityContext")
	case psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot || psc.RunAsUser == nil || *psc.RunAsUser == 0:
		t.Error("the pod may run as root")
	case sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem:
		t.Error("the root file system is writable")
	case sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation:
		t.Error("privilege escalation is allowed")
	case sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL"):
		t.Error("capabilities are not all dropped")
	case psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Error("no RuntimeDefault seccomp profile")
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("the pod gets a Kubernetes API token it never uses")
	}
	for _, res := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		if _, ok := c.Resources.Requests[res]; !ok {
			t.Errorf("no %s request", res)
		}
	}
	if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
		t.Error("no memory limit")
	}

	// Every account's client_secret_file is a key of the Secret, mounted
	// read-only; secrets never come from environment variables here.
	cfg, _ := gatewayConfig(t, r)
	secret := strict[corev1.Secret](t, secretExample, mustRead(t, secretExample))
	for _, a := range cfg.Accounts {
		if a.ClientSecretFile == "" {
			t.Errorf("account %s: its secret is not a mounted file", a.Name)
			continue
		}
		dir, file := path.Split(a.ClientSecretFile)
		m := mountAt(c, path.Clean(dir))
		if m == nil || !m.ReadOnly {
			t.Errorf("account %s: %s is not on a read-only mount", a.Name, a.ClientSecretFile)
			continue
		}
		v := volume(t, dep, m.Name)
		if v.Secret == nil || v.Secret.SecretName != clientSecretsName || v.Secret.DefaultMode == nil || *v.Secret.DefaultMode&0o077 != 0 {
			t.Errorf("account %s: volume %s is not the Secret %s readable by its owner only", a.Name, v.Name, clientSecretsName)
		}
		if _, ok := secret.StringData[file]; !ok {
			t.Errorf("account %s: the Secret example has no key %s", a.Name, file)
		}
	}

	pdb := one(t, "PodDisruptionBudget", r.pdbs)
	if sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector); err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("the PodDisruptionBudget does not select the pods: %v", err)
	}
	if pdb.Spec.MinAvailable == nil || pdb.Spec.MinAvailable.IntValue() < 1 || pdb.Spec.MinAvailable.IntValue() >= int(*dep.Spec.Replicas) {
		t.Errorf("minAvailable %v: want at least 1 and fewer than the replicas, so drains can proceed", pdb.Spec.MinAvailable)
	}
}

// The NetworkPolicy lets callers reach the API ports, the admin port stay
// apart, and the gateway reach EEO's HTTPS endpoints and DNS, nothing else.
func TestNetworkPolicyMatchesTheConfig(t *testing.T) {
	r := renderBase(t)
	dep := r.deployment(t)
	c := container(t, dep)
	cfg, _ := gatewayConfig(t, r)
	np := one(t, "NetworkPolicy", r.netpols)
	if sel, err := metav1.LabelSelectorAsSelector(&np.Spec.PodSelector); err != nil || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Fatalf("the NetworkPolicy does not select the pods: %v", err)
	}
	if !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeIngress) || !slices.Contains(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress) {
		t.Errorf("policyTypes %v: want Ingress and Egress", np.Spec.PolicyTypes)
	}
	ingress := map[int32][]string{}
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			port := resolvePort(t, c, *p.Port)
			for _, from := range rule.From {
				ingress[port] = append(ingress[port], fmt.Sprint(from.PodSelector.MatchLabels))
			}
		}
	}
	api, admin := ingress[portOf(t, cfg.GRPCAddr)], ingress[portOf(t, cfg.AdminAddr)]
	if len(api) == 0 || !slices.Equal(api, ingress[portOf(t, cfg.HTTPAddr)]) {
		t.Errorf("gRPC and REST ports admit %v and %v; want the same callers", api, ingress[portOf(t, cfg.HTTPAddr)])
	}
	if len(admin) == 0 || slices.Equal(admin, api) {
		t.Errorf("the admin port admits %v: want only the metrics scraper, not API callers", admin)
	}
	egress := map[int32]bool{}
	for _, rule := range np.Spec.Egress {
		for _, p := range rule.Ports {
			egress[p.Port.IntVal] = true
		}
	}
	for _, a := range cfg.Accounts {
		for _, raw := range []string{a.TokenURL, a.BaseURL} {
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			port := u.Port()
			if port == "" {
				port = map[string]string{"https": "443", "http": "80"}[u.Scheme]
			}
			if n, _ := strconv.Atoi(port); !egress[int32(n)] {
				t.Errorf("account %s: egress to %s (port %s) is not allowed", a.Name, raw, port)
			}
		}
	}
	if !egress[53] {
		t.Error("no DNS egress")
	}
}

func container(t *testing.T, dep *appsv1.Deployment) *corev1.Container {
	t.Helper()
	for i := range dep.Spec.Template.Spec.Containers {
		if c := &dep.Spec.Template.Spec.Containers[i]; c.Name == containerName {
			return c
		}
	}
	t.Fatalf("no container %s", containerName)
	return nil
}

func volume(t *testing.T, dep *appsv1.Deployment, name string) *corev1.Volume {
	t.Helper()
	for i := range dep.Spec.Template.Spec.Volumes {
		if v := &dep.Spec.Template.Spec.Volumes[i]; v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return nil
}

func mountAt(c *corev1.Container, dir string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if path.Clean(c.VolumeMounts[i].MountPath) == dir {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

// resolvePort turns a port number or container port name into a number.
func resolvePort(t *testing.T, c *corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Errorf("port %q names no container port", p.StrVal)
	return -1
}

func portOf(t *testing.T, addr string) int32 {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	n, err2 := strconv.Atoi(port)
	if err != nil || err2 != nil {
		t.Fatalf("address %q has no port", addr)
	}
	return int32(n)
}

func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
