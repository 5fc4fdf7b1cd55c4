// Recording rules. Every rule keeps the job and instance labels, so one
// Prometheus can scrape several exporters (one per Webex account, or a
// member and an org scope) without mixing them.
local text = import 'lib/text.libsonnet';

{
  local c = $._config,
  local sel = c.webexSelector,

  // The cadence of one watched room: its entry of _config.watchedRooms.
  local cadence(r) =
    std.join('', ['# ' + l + '\n' for l in text.wrap(r.comment, 76)]) +
    '%d * group by (job, instance, room_id) (webex_room_info{%s, %s})' % [r.cadence, sel, r.matchers],

  // Rooms per state, by room_type: 0 when no room is in the state.
  local byState(state, rooms) = {
    record: 'webex:rooms_by_state:count',
    labels: { state: state },
    expr: |||
      count by (job, instance, room_type) (
          %s
        * on(job, instance, room_id) group_left(room_type) webex_room_info{%s}
      )
      or (0 * webex_rooms{%s})
    ||| % [rooms, sel, sel],
  },

  prometheusRules+:: {
    groups+: [{
      name: 'webex-rooms',
      rules: [
        {
          assert std.length(c.watchedRooms) > 0 : '_config.watchedRooms needs at least one entry',
          record: 'webex:room_expected_quiet_seconds',
          comments:: [
            'The cadence of each watched room (webex-mixin/config.libsonnet, watchedRooms):',
            'the longest it may go without activity before WebexRoomQuiet fires. The',
            'first line that selects a room sets its cadence.',
          ],
          expr: std.join('\nor\n', [cadence(r) for r in c.watchedRooms]) + '\n',
        },
        {
          record: 'webex:room_messages_per_hour:rate15m',
          comments:: [
            'Messages per hour in each room. The counter counts the messages created',
            'after the exporter began watching the room (the history its first read',
            'finds is not added); it continues across restarts with --state.file,',
            'and without one a restart resets it to 0, which rate() copes with.',
          ],
          expr: '3600 * rate(webex_room_messages_total{%s}[15m])' % sel,
        },
        {
          record: 'webex:messages_per_hour:rate15m',
          comments:: ['Messages per hour across all rooms of a type (group, direct).'],
          expr: |||
            sum by (job, instance, room_type) (
                webex:room_messages_per_hour:rate15m{%s}
              * on(job, instance, room_id) group_left(room_type) webex_room_info{%s}
            )
          ||| % [sel, sel],
        },
        byState('active_1h', '(webex_room_last_activity_age_seconds{%s} < 3600)' % sel) {
          comments:: [
            'Rooms per state, by room_type; 0 when no room is in the state.',
            '  active_1h    last activity less than an hour ago',
            '  active_24h   last activity less than 24 hours ago (includes active_1h)',
            '  inactive_24h no activity for 24 hours or more (with active_24h: all rooms)',
            '  watched      rooms with an expected cadence (webex:room_expected_quiet_seconds)',
            '  quiet        watched rooms quiet for longer than their cadence',
          ],
        },
        byState('active_24h', '(webex_room_last_activity_age_seconds{%s} < 86400)' % sel),
        byState('inactive_24h', '(webex_room_last_activity_age_seconds{%s} >= 86400)' % sel),
        byState('watched', 'webex:room_expected_quiet_seconds{%s}' % sel),
        byState('quiet', '(webex_room_last_activity_age_seconds{%s} > on(job, instance, room_id) webex:room_expected_quiet_seconds{%s})' % [sel, sel]),
      ],
    }],
  },
}
