// The Grafana dashboard. Every selector carries the mixin's job selector
// and the job and instance variables; every aggregation keeps job and
// instance, so with two exporters in one Prometheus (two accounts, or a
// member and an org scope) no panel sums both: each shows one value or
// series per exporter, for the exporters the variables select.
local ds = { type: 'prometheus', uid: '${datasource}' };
local green = [{ color: 'green', value: null }];

local target(expr, ref='A', legend=null, instant=false, table=false) =
  { datasource: ds, expr: expr, refId: ref, range: !instant, instant: instant }
  + (if legend != null then { legendFormat: legend } else {})
  + (if table then { format: 'table' } else {});

local panel(type, title, description, grid, targets) = {
  type: type,
  title: title,
  description: description,
  datasource: ds,
  gridPos: grid,
  targets: targets,
};

local pos(x, y, w, h) = { x: x, y: y, w: w, h: h };

local row(title, y) = { type: 'row', title: title, collapsed: false, gridPos: pos(0, y, 24, 1), panels: [] };

local stat(title, description, grid, targets, unit='short', steps=green, mappings=[], decimals=null, textMode='auto') =
  panel('stat', title, description, grid, targets) {
    fieldConfig: {
      defaults: { unit: unit, color: { mode: 'thresholds' }, thresholds: { mode: 'absolute', steps: steps }, mappings: mappings }
                + (if decimals != null then { decimals: decimals } else {}),
      overrides: [],
    },
    options: {
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
      colorMode: 'value',
      graphMode: 'area',
      justifyMode: 'auto',
      orientation: 'auto',
      textMode: textMode,
      wideLayout: true,
      showPercentChange: false,
    },
  };

local timeseries(title, description, grid, targets, unit='short', fill=10, stacked=false, decimals=null, steps=green, thresholdLine=false) =
  panel('timeseries', title, description, grid, targets) {
    fieldConfig: {
      defaults: {
        unit: unit,
        custom: {
                  drawStyle: 'line',
                  lineWidth: 1,
                  fillOpacity: fill,
                  showPoints: 'never',
                  spanNulls: false,
                  stacking: { mode: if stacked then 'normal' else 'none', group: 'A' },
                  axisPlacement: 'auto',
                }
                + (if thresholdLine then { thresholdsStyle: { mode: 'line' } } else {}),
        color: { mode: 'palette-classic' },
        thresholds: { mode: 'absolute', steps: steps },
        min: 0,
      } + (if decimals != null then { decimals: decimals } else {}),
      overrides: [],
    },
    options: {
      legend: { displayMode: 'table', placement: 'right', showLegend: true, calcs: ['lastNotNull', 'max'] },
      tooltip: { mode: 'multi', sort: 'desc' },
    },
  };

local bargauge(title, description, grid, targets) =
  panel('bargauge', title, description, grid, targets) {
    fieldConfig: {
      defaults: { unit: 'short', min: 0, color: { mode: 'continuous-GrYlRd' }, thresholds: { mode: 'absolute', steps: green } },
      overrides: [],
    },
    options: {
      displayMode: 'gradient',
      orientation: 'horizontal',
      showUnfilled: true,
      valueMode: 'color',
      namePlacement: 'auto',
      sizing: 'auto',
      minVizHeight: 16,
      minVizWidth: 8,
      maxVizHeight: 300,
      reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
    },
  };

// A table of rooms: one instant query per value column (A, B, ...), merged
// on the room's labels. columns: [[refId or 'Value', column name, unit], ...].
local roomTable(title, description, grid, exprs, columns, sortBy, desc, overrides=[]) =
  local values = [c[0] for c in columns];
  panel('table', title, description, grid, [
    target(exprs[i], std.char(65 + i), instant=true, table=true)
    for i in std.range(0, std.length(exprs) - 1)
  ]) {
    fieldConfig: {
      defaults: {
        custom: { align: 'auto', cellOptions: { type: 'auto' }, filterable: true },
        thresholds: { mode: 'absolute', steps: green },
      },
      overrides: [
        { matcher: { id: 'byName', options: c[1] }, properties: [{ id: 'unit', value: c[2] }] }
        for c in columns
        if c[2] != null
      ] + overrides,
    },
    options: {
      showHeader: true,
      cellHeight: 'sm',
      footer: { show: false, reducer: ['sum'], fields: '', countRows: false },
      sortBy: [{ displayName: sortBy, desc: desc }],
    },
    transformations: [
      { id: 'merge', options: {} },
      {
        id: 'organize',
        options: {
          excludeByName: { Time: true, job: true },
          indexByName: { title: 0, room_type: 1, team_id: 2 }
                       + { [values[i]]: 3 + i for i in std.range(0, std.length(values) - 1) }
                       + { room_id: 3 + std.length(values), instance: 4 + std.length(values) },
          renameByName: { title: 'Room', room_type: 'Type', team_id: 'Team id', room_id: 'Room id', instance: 'Exporter' }
                        + { [c[0]]: c[1] for c in columns },
        },
      },
    ],
  };

local upDown = [{ type: 'value', options: { '0': { text: 'DOWN', color: 'red', index: 0 }, '1': { text: 'UP', color: 'green', index: 1 } } }];
local redGreen = [{ color: 'red', value: null }, { color: 'green', value: 1 }];

local variable(name, label, query, multi=true, allValue='.+', current={ selected: true, text: ['All'], value: ['$__all'] }) = {
  name: name,
  label: label,
  type: 'query',
  datasource: ds,
  definition: query,
  query: { qryType: 1, query: query, refId: 'PrometheusVariableQueryEditor-VariableQuery' },
  refresh: 2,
  sort: 1,
  regex: '',
  hide: 0,
  options: [],
  includeAll: multi,
  multi: multi,
  current: current,
} + (if multi then { allValue: allValue } else {});

{
  local c = $._config,
  // Every selector: the exporter's series, of the chosen jobs and instances.
  local s = '%s, job=~"$job", instance=~"$instance"' % c.webexSelector,
  // Rooms of the chosen type and team.
  local rooms = 'webex_room_info{%s, room_type=~"$room_type", team_id=~"$team_id"}' % s,
  local withRoom = ' * on(job, instance, room_id) group_left(title, room_type, team_id) ' + rooms,
  local andRoom = ' and on(job, instance, room_id) ' + rooms,
  // 0 for each chosen exporter, where a count finds nothing.
  local zero = ' or (0 * max by (job, instance) (webex_up{%s}))' % s,
  local age = 'webex_room_last_activity_age_seconds{%s}' % s,
  local cadence = 'webex:room_expected_quiet_seconds{%s}' % s,
  local rate = '3600 * rate(webex_room_messages_total{%s}[$__rate_interval])' % s,
  local recent(m) = 'webex_room_recent_%s{%s, window="$window"}' % [m, s],

  local panels = [
    row('Overview', 0),
    stat('Rooms',
         'Rooms the account belongs to (filtered by room type and team).',
         pos(0, 1, 4, 4),
         [target('count by (job, instance) (%s)' % rooms, legend='{{instance}}')]),
    stat('Active in the last hour',
         'Rooms whose lastActivity is less than an hour old.',
         pos(4, 1, 4, 4),
         [target('count by (job, instance) (%s < 3600%s)%s' % [age, andRoom, zero], legend='{{instance}}')]),
    stat('Active in the last 24 hours',
         'Rooms whose lastActivity is less than 24 hours old.',
         pos(8, 1, 4, 4),
         [target('count by (job, instance) (%s < 86400%s)%s' % [age, andRoom, zero], legend='{{instance}}')]),
    stat('Quiet watched rooms',
         'Watched rooms (those with a cadence in webex:room_expected_quiet_seconds: watchedRooms in webex-mixin/config.libsonnet) quiet for longer than their cadence: what WebexRoomQuiet alerts on.',
         pos(12, 1, 4, 4),
         [target('count by (job, instance) ((%s > on(job, instance, room_id) %s)%s)%s' % [age, cadence, andRoom, zero], legend='{{instance}}')],
         steps=green + [{ color: 'red', value: 1 }]),
    stat('Messages in the last $window',
         'Messages created in the trailing window (--collector.messages.windows), summed over the rooms of each exporter.',
         pos(16, 1, 4, 4),
         [target('sum by (job, instance) (%s%s)' % [recent('messages'), andRoom], legend='{{instance}}')]),
    stat('Messages per hour',
         'Current message rate over the selected rooms of each exporter.',
         pos(20, 1, 4, 4),
         [target('sum by (job, instance) (%s%s)' % [rate, andRoom], legend='{{instance}}')],
         decimals=0),

    row('Rooms', 5),
    roomTable('Rooms by time since last activity',
              "Every room, most recently active first. Since last activity: from the room's lastActivity (messages, members joining or leaving). Since last message: the newest message the account can see, blank while none is known. Messages and senders: within the trailing window chosen above.",
              pos(0, 6, 24, 12),
              [
                age + withRoom,
                '(time() - webex_room_last_message_timestamp_seconds{%s})%s' % [s, withRoom],
                'max without(window) (%s)%s' % [recent('messages'), withRoom],
                'max without(window) (%s)%s' % [recent('senders'), withRoom],
              ],
              [['Value #A', 'Since last activity', 's'], ['Value #B', 'Since last message', 's'], ['Value #C', 'Messages ($window)', null], ['Value #D', 'Senders ($window)', null]],
              'Since last activity',
              false),
    roomTable('Watched rooms',
              'Rooms with an expected cadence (webex:room_expected_quiet_seconds: watchedRooms in webex-mixin/config.libsonnet, by title or room id). % of cadence above 100 means WebexRoomQuiet is pending or firing.',
              pos(0, 18, 14, 9),
              [
                '(%s and on(job, instance, room_id) %s)%s' % [age, cadence, withRoom],
                cadence + withRoom,
                '(100 * %s / on(job, instance, room_id) %s)%s' % [age, cadence, withRoom],
              ],
              [['Value #A', 'Quiet for', 's'], ['Value #B', 'Expected cadence', 's'], ['Value #C', '% of cadence', 'percent']],
              '% of cadence',
              true,
              overrides=[{
                matcher: { id: 'byName', options: '% of cadence' },
                properties: [
                  { id: 'custom.cellOptions', value: { type: 'color-background' } },
                  { id: 'thresholds', value: { mode: 'absolute', steps: green + [{ color: 'orange', value: 80 }, { color: 'red', value: 100 }] } },
                ],
              }]),
    roomTable('Quiet rooms',
              'Watched rooms quiet for longer than their cadence, longest first.',
              pos(14, 18, 10, 9),
              ['(%s > on(job, instance, room_id) %s)%s' % [age, cadence, withRoom]],
              [['Value', 'Quiet for', 's']],
              'Quiet for',
              true),

    row('Activity', 27),
    timeseries('Messages per hour, busiest rooms',
               'The ten rooms of each exporter with the highest message rate at each point in time (from webex_room_messages_total).',
               pos(0, 28, 12, 8),
               [target('topk by (job, instance) (10, %s%s)' % [rate, withRoom], legend='{{title}}')]),
    timeseries('Messages per hour by room type',
               'Message rate summed by room type, for each exporter.',
               pos(12, 28, 12, 8),
               [target('sum by (job, instance, room_type) (%s%s)' % [rate, withRoom], legend='{{instance}} {{room_type}}')],
               fill=20,
               stacked=true),
    bargauge('Most active rooms (messages in the last $window)',
             'The ten rooms of each exporter with most messages in the trailing window.',
             pos(0, 36, 12, 8),
             [target('topk by (job, instance) (10, %s%s)' % [recent('messages'), withRoom], legend='{{title}}', instant=true)]),
    bargauge('Most senders (distinct people in the last $window)',
             'The ten rooms of each exporter with most distinct senders in the trailing window. A person who writes in several rooms counts in each.',
             pos(12, 36, 12, 8),
             [target('topk by (job, instance) (10, %s%s)' % [recent('senders'), withRoom], legend='{{title}}', instant=true)]),
    timeseries('Active senders, busiest rooms',
               'Distinct senders within the trailing window, for the ten rooms of each exporter with most senders.',
               pos(0, 44, 12, 8),
               [target('topk by (job, instance) (10, %s%s)' % [recent('senders'), withRoom], legend='{{title}}')]),
    timeseries('Rooms by state', 'Rooms active within the last hour and 24 hours (by lastActivity), watched rooms, and watched rooms quiet past their cadence, for each exporter.', pos(12, 44, 12, 8), [
      target('count by (job, instance) (%s)' % rooms, 'A', '{{instance}} all rooms'),
      target('count by (job, instance) (%s < 86400%s)%s' % [age, andRoom, zero], 'B', '{{instance}} active in the last 24 hours'),
      target('count by (job, instance) (%s < 3600%s)%s' % [age, andRoom, zero], 'C', '{{instance}} active in the last hour'),
      target('count by (job, instance) (%s%s)%s' % [cadence, andRoom, zero], 'D', '{{instance}} watched'),
      target('count by (job, instance) ((%s > on(job, instance, room_id) %s)%s)%s' % [age, cadence, andRoom, zero], 'E', '{{instance}} quiet'),
    ]),

    row('Exporter health', 52),
    stat('Webex API (webex_up)',
         '1 when the last scrape could list the rooms. While 0 for 15 minutes, room metrics keep their last known values and WebexRoomQuiet is held back.',
         pos(0, 53, 4, 4),
         [target('min by (job, instance) (webex_up{%s})' % s, legend='{{instance}}')],
         steps=redGreen,
         mappings=upDown),
    stat('Exporter scraped (up)',
         'Whether Prometheus can scrape the exporter (the job of webexSelector in webex-mixin/config.libsonnet, job_name in prometheus.yml).',
         pos(4, 53, 4, 4),
         [target('min by (job, instance) (up{%s})' % s, legend='{{instance}}')],
         steps=redGreen,
         mappings=upDown),
    stat('API calls per minute',
         'All Webex API calls each exporter makes. Webex allows about 300 a minute per user, shared with other applications using the account.',
         pos(8, 53, 4, 4),
         [target('sum by (job, instance) (rate(webex_api_requests_total{%s}[$__rate_interval])) * 60' % s, legend='{{instance}}')],
         steps=green + [{ color: 'orange', value: 200 }, { color: 'red', value: 300 }],
         decimals=1),
    stat('Pending rooms',
         'Rooms whose messages could not be read within the scrape timeout; they are read first on the next scrape.',
         pos(12, 53, 4, 4),
         [target('sum by (job, instance) (webex_rooms_pending{%s})' % s, legend='{{instance}}')],
         steps=green + [{ color: 'orange', value: 1 }]),
    stat('Token expires in',
         'Known only for OAuth integrations; "No data" for other tokens.',
         pos(16, 53, 4, 4),
         [target('min by (job, instance) (webex_token_expiry_timestamp_seconds{%s}) - time()' % s, legend='{{instance}}')],
         unit='s',
         steps=[{ color: 'red', value: null }, { color: 'orange', value: 86400 }, { color: 'green', value: 259200 }]),
    stat('Exporter version',
         'From webex_exporter_build_info.',
         pos(20, 53, 4, 4),
         [target('webex_exporter_build_info{%s}' % s, legend='{{instance}} {{version}}', instant=true)],
         textMode='name'),
    timeseries('Webex API calls per minute by endpoint and code',
               'From webex_api_requests_total; code "error" means no answer came (network, timeout).',
               pos(0, 57, 12, 8),
               [target('sum by (job, instance, endpoint, code) (rate(webex_api_requests_total{%s}[$__rate_interval])) * 60' % s, legend='{{instance}} {{endpoint}} {{code}}')],
               fill=20,
               stacked=true,
               steps=green + [{ color: 'red', value: 300 }],
               thresholdLine=true),
    timeseries('Failed and throttled API calls per minute',
               'Calls answered other than 2xx: 429 is throttling (WebexAPIThrottled), 401 a bad token, "error" no answer. 0 while all is well.',
               pos(12, 57, 12, 8),
               [target('sum by (job, instance, endpoint, code) (rate(webex_api_requests_total{%s, code!~"2.."}[$__rate_interval])) * 60' % s, legend='{{instance}} {{endpoint}} {{code}}')],
               fill=20,
               stacked=true),
    timeseries('Collector duration', 'Time each part of a scrape took, and the whole scrape as Prometheus saw it; keep it under scrape_timeout.', pos(0, 65, 12, 8), [
      target('webex_scrape_collector_duration_seconds{%s}' % s, 'A', '{{instance}} {{collector}}'),
      target('scrape_duration_seconds{%s}' % s, 'B', '{{instance}} whole scrape'),
    ], unit='s'),
    timeseries('Collector success',
               "1 when the collector's part of the scrape succeeded.",
               pos(12, 65, 12, 8),
               [target('webex_scrape_collector_success{%s}' % s, legend='{{instance}} {{collector}}')],
               decimals=0),
    timeseries('Pending rooms',
               'Rooms whose refresh is late (could not be read within the scrape deadline).',
               pos(0, 73, 12, 8),
               [target('webex_rooms_pending{%s}' % s, legend='{{instance}}')],
               decimals=0),
    timeseries('Oldest room data',
               'Time since the least recently refreshed room was last brought up to date.',
               pos(12, 73, 12, 8),
               [target('max by (job, instance) (time() - webex_room_last_refresh_timestamp_seconds{%s})' % s, legend='{{instance}}')],
               unit='s'),
    timeseries('Webhook deliveries per minute by result',
               'With --webhook.url: deliveries Webex pushed, by result (accepted, duplicate; rejected_signature: a wrong secret). "No data" without a webhook.',
               pos(0, 81, 12, 8),
               [target('sum by (job, instance, result) (rate(webex_push_deliveries_total{%s}[$__rate_interval])) * 60' % s, legend='{{instance}} {{result}}')],
               fill=20,
               stacked=true),
    timeseries('Time since the state file was written',
               'With --state.file: how long ago it was last written (at most --state.interval apart while refreshes happen). "No data" without a state file.',
               pos(12, 81, 12, 8),
               [target('time() - max by (job, instance) (webex_state_last_write_timestamp_seconds{%s})' % s, legend='{{instance}}')],
               unit='s'),
  ],

  grafanaDashboards+:: {
    'webex-rooms.json': {
      __inputs: [],
      annotations: { list: [{ builtIn: 1, datasource: { type: 'grafana', uid: '-- Grafana --' }, enable: true, hide: true, iconColor: 'rgba(0, 211, 255, 1)', name: 'Annotations & Alerts', type: 'dashboard' }] },
      description: "Webex room activity from webex_exporter: which rooms are alive, how busy they are, which watched rooms went quiet, and the exporter's health.",
      editable: false,
      fiscalYearStartMonth: 0,
      graphTooltip: 1,
      id: null,
      links: [],
      panels: std.mapWithIndex(function(i, p) p { id: i + 1 }, panels),
      refresh: c.dashboard.refresh,
      schemaVersion: 39,
      tags: c.dashboard.tags,
      templating: {
        list: [
          { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, includeAll: false, multi: false, options: [], refresh: 1, regex: '' },
          variable('job', 'Job', 'label_values(webex_exporter_build_info{%s}, job)' % c.webexSelector),
          variable('instance', 'Instance', 'label_values(webex_exporter_build_info{%s, job=~"$job"}, instance)' % c.webexSelector),
          variable('room_type', 'Room type', 'label_values(webex_room_info{%s}, room_type)' % s, allValue='.*'),
          variable('team_id', 'Team', 'label_values(webex_room_info{%s}, team_id)' % s, allValue='.*'),
          variable('window', 'Window', 'label_values(webex_room_recent_messages{%s}, window)' % s, multi=false, current={ selected: true, text: '24h', value: '24h' }),
        ],
      },
      time: { from: 'now-24h', to: 'now' },
      timepicker: {},
      timezone: '',
      title: c.dashboard.title,
      uid: c.dashboard.uid,
      version: 1,
      weekStart: '',
    },
  },
}
