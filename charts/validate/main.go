// Command validate checks Kubernetes manifests, as `helm template` renders
// them, without a cluster or a schema download: each document is decoded
// strictly (unknown, duplicate or miscased fields are errors) into its
// k8s.io/api or prometheus-operator Go type, its metadata is validated as
// the API server would, and the documents are checked against each other
// (volumes, ports and Services they name exist) and against what the
// webex-exporter chart promises (one replica, strategy Recreate, the
// PrometheusRule carrying examples/prometheus/rules.yml).
//
//	helm template ... | validate -rules examples/prometheus/rules.yml -kinds Deployment,Service
//
// It is a module of its own so that the exporter's go.mod does not carry
// the Kubernetes types.
package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

func main() {
	rules := flag.String("rules", "", "a Prometheus rules file: every PrometheusRule must carry exactly its groups")
	kinds := flag.String("kinds", "", "comma-separated kinds that must each appear")
	flag.Parse()
	n, err := validate(os.Stdin, *rules, *kinds)
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(1)
	}
	fmt.Printf("validate: %d documents valid\n", n)
}

// object is one decoded document.
type object struct {
	kind, name string
	meta       *metav1.ObjectMeta
	v          any    // *appsv1.Deployment, ...
	raw        []byte // the document as JSON
}

// types maps apiVersion/kind to a new value of its Go type.
var types = map[string]func() any{
	"v1/Secret":                               func() any { return &corev1.Secret{} },
	"v1/Service":                              func() any { return &corev1.Service{} },
	"v1/ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1/PersistentVolumeClaim":                func() any { return &corev1.PersistentVolumeClaim{} },
	"v1/ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"apps/v1/Deployment":                      func() any { return &appsv1.Deployment{} },
	"networking.k8s.io/v1/Ingress":            func() any { return &networkingv1.Ingress{} },
	"monitoring.coreos.com/v1/ServiceMonitor": func() any { return &monitoringv1.ServiceMonitor{} },
	"monitoring.coreos.com/v1/PrometheusRule": func() any { return &monitoringv1.PrometheusRule{} },
}

// validate reads a stream of YAML documents and returns how many it checked.
func validate(r io.Reader, rulesFile, kinds string) (int, error) {
	objs, err := decodeAll(r)
	if err != nil {
		return 0, err
	}
	var errs []error
	for _, o := range objs {
		for _, e := range apivalidation.ValidateObjectMeta(o.meta, true, apivalidation.NameIsDNSSubdomain, field.NewPath("metadata")) {
			errs = append(errs, fmt.Errorf("%s %s: %v", o.kind, o.name, e))
		}
	}
	errs = append(errs, crossCheck(objs)...)
	if rulesFile != "" {
		errs = append(errs, checkRules(objs, rulesFile)...)
	}
	for k := range strings.SplitSeq(kinds, ",") {
		if k != "" && !slices.ContainsFunc(objs, func(o object) bool { return o.kind == k }) {
			errs = append(errs, fmt.Errorf("no %s rendered", k))
		}
	}
	return len(objs), errors.Join(errs...)
}

// decodeAll decodes every non-empty document strictly into its type.
func decodeAll(r io.Reader) ([]object, error) {
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var objs []object
	for i := 1; ; i++ {
		doc, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(bytes.TrimSpace(stripComments(doc))) == 0 {
			continue
		}
		o, err := decode(doc)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		objs = append(objs, o)
	}
}

// stripComments drops whole-line comments (a document of only comments is empty).
func stripComments(doc []byte) []byte {
	var out []byte
	for line := range bytes.Lines(doc) {
		if !bytes.HasPrefix(bytes.TrimSpace(line), []byte("#")) {
			out = append(out, line...)
		}
	}
	return out
}

func decode(doc []byte) (object, error) {
	js, err := yaml.YAMLToJSONStrict(doc) // duplicate keys are errors
	if err != nil {
		return object{}, err
	}
	var tm metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(js, &tm); err != nil {
		return object{}, err
	}
	newV, ok := types[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return object{}, fmt.Errorf("unknown apiVersion/kind %s/%s", tm.APIVersion, tm.Kind)
	}
	v := newV()
	strict, err := kjson.UnmarshalStrict(js, v, kjson.DisallowDuplicateFields, kjson.DisallowUnknownFields)
	if err != nil {
		return object{}, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	if len(strict) > 0 {
		return object{}, fmt.Errorf("%s: %w", tm.Kind, errors.Join(strict...))
	}
	meta := reflect.ValueOf(v).Elem().FieldByName("ObjectMeta").Addr().Interface().(*metav1.ObjectMeta)
	return object{kind: tm.Kind, name: meta.Name, meta: meta, v: v, raw: js}, nil
}
