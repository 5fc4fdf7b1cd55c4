package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// good is a Deployment, its Service and a PrometheusRule as the chart
// renders them, cut down.
const good = `---
# Source: webex-exporter/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: t-webex-exporter
  namespace: default
  labels:
    app.kubernetes.io/name: webex-exporter
spec:
  replicas: 1
  strategy:
    type: Recreate
  selector:
    matchLabels:
      app.kubernetes.io/name: webex-exporter
  template:
    metadata:
      labels:
        app.kubernetes.io/name: webex-exporter
    spec:
      securityContext:
        runAsNonRoot: true
      containers:
        - name: webex-exporter
          image: "ghcr.io/webex-exporter/webex_exporter:v0.1.0"
          ports:
            - name: http
              containerPort: 10270
          livenessProbe:
            httpGet:
              path: /-/healthy
              port: http
          readinessProbe:
            httpGet:
              path: /-/ready
              port: http
          resources:
            limits:
              memory: 128Mi
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
          volumeMounts:
            - name: state
              mountPath: /var/lib/webex_exporter
      volumes:
        - name: state
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata:
  name: t-webex-exporter
  namespace: default
  labels:
    app.kubernetes.io/name: webex-exporter
spec:
  ports:
    - name: http
      port: 10270
      targetPort: http
  selector:
    app.kubernetes.io/name: webex-exporter
---
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: t-webex-exporter
  namespace: default
spec:
  groups:
    - name: webex
      rules:
        - alert: WebexDown
          expr: webex_up == 0
          for: 5m
`

const rules = `groups:
  - name: webex
    rules:
      - alert: WebexDown
        expr: webex_up == 0
        for: 5m
`

func TestValidate(t *testing.T) {
	rulesFile := filepath.Join(t.TempDir(), "rules.yml")
	if err := os.WriteFile(rulesFile, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	if n, err := validate(strings.NewReader(good), rulesFile, "Deployment,Service,PrometheusRule"); err != nil || n != 3 {
		t.Fatalf("the good manifests: %d documents, %v; want 3, valid", n, err)
	}
	for _, tc := range []struct{ name, old, new, want string }{
		{"unknown field", "  replicas: 1\n", "  replicas: 1\n  replica: 1\n", `unknown field "spec.replica"`},
		{"miscased field", "  replicas: 1\n", "  Replicas: 1\n", `unknown field "spec.Replicas"`},
		{"duplicate field", "  replicas: 1\n", "  replicas: 1\n  replicas: 1\n", `key "replicas" already set`},
		{"wrong type", "  replicas: 1\n", "  replicas: one\n", "replicas"},
		{"bad quantity", "memory: 128Mi", "memory: 128 MiB", "quantities"},
		{"two replicas", "  replicas: 1\n", "  replicas: 2\n", "replicas must be 1"},
		{"rolling update", "type: Recreate", "type: RollingUpdate", `strategy "RollingUpdate"`},
		{"unknown kind", "kind: Service\n", "kind: Servic\n", "unknown apiVersion/kind"},
		{"bad name", "  name: t-webex-exporter\n  namespace: default\n  labels:\n    app.kubernetes.io/name: webex-exporter\nspec:\n  ports", "  name: T_Exporter\n  namespace: default\n  labels:\n    app.kubernetes.io/name: webex-exporter\nspec:\n  ports", "metadata.name"},
		{"missing volume", "        - name: state\n          emptyDir", "        - name: stat\n          emptyDir", "mounts state, which is not a volume"},
		{"probe port", "              port: http\n          readinessProbe", "              port: metrics\n          readinessProbe", "liveness probe's port metrics"},
		{"probe on /metrics", "path: /-/ready", "path: /metrics", "must not scrape /metrics"},
		{"service port", "targetPort: http", "targetPort: web", "targets web"},
		{"writable root", "readOnlyRootFilesystem: true", "readOnlyRootFilesystem: false", "read-only root file system"},
		{"other rules", "for: 5m\n", "for: 10m\n", "groups differ"},
	} {
		bad := strings.Replace(good, tc.old, tc.new, 1)
		if bad == good {
			t.Fatalf("%s: the mutation does not apply", tc.name)
		}
		_, err := validate(strings.NewReader(bad), rulesFile, "")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v; want an error containing %q", tc.name, err, tc.want)
		}
	}
	if _, err := validate(strings.NewReader(good), "", "Ingress"); err == nil || !strings.Contains(err.Error(), "no Ingress rendered") {
		t.Errorf("a kind that must appear and does not: %v", err)
	}
}
