// The webex_exporter mixin: prometheusRules, prometheusAlerts and
// grafanaDashboards, built from _config (config.libsonnet).
//
// examples/prometheus/rules.yml and examples/grafana/dashboard.json are
// generated from it (rules.jsonnet, dashboards.jsonnet); scripts/ci/lint-rules.sh
// regenerates them and fails on any difference.
(import 'config.libsonnet') +
(import 'rules.libsonnet') +
(import 'alerts.libsonnet') +
(import 'dashboards.libsonnet')
