package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/pvara-gov/pvara/internal/platform/config"
)

// There is no container engine here, so these tests read the Dockerfile,
// docker-compose.yml and the Kubernetes manifests and check them against
// the code: commands and roles that exist, configuration keys that exist,
// ports that match the defaults, probes, users, ordering.

const repoRoot = "../.."

// pendingRoles are worker roles of API.md that the manifests already deploy
// but whose modules have not registered them in knownRoles yet. Remove each
// one when its module lands; a role in neither list is refused.
var pendingRoles = []string{}

func readRepoFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, name))
	require.NoError(t, err)
	return b
}

// envNames are the environment variables pvara reads.
func envNames() map[string]bool {
	m := map[string]bool{"PVARA_CONFIG": true}
	for _, f := range configFields() {
		m[config.EnvName(f.key)] = true
	}
	return m
}

func portOf(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	require.NoError(t, err, addr)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return n
}

// checkPvaraArgs fails unless args is a pvara command line that the command
// tree accepts: a real subcommand, real flags, valid arguments and roles.
func checkPvaraArgs(t *testing.T, where string, args []string) {
	t.Helper()
	require.NotEmpty(t, args, "%s: no pvara arguments", where)
	root := newRootCmd()
	cmd, rest, err := root.Find(args)
	require.NoError(t, err, "%s: %v", where, args)
	require.NotEqual(t, root, cmd, "%s: %v names no pvara subcommand", where, args)
	require.NoError(t, cmd.ParseFlags(rest), "%s: %v", where, args)
	pos := cmd.Flags().Args()
	if cmd.Args != nil {
		require.NoError(t, cmd.Args(cmd, pos), "%s: %v", where, args)
	}
	if len(cmd.ValidArgs) > 0 {
		for _, a := range pos {
			require.Contains(t, cmd.ValidArgs, a, "%s: %v", where, args)
		}
	}
	if cmd.Name() == "worker" {
		roles, err := cmd.Flags().GetStringSlice("role")
		require.NoError(t, err)
		require.NotEmpty(t, roles, "%s: worker without --role", where)
		for _, r := range roles {
			for _, name := range strings.Split(r, ",") {
				ok := name == "all" || slices.Contains(knownRoles, name) || slices.Contains(pendingRoles, name)
				require.True(t, ok, "%s: unknown worker role %q", where, name)
			}
		}
	}
}

// checkEnvValid loads the configuration from env the way pvara does and
// fails on any bad value.
func checkEnvValid(t *testing.T, where string, env map[string]string) {
	t.Helper()
	names := envNames()
	for k, v := range env {
		if !strings.HasPrefix(k, "PVARA_") {
			continue
		}
		require.True(t, names[k], "%s: %s is not a pvara configuration variable", where, k)
		t.Setenv(k, v)
	}
	t.Setenv("PVARA_DATA_DIR", t.TempDir())
	cmd := newServeCmd()
	_, err := loadConfig(cmd, false)
	require.NoError(t, err, "%s: the configuration does not load", where)
}

// --- Dockerfile -------------------------------------------------------------

type dockerInstr struct {
	cmd  string
	args string
}

func parseDockerfile(t *testing.T, r io.Reader) []dockerInstr {
	t.Helper()
	var out []dockerInstr
	var cur strings.Builder
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if cur.Len() == 0 && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if strings.HasPrefix(line, "#") {
			continue // a comment inside a continued instruction
		}
		if s, ok := strings.CutSuffix(line, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(line)
		full := cur.String()
		cur.Reset()
		cmd, args, _ := strings.Cut(full, " ")
		out = append(out, dockerInstr{strings.ToUpper(cmd), strings.TrimSpace(args)})
	}
	require.NoError(t, sc.Err())
	return out
}

func execForm(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	require.NoError(t, yaml.Unmarshal([]byte(s), &out), "not an exec-form JSON array: %s", s)
	return out
}

func TestDockerfile(t *testing.T) {
	instrs := parseDockerfile(t, strings.NewReader(string(readRepoFile(t, "Dockerfile"))))
	args := map[string]string{}
	var stages [][]dockerInstr
	for _, in := range instrs {
		if in.cmd == "ARG" && len(stages) == 0 {
			k, v, _ := strings.Cut(in.args, "=")
			args[k] = v
		}
		if in.cmd == "FROM" {
			stages = append(stages, nil)
		}
		if len(stages) > 0 {
			stages[len(stages)-1] = append(stages[len(stages)-1], in)
		}
	}
	require.Len(t, stages, 2, "a build stage and a final stage")

	// The builder's Go is the go.mod's.
	gomod := string(readRepoFile(t, "go.mod"))
	m := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	require.NotNil(t, m)
	from := os.Expand(stages[0][0].args, func(k string) string { return args[k] })
	require.Regexp(t, `^golang:`+regexp.QuoteMeta(m[1])+`(\.\d+)?(-\S+)? AS build$`, from)

	var build string
	for _, in := range stages[0] {
		if in.cmd == "RUN" && strings.Contains(in.args, "go build") {
			build = in.args
		}
	}
	for _, want := range []string{"CGO_ENABLED=0", "-trimpath", "-X main.version=", "-X main.commit=", "-X main.buildDate=", "./cmd/pvara", "-o /out/pvara"} {
		require.Contains(t, build, want)
	}
	// The variables the ldflags set exist.
	_, _, _ = version, commit, buildDate

	final := map[string][]string{}
	for _, in := range stages[1] {
		final[in.cmd] = append(final[in.cmd], in.args)
	}
	require.Regexp(t, `^(gcr\.io/distroless/static\S*|scratch)$`, final["FROM"][0], "a static, shell-less base")
	require.Contains(t, final["COPY"], "--from=build /out/pvara /pvara")
	require.Len(t, final["USER"], 1)
	user := strings.Split(final["USER"][0], ":")[0]
	require.NotContains(t, []string{"root", "0"}, user, "runs as non-root")
	require.Equal(t, []string{"/pvara"}, execForm(t, final["ENTRYPOINT"][0]))
	checkPvaraArgs(t, "Dockerfile CMD", execForm(t, final["CMD"][0]))
	exposed := strings.Fields(strings.Join(final["EXPOSE"], " "))
	d := config.Defaults()
	require.Contains(t, exposed, strconv.Itoa(portOf(t, d.HTTP.Addr)), "the API port")
	require.Contains(t, exposed, strconv.Itoa(portOf(t, d.Admin.Addr)), "the admin port")

	ignore := strings.Fields(string(readRepoFile(t, ".dockerignore")))
	require.Contains(t, ignore, ".pvara", "dev data never goes into the build context")
	require.Contains(t, ignore, ".git")
	for _, needed := range []string{"go.mod", "go.sum", "cmd", "db", "internal"} {
		require.NotContains(t, ignore, needed)
	}
}

// --- docker-compose.yml -----------------------------------------------------

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     []string       `yaml:"command"`
	Environment map[string]any `yaml:"environment"`
	Ports       []string       `yaml:"ports"`
	DependsOn   yaml.Node      `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Volumes []string `yaml:"volumes"`
	Restart string   `yaml:"restart"`
}

func (s composeService) env() map[string]string {
	out := map[string]string{}
	for k, v := range s.Environment {
		out[k] = fmt.Sprint(v)
	}
	return out
}

// dependsOn returns service → condition ("" for the short list form).
func (s composeService) dependsOn(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	switch s.DependsOn.Kind {
	case 0:
	case yaml.SequenceNode:
		var names []string
		require.NoError(t, s.DependsOn.Decode(&names))
		for _, n := range names {
			out[n] = ""
		}
	case yaml.MappingNode:
		var m map[string]struct {
			Condition string `yaml:"condition"`
		}
		require.NoError(t, s.DependsOn.Decode(&m))
		for n, c := range m {
			out[n] = c.Condition
		}
	default:
		t.Fatalf("depends_on: unexpected YAML")
	}
	return out
}

// publishes reports whether the service publishes containerPort.
func (s composeService) publishes(port int) bool {
	for _, p := range s.Ports {
		parts := strings.Split(p, ":")
		if parts[len(parts)-1] == strconv.Itoa(port) {
			return true
		}
	}
	return false
}

func TestDockerCompose(t *testing.T) {
	var f struct {
		Services map[string]composeService `yaml:"services"`
	}
	require.NoError(t, yaml.Unmarshal(readRepoFile(t, "docker-compose.yml"), &f))
	svc := f.Services
	for _, name := range []string{"postgres", "redis", "kafka", "migrate", "api", "worker", "prometheus", "grafana"} {
		require.Contains(t, svc, name)
	}
	require.Regexp(t, `^postgres:15(\.|-|$)`, svc["postgres"].Image)
	require.Regexp(t, `^redis:7(\.|-|$)`, svc["redis"].Image)
	require.Regexp(t, `^(apache|bitnami)/kafka:`, svc["kafka"].Image)
	kenv := svc["kafka"].env()
	roles := kenv["KAFKA_PROCESS_ROLES"] + kenv["KAFKA_CFG_PROCESS_ROLES"]
	require.Contains(t, roles, "controller", "KRaft: the node is its own controller")
	for name := range svc {
		require.NotContains(t, name, "zookeeper")
	}
	require.NotNil(t, svc["postgres"].Healthcheck, "migrate waits for a healthy PostgreSQL")
	require.Regexp(t, `^prom/prometheus:`, svc["prometheus"].Image)
	require.Regexp(t, `^grafana/grafana`, svc["grafana"].Image)

	// The pvara services: one image, real commands, real and valid settings.
	pvara := []string{"migrate", "api", "worker"}
	for _, name := range pvara {
		s := svc[name]
		require.NotNil(t, s.Build, "%s builds the image from this repository", name)
		require.Equal(t, svc["api"].Image, s.Image, "%s runs the same image", name)
		checkPvaraArgs(t, "compose "+name, s.Command)
		checkEnvValid(t, "compose "+name, s.env())
	}
	require.Equal(t, []string{"migrate", "up"}, svc["migrate"].Command)
	require.Equal(t, "no", svc["migrate"].Restart, "migrate runs once")
	require.Equal(t, []string{"serve"}, svc["api"].Command)
	require.Equal(t, "worker", svc["worker"].Command[0])

	// Ordering: postgres healthy → migrate → api and worker.
	require.Equal(t, "service_healthy", svc["migrate"].dependsOn(t)["postgres"])
	for _, name := range []string{"api", "worker"} {
		deps := svc[name].dependsOn(t)
		require.Equal(t, "service_completed_successfully", deps["migrate"], name)
		require.Contains(t, deps, "redis", name)
		require.Contains(t, deps, "kafka", name)
	}

	// The URLs point at the services as they are configured.
	env := svc["api"].env()
	pg := svc["postgres"].env()
	u, err := url.Parse(env["PVARA_DATABASE_URL"])
	require.NoError(t, err)
	require.Equal(t, "postgres", u.Hostname())
	require.Equal(t, pg["POSTGRES_USER"], u.User.Username())
	pw, _ := u.User.Password()
	require.Equal(t, pg["POSTGRES_PASSWORD"], pw)
	require.Equal(t, "/"+pg["POSTGRES_DB"], u.Path)
	r, err := url.Parse(env["PVARA_REDIS_URL"])
	require.NoError(t, err)
	require.Equal(t, "redis", r.Hostname())
	for _, b := range strings.Split(env["PVARA_KAFKA_BROKERS"], ",") {
		require.Contains(t, kenv["KAFKA_ADVERTISED_LISTENERS"], "//"+b, "brokers are advertised as pvara dials them")
	}

	// Ports: the container ports are the ones pvara listens on.
	d := config.Defaults()
	httpPort, adminPort := portOf(t, d.HTTP.Addr), portOf(t, d.Admin.Addr)
	if a := env["PVARA_HTTP_ADDR"]; a != "" {
		httpPort = portOf(t, a)
	}
	if a := env["PVARA_ADMIN_ADDR"]; a != "" {
		adminPort = portOf(t, a)
	}
	require.True(t, svc["api"].publishes(httpPort), "api publishes the API port %d", httpPort)
	require.True(t, svc["api"].publishes(adminPort), "api publishes the admin port %d", adminPort)
	require.True(t, svc["worker"].publishes(adminPort), "worker publishes the admin port %d", adminPort)

	// Prometheus scrapes the admin listeners; Grafana reads Prometheus.
	var promMount string
	for _, v := range svc["prometheus"].Volumes {
		if strings.HasSuffix(strings.TrimSuffix(v, ":ro"), ":/etc/prometheus/prometheus.yml") {
			promMount = strings.SplitN(v, ":", 2)[0]
		}
	}
	require.Equal(t, "./deploy/prometheus.yml", promMount)
	var prom struct {
		ScrapeConfigs []struct {
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	require.NoError(t, yaml.Unmarshal(readRepoFile(t, "deploy/prometheus.yml"), &prom))
	var targets []string
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets = append(targets, st.Targets...)
		}
	}
	require.Contains(t, targets, fmt.Sprintf("api:%d", adminPort))
	require.Contains(t, targets, fmt.Sprintf("worker:%d", adminPort))

	require.Contains(t, svc["grafana"].Volumes, "./deploy/grafana/provisioning:/etc/grafana/provisioning:ro")
	var ds struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	require.NoError(t, yaml.Unmarshal(readRepoFile(t, "deploy/grafana/provisioning/datasources/prometheus.yml"), &ds))
	require.Len(t, ds.Datasources, 1)
	require.Equal(t, "prometheus", ds.Datasources[0].Type)
	require.Equal(t, "http://prometheus:9090", ds.Datasources[0].URL)
}

// --- Kubernetes -------------------------------------------------------------

type k8sProbe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

type k8sContainer struct {
	Name    string   `yaml:"name"`
	Image   string   `yaml:"image"`
	Command []string `yaml:"command"`
	Args    []string `yaml:"args"`
	Ports   []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	EnvFrom []struct {
		ConfigMapRef *struct {
			Name string `yaml:"name"`
		} `yaml:"configMapRef"`
		SecretRef *struct {
			Name string `yaml:"name"`
		} `yaml:"secretRef"`
	} `yaml:"envFrom"`
	Env []struct {
		Name  string `yaml:"name"`
		Value string `yaml:"value"`
	} `yaml:"env"`
	LivenessProbe  *k8sProbe `yaml:"livenessProbe"`
	ReadinessProbe *k8sProbe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]any `yaml:"requests"`
		Limits   map[string]any `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
}

func (c k8sContainer) port(name string) int {
	for _, p := range c.Ports {
		if p.Name == name {
			return p.ContainerPort
		}
	}
	return 0
}

type k8sPodSpec struct {
	TerminationGracePeriodSeconds *int   `yaml:"terminationGracePeriodSeconds"`
	AutomountServiceAccountToken  *bool  `yaml:"automountServiceAccountToken"`
	RestartPolicy                 string `yaml:"restartPolicy"`
	SecurityContext               struct {
		RunAsNonRoot   *bool `yaml:"runAsNonRoot"`
		RunAsUser      *int  `yaml:"runAsUser"`
		SeccompProfile struct {
			Type string `yaml:"type"`
		} `yaml:"seccompProfile"`
	} `yaml:"securityContext"`
	InitContainers []k8sContainer `yaml:"initContainers"`
	Containers     []k8sContainer `yaml:"containers"`
}

type k8sObject struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		// Deployment, Job
		Replicas *int `yaml:"replicas"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec k8sPodSpec `yaml:"spec"`
		} `yaml:"template"`
		// Service (its selector is a plain map: decoded separately)
		Ports []struct {
			Name       string `yaml:"name"`
			Port       int    `yaml:"port"`
			TargetPort any    `yaml:"targetPort"`
		} `yaml:"ports"`
		// HorizontalPodAutoscaler
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicas int `yaml:"minReplicas"`
		MaxReplicas int `yaml:"maxReplicas"`
	} `yaml:"spec"`
	serviceSelector map[string]string
}

func loadManifests(t *testing.T, files ...string) []k8sObject {
	t.Helper()
	var out []k8sObject
	for _, f := range files {
		dec := yaml.NewDecoder(strings.NewReader(string(readRepoFile(t, filepath.Join("deploy/k8s", f)))))
		for {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err, f)
			if len(node.Content) == 0 || node.Content[0].Kind != yaml.MappingNode {
				continue // a document of comments only
			}
			var o k8sObject
			require.NoError(t, node.Decode(&o), f)
			if o.Kind == "Service" {
				var s struct {
					Spec struct {
						Selector map[string]string `yaml:"selector"`
					} `yaml:"spec"`
				}
				require.NoError(t, node.Decode(&s))
				o.serviceSelector = s.Spec.Selector
			}
			require.NotEmpty(t, o.Kind, "%s: a document without kind", f)
			out = append(out, o)
		}
	}
	return out
}

func subset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

func TestKubernetesManifests(t *testing.T) {
	var kust struct {
		Resources []string `yaml:"resources"`
		Images    []struct {
			Name string `yaml:"name"`
		} `yaml:"images"`
	}
	require.NoError(t, yaml.Unmarshal(readRepoFile(t, "deploy/k8s/kustomization.yaml"), &kust))
	// Every manifest but the example Secret is applied.
	entries, err := os.ReadDir(filepath.Join(repoRoot, "deploy/k8s"))
	require.NoError(t, err)
	for _, e := range entries {
		if n := e.Name(); strings.HasSuffix(n, ".yaml") && n != "kustomization.yaml" && n != "secret.example.yaml" {
			require.Contains(t, kust.Resources, n, "kustomization.yaml leaves out %s", n)
		}
	}
	require.Len(t, kust.Images, 1)
	image := kust.Images[0].Name

	objs := loadManifests(t, append(slices.Clone(kust.Resources), "secret.example.yaml")...)
	byKind := map[string][]k8sObject{}
	for _, o := range objs {
		byKind[o.Kind] = append(byKind[o.Kind], o)
	}
	names := envNames()

	// ConfigMap and Secret: real keys, and values pvara accepts.
	require.Len(t, byKind["ConfigMap"], 1)
	cm := byKind["ConfigMap"][0]
	require.Len(t, byKind["Secret"], 1)
	secret := byKind["Secret"][0]
	all := map[string]string{}
	for k, v := range cm.Data {
		require.True(t, names[k], "ConfigMap key %s is not a pvara variable", k)
		all[k] = v
	}
	for k, v := range secret.StringData {
		require.True(t, names[k], "Secret key %s is not a pvara variable", k)
		all[k] = v
	}
	checkEnvValid(t, "ConfigMap + Secret", all)
	// Every secret setting is shown in the example Secret (a deployment
	// copies it), except the optional ones listed here.
	optionalSecrets := []string{"kafka.sasl_password"}
	for _, f := range configFields() {
		if f.typ == reflect.TypeFor[config.Secret]() && !slices.Contains(optionalSecrets, f.key) {
			require.Contains(t, secret.StringData, config.EnvName(f.key), "secret.example.yaml lacks the secret setting %s", f.key)
		}
		if f.typ == reflect.TypeFor[config.Secret]() {
			require.NotContains(t, cm.Data, config.EnvName(f.key), "%s is a secret: it belongs in the Secret, not the ConfigMap", f.key)
		}
	}
	delay, err := time.ParseDuration(cm.Data["PVARA_SHUTDOWN_DELAY"])
	require.NoError(t, err)
	grace, err := time.ParseDuration(cm.Data["PVARA_SHUTDOWN_GRACE"])
	require.NoError(t, err)
	adminPort := portOf(t, cm.Data["PVARA_ADMIN_ADDR"])
	httpPort := portOf(t, cm.Data["PVARA_HTTP_ADDR"])

	checkContainer := func(where string, c k8sContainer) {
		require.Equal(t, image, c.Image, "%s: the release image", where)
		require.Empty(t, c.Command, "%s: the image's entrypoint is pvara", where)
		checkPvaraArgs(t, where, c.Args)
		var cms, secrets []string
		for _, ef := range c.EnvFrom {
			if ef.ConfigMapRef != nil {
				cms = append(cms, ef.ConfigMapRef.Name)
			}
			if ef.SecretRef != nil {
				secrets = append(secrets, ef.SecretRef.Name)
			}
		}
		require.Equal(t, []string{cm.Metadata.Name}, cms, where)
		require.Equal(t, []string{secret.Metadata.Name}, secrets, where)
		for _, e := range c.Env {
			if strings.HasPrefix(e.Name, "PVARA_") {
				require.True(t, names[e.Name], "%s: %s", where, e.Name)
			}
		}
		require.Contains(t, c.Resources.Requests, "cpu", where)
		require.Contains(t, c.Resources.Requests, "memory", where)
		require.Contains(t, c.Resources.Limits, "memory", where)
		sc := c.SecurityContext
		require.True(t, sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, where)
		require.True(t, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem, where)
		require.Equal(t, []string{"ALL"}, sc.Capabilities.Drop, where)
	}
	checkPod := func(where string, p k8sPodSpec) {
		require.True(t, p.SecurityContext.RunAsNonRoot != nil && *p.SecurityContext.RunAsNonRoot, where)
		require.True(t, p.SecurityContext.RunAsUser != nil && *p.SecurityContext.RunAsUser != 0, where)
		require.Equal(t, "RuntimeDefault", p.SecurityContext.SeccompProfile.Type, where)
		require.True(t, p.AutomountServiceAccountToken != nil && !*p.AutomountServiceAccountToken, where)
		for _, c := range p.InitContainers {
			checkContainer(where+" init "+c.Name, c)
		}
		for _, c := range p.Containers {
			checkContainer(where+" "+c.Name, c)
		}
	}

	// The migrate Job.
	require.Len(t, byKind["Job"], 1)
	job := byKind["Job"][0]
	checkPod("Job "+job.Metadata.Name, job.Spec.Template.Spec)
	require.Contains(t, []string{"Never", "OnFailure"}, job.Spec.Template.Spec.RestartPolicy)
	require.Equal(t, []string{"migrate", "up"}, job.Spec.Template.Spec.Containers[0].Args)

	// The Deployments: api and one per worker role.
	var deployedRoles []string
	deployments := map[string]k8sObject{}
	for _, d := range byKind["Deployment"] {
		where := "Deployment " + d.Metadata.Name
		deployments[d.Metadata.Name] = d
		p := d.Spec.Template.Spec
		checkPod(where, p)
		require.True(t, subset(d.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels), "%s: selector matches its pods", where)
		require.Len(t, p.Containers, 1, where)
		c := p.Containers[0]

		// Start only on a current schema.
		var waits bool
		for _, ic := range p.InitContainers {
			if len(ic.Args) >= 2 && ic.Args[0] == "migrate" && ic.Args[1] == "wait" {
				waits = true
			}
		}
		require.True(t, waits, "%s: an init container runs `pvara migrate wait`", where)

		// Probes on the admin listener.
		require.Equal(t, adminPort, c.port("admin"), "%s: port admin is PVARA_ADMIN_ADDR's", where)
		require.NotNil(t, c.LivenessProbe, where)
		require.NotNil(t, c.LivenessProbe.HTTPGet, where)
		require.Equal(t, "/livez", c.LivenessProbe.HTTPGet.Path, where)
		require.Equal(t, "admin", c.LivenessProbe.HTTPGet.Port, where)
		require.NotNil(t, c.ReadinessProbe, where)
		require.NotNil(t, c.ReadinessProbe.HTTPGet, where)
		require.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path, where)
		require.Equal(t, "admin", c.ReadinessProbe.HTTPGet.Port, where)

		require.NotNil(t, p.TerminationGracePeriodSeconds, where)
		tgp := time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
		switch c.Args[0] {
		case "serve":
			require.Equal(t, httpPort, c.port("http"), "%s: port http is PVARA_HTTP_ADDR's", where)
			require.Greater(t, tgp, delay+grace, "%s: the pod is killed only after DELAY + GRACE", where)
		case "worker":
			require.Greater(t, tgp, grace, "%s: the pod is killed only after GRACE", where)
			require.Len(t, c.Args, 2, where)
			role, ok := strings.CutPrefix(c.Args[1], "--role=")
			require.True(t, ok, where)
			require.NotContains(t, role, ",", "%s: one role per Deployment", where)
			require.Equal(t, "pvara-worker-"+role, d.Metadata.Name)
			deployedRoles = append(deployedRoles, role)
		default:
			t.Fatalf("%s runs %v", where, c.Args)
		}
	}
	require.Contains(t, deployments, "pvara-api")
	for _, r := range knownRoles {
		require.Contains(t, deployedRoles, r, "role %s has no Deployment in deploy/k8s/workers.yaml", r)
	}
	for _, r := range pendingRoles {
		require.Contains(t, deployedRoles, r)
	}

	// Service → api pods, by a port the container names.
	require.Len(t, byKind["Service"], 1)
	svc := byKind["Service"][0]
	api := deployments["pvara-api"]
	require.True(t, subset(svc.serviceSelector, api.Spec.Template.Metadata.Labels), "the Service selects the api pods")
	for _, p := range svc.Spec.Ports {
		require.NotZero(t, api.Spec.Template.Spec.Containers[0].port(fmt.Sprint(p.TargetPort)), "targetPort %v", p.TargetPort)
	}

	// A PodDisruptionBudget for every Deployment.
	for name, d := range deployments {
		var found bool
		for _, pdb := range byKind["PodDisruptionBudget"] {
			if subset(pdb.Spec.Selector.MatchLabels, d.Spec.Template.Metadata.Labels) {
				found = true
			}
		}
		require.True(t, found, "no PodDisruptionBudget covers %s", name)
	}

	// The HPA scales the api.
	require.Len(t, byKind["HorizontalPodAutoscaler"], 1)
	hpa := byKind["HorizontalPodAutoscaler"][0]
	require.Equal(t, "Deployment", hpa.Spec.ScaleTargetRef.Kind)
	require.Equal(t, "pvara-api", hpa.Spec.ScaleTargetRef.Name)
	require.GreaterOrEqual(t, hpa.Spec.MinReplicas, 2)
	require.GreaterOrEqual(t, hpa.Spec.MaxReplicas, hpa.Spec.MinReplicas)
}
