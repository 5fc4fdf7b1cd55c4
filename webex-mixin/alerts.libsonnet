// Alerts. Summaries are static and end with a period; the description says
// which exporter, room or collector, and what to check; runbook_url points
// at runbook.md. severity is critical where the exporter is blind (not
// scraped, or cannot list the rooms), warning elsewhere.
{
  local c = $._config,
  local sel = c.webexSelector,

  // An alert; description is one line (the YAML output folds it).
  local alert(name, expr, forDuration, severity, summary, description) = {
    alert: name,
    expr: expr,
    'for': forDuration,
    labels: { severity: severity },
    annotations: {
      summary: summary,
      description: description,
      runbook_url: c.runbookURLPattern % std.asciiLower(name),
    },
  },

  // A pint disable comment for a selector whose series exist only with an
  // optional feature (pint's promql/series checks against an exporter in its
  // default mode): the reason, then the comment.
  local optional(metric, why) = [
    '%s exists only %s.' % [metric, why],
    'pint disable promql/series(%s)' % metric,
  ],

  prometheusAlerts+:: {
    groups+: [{
      name: 'webex-alerts',
      rules: [
        alert(
          'WebexRoomQuiet',
          |||
            (
                webex_room_last_activity_age_seconds{%(sel)s}
              > on(job, instance, room_id) webex:room_expected_quiet_seconds{%(sel)s}
            )
            * on(job, instance, room_id) group_left(title, room_type, team_id) webex_room_info{%(sel)s}
            and on(job, instance) (max_over_time(webex_up{%(sel)s}[%(hold)s]) == 1)
          ||| % { sel: sel, hold: c.roomQuietHoldBack },
          '15m',
          'warning',
          'A watched Webex room has been quiet for longer than its cadence.',
          'No activity in the Webex {{ $labels.room_type }} room "{{ $labels.title }}" (room_id {{ $labels.room_id }}, webex_exporter {{ $labels.instance }}) for {{ $value | humanizeDuration }}, while it is expected to be active at least every {{ with printf "webex:room_expected_quiet_seconds{job=%q,instance=%q,room_id=%q}" $labels.job $labels.instance $labels.room_id | query }}{{ . | first | value | humanizeDuration }}{{ else }}(cadence no longer set){{ end }} (watchedRooms in webex-mixin/config.libsonnet). Check whatever should post there: a bot, a hand-over, a stand-up.',
        ) {
          comments:: [
            'A watched room has been quiet for longer than its expected cadence.',
            'Held back only once the exporter has not listed the rooms for %s' % c.roomQuietHoldBack,
            '(webex_up 0 throughout: lastActivity is then not fresh), so one slow refresh',
            'does not silence it; silent while the exporter is not scraped at all (its',
            'series go stale; WebexExporterDown fires instead).',
          ],
        },

        alert(
          'WebexExporterDown',
          'up{%s} == 0' % sel,
          '5m',
          'critical',
          'Prometheus cannot scrape webex_exporter.',
          'Prometheus has not been able to scrape webex_exporter at {{ $labels.instance }} (job {{ $labels.job }}) for 5 minutes. Its room metrics are stale, so no room alert can fire until it is back. Check the process and its log.',
        ),

        alert(
          'WebexAPIUnreachable',
          'webex_up{%s} == 0' % sel,
          '10m',
          'critical',
          'webex_exporter cannot list the Webex rooms.',
          'For 10 minutes webex_exporter at {{ $labels.instance }} could not list the Webex rooms: the token is invalid or expired, the network or a proxy blocks webexapis.com, or Webex is down. Room metrics keep their last known values and WebexRoomQuiet is held back after %s. Answers to the rooms listing in the last 10 minutes, by code: {{ range printf `sum by (code) (increase(webex_api_requests_total{job=%%q,instance=%%q,endpoint="rooms"}[10m])) > 0` $labels.job $labels.instance | query }}{{ .Labels.code }}: {{ .Value | humanize }}; {{ else }}none; {{ end }}the exporter\'s log has the error.' % c.roomQuietHoldBack,
        ),

        alert(
          'WebexAPIThrottled',
          'sum by (job, instance) (rate(webex_api_requests_total{%s, code="429"}[5m])) * 60 > 0' % sel,
          '15m',
          'warning',
          'Webex is throttling webex_exporter.',
          'The Webex API has been answering 429 Too Many Requests to webex_exporter at {{ $labels.instance }} for 15 minutes ({{ $value | humanize }} a minute now). The exporter waits as Retry-After says, so rooms fall behind (webex_rooms_pending). The limit, about 300 calls a minute, is per user and shared with every application using the account: lengthen the scrape interval, or give the exporter an account of its own.',
        ),

        alert(
          'WebexAPIRateLimitedLong',
          'webex_api_rate_limited_until_timestamp_seconds{%s} - time() > 600' % sel,
          '5m',
          'warning',
          'Webex keeps webex_exporter from calling the API for more than 10 minutes.',
          'Webex answered webex_exporter at {{ $labels.instance }} with 429 Too Many Requests and a Retry-After that keeps it from calling the API for another {{ $value | humanizeDuration }} (the exporter waits at most an hour). Until then no room is listed or read: webex_up is 0 and room metrics keep their last values. The limit is per user and shared with every application using the account: look for another application calling heavily with it, lengthen the scrape interval, or give the exporter an account of its own.',
        ) {
          comments:: [
            "One 429 closed the account's gate for long: its Retry-After (capped",
            'by the exporter at an hour) keeps every call back, so nothing is',
            'listed or read until the gate opens. Fires when the gate stays',
            'closed more than 10 minutes ahead for 5 minutes.',
          ],
        },

        alert(
          'WebexTokenExpiringSoon',
          'webex_token_expiry_timestamp_seconds{%s} - time() < 3 * 86400' % sel,
          '10m',
          'warning',
          'The Webex token of webex_exporter expires within 3 days.',
          "The token webex_exporter at {{ $labels.instance }} uses {{ if le $value 0.0 }}has expired{{ else }}expires in {{ $value | humanizeDuration }}{{ end }}. Once it has, webex_up drops to 0 and no room is watched. Re-authorise the integration (or issue a new token) and update the exporter's token file.",
        ) {
          comments:: optional('webex_token_expiry_timestamp_seconds', 'with an OAuth integration (--webex.oauth.*): other tokens have no known expiry'),
        },

        alert(
          'WebexCollectorFailing',
          '(webex_scrape_collector_success{%s} == 0) and on(job, instance) (max_over_time(webex_up{%s}[%s]) == 1)' % [sel, sel, c.roomQuietHoldBack],
          '15m',
          'warning',
          'A webex_exporter collector keeps failing.',
          "For 15 minutes the {{ $labels.collector }} part of every scrape of webex_exporter at {{ $labels.instance }} has failed, although the rooms could be listed. Some rooms could not be read (throttling, timeouts, server errors, rooms the account can no longer read); their metrics keep their last known values. See webex_api_requests_total by endpoint and code, and the exporter's log.",
        ) {
          comments:: [
            'The rooms collector failing means webex_up == 0: that is',
            'WebexAPIUnreachable, so this alert covers the other collectors.',
            'Held back only once the rooms have not been listed for %s: one' % c.roomQuietHoldBack,
            'slow refresh (one webex_up 0) does not restart its for.',
          ],
        },

        alert(
          'WebexRoomsPending',
          '(webex_rooms_pending{%s} > 0) and on(job, instance) (max_over_time(webex_up{%s}[%s]) == 1)' % [sel, sel, c.roomQuietHoldBack],
          '30m',
          'warning',
          'webex_exporter is not keeping up with the rooms.',
          'For 30 minutes webex_exporter at {{ $labels.instance }} has had rooms whose messages it could not read within the scrape timeout ({{ $value }} now); their message counts, senders and last message lag behind. Lengthen scrape_timeout (keeping it under scrape_interval), raise --webex.concurrency, or look for throttling (WebexAPIThrottled).',
        ),

        alert(
          'WebexStateNotWritten',
          'increase(webex_state_write_failures_total{%s}[5m]) > 0' % sel,
          '15m',
          'warning',
          'webex_exporter cannot write its state file.',
          "For 15 minutes webex_exporter at {{ $labels.instance }} has failed to write its state file (--state.file). It keeps working, but a restart now starts cold: every active room is read again and the message counters reset. Check the file system and permissions, and the exporter's log.",
        ) {
          comments:: optional('webex_state_write_failures_total', 'with --state.file'),
        },

        alert(
          'WebexPushNotWorking',
          |||
            (webex_push_enabled{%(sel)s} == 0)
            or
            (
                sum by (job, instance) (increase(webex_push_deliveries_total{%(sel)s, result=~"accepted|duplicate"}[1h])) == 0
              and on(job, instance)
                sum by (job, instance) (increase(webex_room_messages_total{%(sel)s}[1h])) > 0
            )
          ||| % { sel: sel },
          '15m',
          'warning',
          'Pushed Webex messages are not arriving at webex_exporter.',
          "For 15 minutes webex_exporter at {{ $labels.instance }} has had its webhook off, or received no delivery for an hour while messages kept arriving. Polling keeps the values true, but each room that moves costs an API call again and counts lag by a scrape. Check that Webex can reach --webhook.url (ingress, TLS, proxy), webex_push_deliveries_total by result, and the exporter's log.",
        ) {
          comments:: [
                       'With --webhook.url: the webhook is off (not set up, or disabled and not',
                       'enabled again), or silent: messages keep arriving (polling counts them)',
                       'but no delivery has come for an hour. Polling keeps the values true, but',
                       'every room that moves costs a call again, and counts lag by a scrape.',
                     ] + optional('webex_push_enabled', 'with --webhook.url')
                     + optional('webex_push_deliveries_total', 'with --webhook.url'),
        },
      ],
    }],
  },
}
