package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"slices"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metav1validation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

// crossCheck checks what the types cannot: the chart's promises for the
// Deployment, and that every volume, port and Service a document names is
// rendered.
func crossCheck(objs []object) []error {
	var (
		errs     []error
		deploys  []*appsv1.Deployment
		services []*corev1.Service
		claims   = map[string]bool{}
	)
	for _, o := range objs {
		switch v := o.v.(type) {
		case *appsv1.Deployment:
			deploys = append(deploys, v)
		case *corev1.Service:
			services = append(services, v)
		case *corev1.PersistentVolumeClaim:
			claims[v.Namespace+"/"+v.Name] = true
		}
	}
	for _, d := range deploys {
		errs = append(errs, checkDeployment(d, claims)...)
	}
	for _, s := range services {
		d := selected(deploys, s.Namespace, s.Spec.Selector)
		if d == nil {
			errs = append(errs, fmt.Errorf("Service %s: its selector %v matches no rendered Deployment's pods", s.Name, s.Spec.Selector))
			continue
		}
		for _, p := range s.Spec.Ports {
			if !hasContainerPort(d.Spec.Template.Spec.Containers, p.TargetPort) {
				errs = append(errs, fmt.Errorf("Service %s: port %s targets %s, which no container of Deployment %s has", s.Name, p.Name, p.TargetPort.String(), d.Name))
			}
		}
	}
	for _, o := range objs {
		switch v := o.v.(type) {
		case *networkingv1.Ingress:
			for _, rule := range v.Spec.Rules {
				if rule.HTTP == nil {
					continue
				}
				for _, p := range rule.HTTP.Paths {
					if b := p.Backend.Service; b == nil || !hasServicePort(services, v.Namespace, b.Name, b.Port) {
						errs = append(errs, fmt.Errorf("Ingress %s: path %s goes to a Service port that is not rendered: %+v", v.Name, p.Path, p.Backend.Service))
					}
				}
			}
		case *monitoringv1.ServiceMonitor:
			errs = append(errs, checkServiceMonitor(v, services)...)
		}
	}
	return errs
}

func checkDeployment(d *appsv1.Deployment, claims map[string]bool) []error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("Deployment %s: "+format, append([]any{d.Name}, args...)...))
	}
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		bad("replicas must be 1 (a second exporter doubles the API calls and races on the state file)")
	}
	if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
		bad("strategy %q, want Recreate", d.Spec.Strategy.Type)
	}
	for _, e := range metav1validation.ValidateLabelSelector(d.Spec.Selector, metav1validation.LabelSelectorValidationOptions{}, field.NewPath("spec", "selector")) {
		bad("%v", e)
	}
	for _, e := range metav1validation.ValidateLabels(d.Spec.Template.Labels, field.NewPath("spec", "template", "metadata", "labels")) {
		bad("%v", e)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		bad("the selector does not match the pod template's labels")
	}
	pod := d.Spec.Template.Spec
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		if volumes[v.Name] {
			bad("volume %s declared twice", v.Name)
		}
		volumes[v.Name] = true
		if c := v.PersistentVolumeClaim; c != nil && !claims[d.Namespace+"/"+c.ClaimName] {
			bad("volume %s claims %s, which is not rendered", v.Name, c.ClaimName)
		}
	}
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		bad("the pod must run as non-root")
	}
	for _, c := range append(slices.Clone(pod.InitContainers), pod.Containers...) {
		if c.Image == "" {
			bad("container %s has no image", c.Name)
		}
		for _, m := range c.VolumeMounts {
			if !volumes[m.Name] {
				bad("container %s mounts %s, which is not a volume of the pod", c.Name, m.Name)
			}
		}
		if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			bad("container %s must have a read-only root file system and no privilege escalation", c.Name)
		}
		if _, ok := c.Resources.Limits[corev1.ResourceMemory]; !ok {
			bad("container %s has no memory limit", c.Name)
		}
	}
	for _, c := range pod.Containers {
		for name, p := range map[string]*corev1.Probe{"liveness": c.LivenessProbe, "readiness": c.ReadinessProbe} {
			switch {
			case p == nil || p.HTTPGet == nil:
				bad("container %s has no HTTP %s probe", c.Name, name)
			case !hasContainerPort([]corev1.Container{c}, p.HTTPGet.Port):
				bad("container %s: the %s probe's port %s is not a port of the container", c.Name, name, p.HTTPGet.Port.String())
			case p.HTTPGet.Path == "/metrics":
				bad("container %s: the %s probe must not scrape /metrics (it spends API calls)", c.Name, name)
			}
		}
	}
	return errs
}

func checkServiceMonitor(sm *monitoringv1.ServiceMonitor, services []*corev1.Service) []error {
	var errs []error
	sel, err := metav1.LabelSelectorAsSelector(&sm.Spec.Selector)
	if err != nil {
		return []error{fmt.Errorf("ServiceMonitor %s: %w", sm.Name, err)}
	}
	var matched []*corev1.Service
	for _, s := range services {
		if slices.Contains(sm.Spec.NamespaceSelector.MatchNames, s.Namespace) && sel.Matches(labels.Set(s.Labels)) {
			matched = append(matched, s)
		}
	}
	if len(matched) == 0 {
		return []error{fmt.Errorf("ServiceMonitor %s selects no rendered Service", sm.Name)}
	}
	for _, ep := range sm.Spec.Endpoints {
		found := false
		for _, s := range matched {
			for _, p := range s.Spec.Ports {
				found = found || (ep.Port != "" && p.Name == ep.Port)
			}
		}
		if !found {
			errs = append(errs, fmt.Errorf("ServiceMonitor %s: endpoint port %q is not a port of the Services it selects", sm.Name, ep.Port))
		}
	}
	return errs
}

// selected returns the Deployment in ns whose pods selector selects.
func selected(deploys []*appsv1.Deployment, ns string, selector map[string]string) *appsv1.Deployment {
	if len(selector) == 0 {
		return nil
	}
	for _, d := range deploys {
		if d.Namespace == ns && labels.SelectorFromSet(selector).Matches(labels.Set(d.Spec.Template.Labels)) {
			return d
		}
	}
	return nil
}

func hasContainerPort(cs []corev1.Container, port intstr.IntOrString) bool {
	for _, c := range cs {
		for _, p := range c.Ports {
			if (port.Type == intstr.String && p.Name == port.StrVal) || (port.Type == intstr.Int && p.ContainerPort == port.IntVal) {
				return true
			}
		}
	}
	return false
}

func hasServicePort(services []*corev1.Service, ns, name string, port networkingv1.ServiceBackendPort) bool {
	for _, s := range services {
		if s.Namespace != ns || s.Name != name {
			continue
		}
		for _, p := range s.Spec.Ports {
			if (port.Name != "" && p.Name == port.Name) || (port.Name == "" && p.Port == port.Number) {
				return true
			}
		}
	}
	return false
}

// checkRules: every PrometheusRule's spec.groups is exactly the rules
// file's groups (compared as decoded JSON: same rules, same order, same
// expressions, labels and annotations).
func checkRules(objs []object, rulesFile string) []error {
	b, err := os.ReadFile(rulesFile)
	if err != nil {
		return []error{err}
	}
	var want struct {
		Groups any `json:"groups"`
	}
	if err := yaml.Unmarshal(b, &want); err != nil {
		return []error{fmt.Errorf("%s: %w", rulesFile, err)}
	}
	var errs []error
	n := 0
	for _, o := range objs {
		if o.kind != "PrometheusRule" {
			continue
		}
		n++
		var got struct {
			Spec struct {
				Groups any `json:"groups"`
			} `json:"spec"`
		}
		if err := json.Unmarshal(o.raw, &got); err != nil {
			errs = append(errs, err)
			continue
		}
		if !reflect.DeepEqual(got.Spec.Groups, want.Groups) {
			errs = append(errs, fmt.Errorf("PrometheusRule %s: its groups differ from %s", o.name, rulesFile))
		}
	}
	return errs
}
