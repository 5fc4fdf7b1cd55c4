// examples/grafana/dashboard.json: the mixin's one dashboard.
//
//   jsonnet -J webex-mixin webex-mixin/dashboards.jsonnet > examples/grafana/dashboard.json
(import 'mixin.libsonnet').grafanaDashboards['webex-rooms.json']
