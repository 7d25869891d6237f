package render

import (
	"encoding/json"
	"testing"
)

// TestAppRequests: an app's ceiling, object kind by kind.
func TestAppRequests(t *testing.T) {
	d := containerDefaults{cpuMilli: 200, memBytes: 128 << 20}
	pod := `{"containers": [{"resources": {"requests": {"cpu": "250m", "memory": "256Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}}]}`
	obj := func(s string) Object {
		var o Object
		if err := json.Unmarshal([]byte(s), &o); err != nil {
			t.Fatal(err)
		}
		return o
	}
	for name, c := range map[string]struct {
		objs []string
		want Requests
	}{
		"deployment, default surge 25% of 2 rounded up": {
			[]string{`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": 2, "template": {"spec": ` + pod + `}}}`},
			Requests{750, 768, 1500, 768, 0},
		},
		"HPA maximum, surge of a number": {
			[]string{
				`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"strategy": {"rollingUpdate": {"maxSurge": 2}}, "template": {"spec": ` + pod + `}}}`,
				`{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"}, "maxReplicas": 6}}`,
			},
			Requests{2000, 2048, 4000, 2048, 0},
		},
		"Recreate: no surge": {
			[]string{`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"replicas": 3, "strategy": {"type": "Recreate"}, "template": {"spec": ` + pod + `}}}`},
			Requests{750, 768, 1500, 768, 0},
		},
		"canary: the primary beside the canary": {
			[]string{
				`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"template": {"spec": ` + pod + `}}}`,
				`{"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "a"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "a"}, "maxReplicas": 4}}`,
				`{"apiVersion": "flagger.app/v1beta1", "kind": "Canary", "metadata": {"name": "a"}, "spec": {"targetRef": {"kind": "Deployment", "name": "a"}}}`,
			},
			Requests{2250, 2304, 4500, 2304, 0}, // 4 + 1 + 4
		},
		"cron job that may overlap: two runs; no limit: the LimitRange's default": {
			[]string{`{"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}}}`},
			Requests{200, 128, 400, 256, 0},
		},
		"init container larger than the containers": {
			[]string{`{"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "j"}, "spec": {"template": {"spec": {"initContainers": [{"resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}}}], "containers": [{"resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}}}]}}}}`},
			Requests{1000, 1024, 1000, 1024, 0},
		},
		"database: instances, volumes and WAL volumes": {
			[]string{`{"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster", "metadata": {"name": "db"}, "spec": {"instances": 3, "storage": {"size": "20Gi"}, "walStorage": {"size": "1500Mi"}, "resources": {"requests": {"cpu": "500m", "memory": "512Mi"}, "limits": {"cpu": "1", "memory": "512Mi"}}}}`},
			Requests{1500, 1536, 3000, 1536, 65}, // 3 × (20 GiB + 1.46 GiB), rounded up
		},
		"what holds no pods counts nothing": {
			[]string{`{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {}}`},
			Requests{},
		},
	} {
		var objs []Object
		for _, s := range c.objs {
			objs = append(objs, obj(s))
		}
		got, err := appRequests(objs, d)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got != c.want {
			t.Errorf("%s: %+v, want %+v", name, got, c.want)
		}
	}
	bad := obj(`{"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "a"}, "spec": {"strategy": {"rollingUpdate": {"maxSurge": "lots"}}}}`)
	if _, err := appRequests([]Object{bad}, d); err == nil {
		t.Error("a maxSurge that is neither a number nor a percentage passed")
	}
}

// TestWithHeadroom rounds up.
func TestWithHeadroom(t *testing.T) {
	if got := (Requests{CPUMillicores: 1, MemoryMiB: 100, StorageGiB: 3}).withHeadroom(25); got != (Requests{CPUMillicores: 2, MemoryMiB: 125, StorageGiB: 4}) {
		t.Errorf("got %+v", got)
	}
	if got := (Requests{CPUMillicores: 7}).withHeadroom(0); got.CPUMillicores != 7 {
		t.Errorf("no headroom: %+v", got)
	}
}
