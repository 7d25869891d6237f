package schema

import (
	"path"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// Spec is a validated app spec with every default applied, for one
// environment (or the base spec, before environment overrides).
type Spec struct {
	APIVersion    string            `json:"apiVersion"`
	Name          string            `json:"name"`
	Team          string            `json:"team"`
	Kind          string            `json:"kind"`
	Image         string            `json:"image"`
	Port          int               `json:"port,omitempty"`
	Args          []string          `json:"args,omitempty"`
	Health        *Health           `json:"health,omitempty"`
	Size          string            `json:"size"`
	Replicas      *Replicas         `json:"replicas,omitempty"`
	Env           map[string]string `json:"env"`
	Secrets       map[string]string `json:"secrets"`
	Ingress       *Ingress          `json:"ingress,omitempty"`
	DependsOn     []string          `json:"dependsOn"`
	Calls         []string          `json:"calls"`
	AcceptsFrom   []string          `json:"acceptsFrom"`
	Schedule      string            `json:"schedule,omitempty"`
	Budget        *Budget           `json:"budget,omitempty"`
	Observability Observability     `json:"observability"`
	NetworkPolicy Toggle            `json:"networkPolicy"`
	Egress        []Egress          `json:"egress"`
	Patches       []Patch           `json:"patches"`
	Exceptions    []Exception       `json:"exceptions"`
	// The catalog entry.
	Description string   `json:"description,omitempty"`
	System      string   `json:"system,omitempty"`
	Lifecycle   string   `json:"lifecycle"`
	Links       []Link   `json:"links"`
	Tags        []string `json:"tags"`
	Rollout     Rollout  `json:"rollout"`
	// Promotion narrows the platform's promotion per environment.
	Promotion map[string]AppPromotion `json:"promotion"`
	// Databases are the app's PostgreSQL clusters by name.
	Databases map[string]Database `json:"databases"`
	// Preview narrows the platform's previews for the app.
	Preview *PreviewOverrides `json:"preview,omitempty"`
}

// PreviewOverrides narrow the platform's previews for one app.
type PreviewOverrides struct {
	Enabled  bool             `json:"enabled"`
	Size     string           `json:"size,omitempty"`
	Database *PreviewDatabase `json:"database,omitempty"`
}

// PreviewDatabase is how a preview's databases start: empty, sql (SQL
// statements run once created) or backup (restored from the platform's
// backups of RestoreFrom).
type PreviewDatabase struct {
	Mode        string   `json:"mode"`
	SQL         []string `json:"sql"`
	RestoreFrom string   `json:"restoreFrom,omitempty"`
}

// Previews are the platform's preview environments (#Previews).
type Previews struct {
	Clusters    []string        `json:"clusters"`
	Domain      string          `json:"domain"`
	Branch      string          `json:"branch"`
	Directory   string          `json:"directory"`
	TTL         string          `json:"ttl"`
	MaxLifetime string          `json:"maxLifetime"`
	PerTeam     int             `json:"perTeam"`
	Size        string          `json:"size"`
	SecretStore SecretStoreRef  `json:"secretStore"`
	Database    PreviewDatabase `json:"database"`
}

// SecretStoreRef names a secret store.
type SecretStoreRef struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
}

// Link is a link on the app's catalog page.
type Link struct {
	URL   string `json:"url"`
	Title string `json:"title"`
	Icon  string `json:"icon,omitempty"`
}

// Rollout strategies.
const (
	RolloutRolling   = "rolling"
	RolloutCanary    = "canary"
	RolloutBlueGreen = "blue-green"
)

// Rollout is how a new version replaces the running one.
type Rollout struct {
	Strategy string          `json:"strategy"`
	Analysis RolloutAnalysis `json:"analysis"`
	LoadTest *LoadTest       `json:"loadTest,omitempty"`
}

// Progressive reports whether Flagger runs the rollout (canary or
// blue-green).
func (r Rollout) Progressive() bool {
	return r.Strategy == RolloutCanary || r.Strategy == RolloutBlueGreen
}

// RolloutAnalysis overrides the platform's analysis settings.
type RolloutAnalysis struct {
	Interval           string `json:"interval,omitempty"`
	Threshold          int    `json:"threshold,omitempty"`
	StepWeight         int    `json:"stepWeight,omitempty"`
	MaxWeight          int    `json:"maxWeight,omitempty"`
	Iterations         int    `json:"iterations,omitempty"`
	RequestSuccessRate struct {
		Enabled    bool     `json:"enabled"`
		MinPercent *float64 `json:"minPercent,omitempty"`
	} `json:"requestSuccessRate"`
	RequestDuration struct {
		Enabled bool `json:"enabled"`
		MaxMs   int  `json:"maxMs,omitempty"`
	} `json:"requestDuration"`
}

// LoadTest is the load Flagger's tester sends to a new version.
type LoadTest struct {
	Path        string `json:"path"`
	QPS         int    `json:"qps"`
	Concurrency int    `json:"concurrency"`
}

// Database is a PostgreSQL cluster (CloudNativePG) the app owns.
type Database struct {
	Engine     string `json:"engine"`
	Size       string `json:"size"`
	StorageGiB int    `json:"storageGiB"`
	Instances  int    `json:"instances,omitempty"`
	Version    int    `json:"version"`
}

// Health is the web app's probe configuration.
type Health struct {
	Enabled       bool   `json:"enabled"`
	Liveness      string `json:"liveness"`
	Readiness     string `json:"readiness"`
	Justification string `json:"justification,omitempty"`
}

// Replicas bounds the replica count.
type Replicas struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Ingress publishes a web app.
type Ingress struct {
	Host string `json:"host,omitempty"`
	Path string `json:"path"`
}

// Budget is the app's own monthly ceiling.
type Budget struct {
	MonthlyUSD float64 `json:"monthlyUSD"`
}

// Toggle is a default that may be turned off with a justification.
type Toggle struct {
	Enabled       bool   `json:"enabled"`
	Justification string `json:"justification,omitempty"`
}

// Observability holds the tracing, metrics and logging defaults.
type Observability struct {
	Tracing struct {
		Toggle
		SampleRatio *float64 `json:"sampleRatio,omitempty"`
	} `json:"tracing"`
	Metrics struct {
		Toggle
		Port int    `json:"port"`
		Path string `json:"path"`
	} `json:"metrics"`
	Logging   Toggle `json:"logging"`
	Dashboard Toggle `json:"dashboard"`
}

// Patch is a kustomize patches entry.
type Patch struct {
	Target *PatchTarget `json:"target,omitempty"`
	Patch  string       `json:"patch"`
}

// PatchTarget selects the objects a patch applies to.
type PatchTarget struct {
	Group              string `json:"group,omitempty"`
	Version            string `json:"version,omitempty"`
	Kind               string `json:"kind,omitempty"`
	Name               string `json:"name,omitempty"`
	Namespace          string `json:"namespace,omitempty"`
	LabelSelector      string `json:"labelSelector,omitempty"`
	AnnotationSelector string `json:"annotationSelector,omitempty"`
}

// Exception waives a policy for the app.
type Exception struct {
	Policy      string `json:"policy"`
	Reason      string `json:"reason"`
	Owner       string `json:"owner"`
	Expires     string `json:"expires"`
	Environment string `json:"environment,omitempty"`
	Cluster     string `json:"cluster,omitempty"`
	Object      string `json:"object,omitempty"`
	// Approval names the platform's approval (PolicySettings.Approvals).
	Approval string `json:"approval,omitempty"`
}

// Egress is one backend an app calls that paved does not deploy.
type Egress struct {
	Host          string `json:"host,omitempty"`
	CIDR          string `json:"cidr,omitempty"`
	Port          int    `json:"port"`
	Protocol      string `json:"protocol"`
	Justification string `json:"justification,omitempty"`
}

// serviceHost matches a Kubernetes Service's DNS name (#ServiceHost).
var serviceHost = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?\.[a-z0-9]([-a-z0-9]*[a-z0-9])?\.svc(\.cluster\.local)?$`)

// Internal reports whether the egress is to a Service in the cluster.
func (e Egress) Internal() bool { return e.Host != "" && serviceHost.MatchString(e.Host) }

// PlatformData is the decoded platform in force.
type PlatformData struct {
	// Extends is "example" when the platform builds on the example.
	Extends string `json:"extends,omitempty"`
	// Paved is the range of paved versions the platform is written for
	// (">=0.1.0 <0.2.0"), "" for any: CheckVersion.
	Paved        string                 `json:"paved,omitempty"`
	Environments map[string]Environment `json:"environments"`
	Sizes        map[string]Size        `json:"sizes"`
	Prices       struct {
		CPUCoreMonth    float64 `json:"cpuCoreMonth"`
		MemoryGiBMonth  float64 `json:"memoryGiBMonth"`
		StorageGiBMonth float64 `json:"storageGiBMonth"`
	} `json:"prices"`
	Teams map[string]Team `json:"teams"`
	// SourceAliases: an origin identity (pattern) -> the --source
	// identities (patterns) it may commit as.
	SourceAliases map[string][]string `json:"sourceAliases"`
	SecretStore   SecretStore         `json:"secretStore"`
	Registries    []string            `json:"registries"`
	Flux          Flux                `json:"flux"`
	Policy        PolicySettings      `json:"policy"`
	Catalog       CatalogSettings     `json:"catalog"`
	Dashboards    Dashboards          `json:"dashboards"`
	Metrics       MetricVocabulary    `json:"metrics"`
	Network       struct {
		InternetEgress string `json:"internetEgress"`
	} `json:"network"`
	OwnerRole string   `json:"ownerRole"`
	Tenancy   Tenancy  `json:"tenancy"`
	Workload  Workload `json:"workload"`
	Previews  Previews `json:"previews"`
	Databases struct {
		Backup struct {
			DestinationPath string `json:"destinationPath,omitempty"`
			EndpointURL     string `json:"endpointURL"`
			Credentials     struct {
				Key                     string `json:"key"`
				AccessKeyIDProperty     string `json:"accessKeyIdProperty"`
				SecretAccessKeyProperty string `json:"secretAccessKeyProperty"`
			} `json:"credentials"`
		} `json:"backup"`
		Operator namespaced `json:"operator"`
	} `json:"databases"`
	ReservedNames []string   `json:"reservedNames"`
	Ingress       namespaced `json:"ingress"`
	Monitoring    namespaced `json:"monitoring"`
	Telemetry     namespaced `json:"telemetry"`
	Rollout       struct {
		LoadTester namespaced `json:"loadTester"`
	} `json:"rollout"`
}

// namespaced is a platform component's namespace.
type namespaced struct {
	Namespace string `json:"namespace"`
}

// ReservedNamespace reports whether ns is one no team may take (#Platform's
// _reserved): kube-*, default, flux-system, the platform's reservedNames
// and the namespaces of its own components (Flux source, ingress,
// monitoring, telemetry, rollout load tester, database operator).
func (d *PlatformData) ReservedNamespace(ns string) bool {
	if strings.HasPrefix(ns, "kube-") || ns == "default" || ns == "flux-system" || slices.Contains(d.ReservedNames, ns) {
		return true
	}
	return slices.Contains([]string{d.Flux.SourceRef.Namespace, d.Ingress.Namespace, d.Monitoring.Namespace,
		d.Telemetry.Namespace, d.Rollout.LoadTester.Namespace, d.Databases.Operator.Namespace}, ns)
}

// PlatformSecretKeys are the secret store keys the platform's own objects
// read in every tenant (the database backups' credentials): no team's
// part of the store, and allowed to every team's ExternalSecrets.
func (p *Platform) PlatformSecretKeys() []string {
	if k := p.Data.Databases.Backup.Credentials.Key; k != "" {
		return []string{k}
	}
	return []string{}
}

// Tenancy is how the platform confines each team in the clusters.
type Tenancy struct {
	Impersonate              bool   `json:"impersonate"`
	ControllerServiceAccount string `json:"controllerServiceAccount"`
	OwnerKind                string `json:"ownerKind"`
	Admission                struct {
		Enabled bool `json:"enabled"`
	} `json:"admission"`
	// QuotaHeadroomPercent is what a tenant's ResourceQuota allows above
	// its team's apps' requests in the cluster.
	QuotaHeadroomPercent int `json:"quotaHeadroomPercent"`
}

// TenantApplier is the ServiceAccount, in the Flux namespace, that the
// Flux Kustomizations of team's apps apply as (tenancy.impersonate). The
// tenant blueprint renders it and its Role under the same name.
func TenantApplier(team string) string { return "paved-" + team }

// OwnerRoleIn is the ClusterRole a team's owners get in environment env.
func (d *PlatformData) OwnerRoleIn(env string) string {
	if r := d.Environments[env].OwnerRole; r != "" {
		return r
	}
	return d.OwnerRole
}

// CatalogSettings are the platform's settings of the Backstage catalog.
type CatalogSettings struct {
	Lifecycle      string            `json:"lifecycle"`
	ComponentTypes map[string]string `json:"componentTypes"`
	Systems        map[string]struct {
		Description string `json:"description,omitempty"`
	} `json:"systems"`
	LocationName string `json:"locationName"`
}

// Dashboards are the platform's settings of the apps' Grafana dashboards.
type Dashboards struct {
	Label struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"label"`
	FolderAnnotation string `json:"folderAnnotation"`
	Datasources      struct {
		Metrics string `json:"metrics"`
		Traces  string `json:"traces"`
		Logs    string `json:"logs"`
	} `json:"datasources"`
}

// Workload is what every app's pods and containers get
// (platform.workload): what paved init's scaffold states as the app's
// contract.
type Workload struct {
	SecurityContext struct {
		RunAsUser              int  `json:"runAsUser"`
		RunAsGroup             int  `json:"runAsGroup"`
		ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem"`
	} `json:"securityContext"`
	Tmp struct {
		MountPath string `json:"mountPath"`
		SizeLimit string `json:"sizeLimit"`
	} `json:"tmp"`
}

// MetricVocabulary names the series web apps expose (platform.metrics).
type MetricVocabulary struct {
	HTTPDuration string `json:"httpDuration"`
	StatusLabel  string `json:"statusLabel"`
}

// PolicySettings are the platform's policy settings.
type PolicySettings struct {
	NotWaivable         []string `json:"notWaivable"`
	AllowedServiceTypes []string `json:"allowedServiceTypes"`
	AllowExternalIPs    bool     `json:"allowExternalIPs"`
	KubernetesVersion   string   `json:"kubernetesVersion"`
	WaiverWarningDays   int      `json:"waiverWarningDays"`
	// WaiverMaxDays is the longest an exception may run, in days after
	// the day it is checked; WaiverMaxDaysByPolicy replaces it per policy.
	WaiverMaxDays         int            `json:"waiverMaxDays"`
	WaiverMaxDaysByPolicy map[string]int `json:"waiverMaxDaysByPolicy"`
	// WaiverApproval says which exceptions need an approval from outside
	// the team; Approvals are the approvals the platform records.
	WaiverApproval WaiverApproval      `json:"waiverApproval"`
	Approvals      map[string]Approval `json:"approvals"`
}

// WaiverApproval says who approves exceptions, and which need approving.
type WaiverApproval struct {
	Approvers  []string `json:"approvers"`
	Policies   []string `json:"policies"`
	Severities []string `json:"severities"`
}

// Approval is an approval the platform records of one app's
// exception of one policy.
type Approval struct {
	Team       string `json:"team"`
	App        string `json:"app"`
	Policy     string `json:"policy"`
	Expires    string `json:"expires"`
	ApprovedBy string `json:"approvedBy"`
}

// Environment is one environment and its clusters.
type Environment struct {
	Clusters           map[string]Cluster `json:"clusters"`
	OwnerRole          string             `json:"ownerRole,omitempty"`
	TracingSampleRatio float64            `json:"tracingSampleRatio"`
	Databases          struct {
		Instances int  `json:"instances"`
		Backups   bool `json:"backups"`
	} `json:"databases"`
	// Flux holds the reconciliation settings of the environment's Flux
	// Kustomizations (the platform's flux by default).
	Flux struct {
		Interval      string `json:"interval"`
		RetryInterval string `json:"retryInterval"`
		Timeout       string `json:"timeout"`
	} `json:"flux"`
	// Production: the environment publishes the apps' ingress.host
	// (elsewhere, a host derived from the cluster's domain).
	Production bool `json:"production,omitempty"`
	// Promotion is how releases reach the environment.
	Promotion Promotion `json:"promotion"`
}

// Promotion modes (Environment.Promotion.Mode).
const (
	PromoteAtCommit = "commit"
	PromoteAuto     = "auto"
	PromoteManual   = "manual"
)

// Promotion is how releases reach an environment: at commit, or from the
// environment From once the gates hold (automatically, or by a person).
type Promotion struct {
	From    string   `json:"from,omitempty"`
	Mode    string   `json:"mode"`
	Soak    string   `json:"soak"`
	Ready   bool     `json:"ready"`
	Windows []Window `json:"windows"`
}

// Window is a promotion window: days of the week, a time of day, UTC.
type Window struct {
	Days  []string `json:"days"`
	Start string   `json:"start"`
	End   string   `json:"end"`
}

// AppPromotion is what an app narrows of an environment's promotion.
type AppPromotion struct {
	Manual bool   `json:"manual,omitempty"`
	Soak   string `json:"soak,omitempty"`
}

// Cluster holds per-cluster values.
type Cluster struct {
	Region       string `json:"region"`
	OTLPEndpoint string `json:"otlpEndpoint"`
	IngressClass string `json:"ingressClass"`
	Domain       string `json:"domain"`
	CertIssuer   string `json:"certIssuer"`
	GrafanaURL   string `json:"grafanaURL,omitempty"`
	KubeContext  string `json:"kubeContext,omitempty"`
}

// Size is a size class.
type Size struct {
	CPUMillicores int `json:"cpuMillicores"`
	MemoryMiB     int `json:"memoryMiB"`
}

// SecretStore is the store every ExternalSecret reads from.
type SecretStore struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Grants: per team, key globs outside <team>/ the team may read.
	Grants map[string][]string `json:"grants"`
}

// SecretAllowed reports whether an app of team may reference ref
// (key#property): a key under <team>/, or one the platform grants it.
func (p *Platform) SecretAllowed(team, ref string) bool {
	key, _, _ := strings.Cut(ref, "#")
	if strings.HasPrefix(key, team+"/") && !strings.Contains(key, "..") {
		return true
	}
	for _, g := range p.Data.SecretStore.Grants[team] {
		if ok, err := path.Match(g, key); err == nil && ok {
			return true
		}
	}
	return false
}

// SecretKeyPatterns are the secret store keys team may read besides its own
// part (<team>/...), as anchored RE2 expressions (the admission policy's
// CEL matches them): each grant's glob, and the keys the platform's own
// objects read in every tenant (PlatformSecretKeys, matched literally).
func (p *Platform) SecretKeyPatterns(team string) []string {
	out := []string{}
	for _, g := range p.Data.SecretStore.Grants[team] {
		out = append(out, GlobRegexp(g))
	}
	for _, k := range p.PlatformSecretKeys() {
		out = append(out, "^"+regexp.QuoteMeta(k)+"$")
	}
	return out
}

// GlobRegexp translates a path.Match pattern (* and ? do not cross a /,
// [...] classes, \ escapes) into an anchored RE2 expression that matches
// exactly the same strings. A malformed pattern (path.ErrBadPattern)
// matches nothing, as path.Match matches nothing with it.
func GlobRegexp(glob string) string {
	if _, err := path.Match(glob, ""); err != nil || !utf8.ValidString(glob) {
		return `^[^\x00-\x{10FFFF}]$` // matches nothing
	}
	g := []rune(glob)
	lit := func(r rune) string { return regexp.QuoteMeta(string(r)) }
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			b.WriteString("[^/]*")
		case '?':
			b.WriteString("[^/]")
		case '\\':
			i++
			if i < len(g) {
				b.WriteString(lit(g[i]))
			}
		case '[':
			// A class: path.Match's [^...] is RE2's.
			j := i + 1
			b.WriteString("[")
			if j < len(g) && g[j] == '^' {
				b.WriteString("^")
				j++
			}
			for ; j < len(g) && g[j] != ']'; j++ {
				switch g[j] {
				case '\\':
					j++
					b.WriteString(lit(g[j]))
				case '-':
					b.WriteByte('-')
				default:
					b.WriteString(lit(g[j]))
				}
			}
			b.WriteString("]")
			i = j
		default:
			b.WriteString(lit(c))
		}
	}
	b.WriteString("$")
	return b.String()
}

// Team is a team known to the platform.
type Team struct {
	Owners           []string `json:"owners"`
	MonthlyBudgetUSD float64  `json:"monthlyBudgetUSD"`
	CostCenter       string   `json:"costCenter"`
	Sources          []string `json:"sources"`
	DisplayName      string   `json:"displayName,omitempty"`
	Email            string   `json:"email,omitempty"`
	Chat             string   `json:"chat,omitempty"`
}

// Flux holds the settings of generated Flux Kustomizations.
type Flux struct {
	Interval      string `json:"interval"`
	RetryInterval string `json:"retryInterval"`
	Timeout       string `json:"timeout"`
	Prune         bool   `json:"prune"`
	Wait          bool   `json:"wait"`
	SourceRef     struct {
		Kind      string `json:"kind"`
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"sourceRef"`
	Decryption *struct {
		Provider  string `json:"provider"`
		SecretRef struct {
			Name string `json:"name"`
		} `json:"secretRef"`
	} `json:"decryption,omitempty"`
}
