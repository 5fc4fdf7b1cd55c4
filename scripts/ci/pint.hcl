# pint's policy for examples/prometheus/rules.yml (scripts/ci/lint-rules.sh).
# The Prometheus is the one lint-rules.sh starts: it scrapes webex_exporter
# in its default mode (a token, no OAuth, no --state.file, no --webhook.url),
# so promql/series flags every selector without series there; rules whose
# series exist only with an optional feature say so in a pint disable comment.

prometheus "webex" {
  uri      = "${ENV_PINT_PROMETHEUS_URL}"
  timeout  = "30s"
  required = true
}

rule {
  match {
    kind = "alerting"
  }
  label "severity" {
    severity = "bug"
    required = true
    values   = ["warning", "critical"]
  }
  annotation "summary" {
    comment  = "A static summary (no template) that ends with a period, as the monitoring-mixins guidelines ask."
    severity = "bug"
    required = true
    value    = "[^{}]+[.]"
  }
  annotation "description" {
    severity = "bug"
    required = true
  }
  annotation "runbook_url" {
    comment  = "A runbook in the repository: webex-mixin/runbook.md, one section per alert."
    severity = "bug"
    required = true
    value    = "(?i)https://github[.]com/webex-exporter/webex_exporter/blob/main/webex-mixin/runbook[.]md#{{ $alert }}"
  }
}

rule {
  # Every rule keeps job and instance: one Prometheus, several exporters.
  aggregate ".+" {
    severity = "bug"
    keep     = ["job", "instance"]
  }
}
