// What a deployment changes: the selectors, the watched rooms, the
// runbook. Everything else in the mixin is built from these.
{
  _config+:: {
    // Selects webex_exporter's series in every rule and alert, and the
    // jobs the dashboard offers. The one place the job name is set: it is
    // the job_name of examples/prometheus/prometheus.yml.
    webexSelector: 'job="webex"',

    // Which rooms should be active, and how often: EDIT THIS.
    //
    // Most Webex rooms go quiet for weeks and that is fine, so a blanket
    // "no activity for N hours" alert would fire for most of them. Instead
    // each room that should be active gets an expected cadence here: the
    // longest it may go without activity (its lastActivity: messages,
    // members joining or leaving) before WebexRoomQuiet fires. Rooms no
    // entry selects are not watched.
    //
    // Each entry selects rooms of webex_room_info by label matchers (title,
    // a regex anchored at both ends, (?i) makes it case-insensitive; or
    // room_id; or room_type, team_id) and gives their cadence in seconds.
    // The first entry that selects a room sets its cadence: put the most
    // specific first. A cadence of 3 days (259200) lets a room rest over a
    // weekend. A watch list by id looks like
    //   { comment: 'Rooms of the weekly report.', matchers: 'room_id=~"ROOM_ID_1|ROOM_ID_2"', cadence: 259200 },
    // with the ids from webex_room_info.
    watchedRooms: [
      {
        comment: 'Rooms a bot posts to every hour. The --demo organisation\'s rooms titled "Quiet ..." never get a message, so the alert fires in the demo: delete or change this entry in production.',
        matchers: 'title=~"Quiet.*"',
        cadence: 3600,
      },
      {
        comment: 'On-call rooms: a hand-over message at least once a day.',
        matchers: 'room_type="group", title=~"(?i).*on-?call.*"',
        cadence: 86400,
      },
    ],

    // WebexRoomQuiet is held back only once the exporter has not been able
    // to list the rooms (webex_up 0) for this long: one slow refresh must
    // not silence it. Not longer than the alert's "for", so that an outage
    // alone (room ages growing while nothing is listed) cannot fire it.
    roomQuietHoldBack: '15m',

    // runbook_url of every alert; %s is the alert name in lower case (the
    // anchor GitHub gives its heading in runbook.md).
    runbookURLPattern: 'https://github.com/webex-exporter/webex_exporter/blob/main/webex-mixin/runbook.md#%s',

    dashboard: {
      uid: 'webex-exporter-rooms',
      title: 'Webex rooms',
      tags: ['webex', 'webex_exporter'],
      refresh: '1m',
    },
  },
}
