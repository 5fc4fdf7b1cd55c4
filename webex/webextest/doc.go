// Package webextest is a fake of the Webex REST API (https://webexapis.com/v1)
// on net/http/httptest, for tests, benchmarks and the exporter's demo mode.
//
// # Ground truth
//
// GenerateOrg builds a deterministic organisation (people, rooms, messages,
// memberships) from an OrgConfig. NewServer serves a private copy of it;
// mutations (AddRoom, RemoveRoom, PostMessage, MoveActivity, SetMe) change
// the server's state, and Rooms, Messages and Org return copies of that
// state, so a test can compute what an exporter should report and compare.
// All times are UTC and truncated to milliseconds, exactly what the wire
// carries ("2006-01-02T15:04:05.000Z").
//
// # API
//
// The server speaks the GET part of Webex's messaging API as described by
// Webex's OpenAPI file: /rooms, /rooms/{id}, /messages, /memberships,
// /people/me, /people/{id} and /teams, plus POST /access_token (OAuth
// refresh), /events and /events/{id} (a compliance officer's: see
// WithComplianceOfficer), and /webhooks with signed deliveries to each
// webhook's target when a message is posted (see Deliveries,
// WaitDeliveries, LoseDeliveries, DisableWebhook, ReplayDelivery).
//
// OrgConfig.OtherRooms adds rooms of the organisation the account is not
// in: absent from /rooms, /messages and /memberships, present in /events
// and, for a compliance officer, in /rooms/{id} (a direct one titled
// "Empty Title"). Every request needs "Authorization: Bearer <token>"; every
// answer carries a Trackingid header; errors have Webex's JSON shape
// {"message","errors":[{"description"}],"trackingId"}. As Webex documents
// or is known to: a max outside a list's range is clamped into it, not
// refused; a time of a whole second is written "2015-10-18T14:26:16+00:00",
// any other "2016-04-21T19:12:48.920Z"; a bot listing a group room's
// messages without mentionedPeople=me gets 403 "Failed to get activity.".
// Lists page with an RFC 8288 Link header holding absolute, opaque URLs:
// rel="next" while more items exist and, beyond the first page, rel="first"
// (and rel="prev" for the lists paged by offset) beside it, in one value:
//
//   - /rooms is ordered by created (newest first, then id) unless sortBy is
//     id (ascending) or lastactivity (newest first, then id). The next link
//     carries a keyset cursor (the sort key and id of the page's last room),
//     so rooms added or removed between pages never cause a surviving room
//     to be skipped or repeated (with sortBy=lastactivity a room whose
//     activity moves between pages may, as on the real service).
//   - /messages is newest first; its next link is the same query with
//     beforeMessage set to the page's last message (and before dropped).
//   - /memberships and /teams use an offset cursor.
//
// A next link is sent only when more items exist.
//
// # Faults and hooks
//
// InjectFault makes matching requests fail in the ways the real service and
// networks do: error statuses with Retry-After, delays, stalled or reset
// connections, truncated, malformed or huge bodies, and broken paging
// (looping, foreign-host and empty pages, a malformed Link), a status
// only above a given max (Webex's 504 "please try to reduce it"), and odd list items (Patch: a
// field of another type, a missing id). Hold and WaitRequests let tests
// orchestrate concurrency without sleeping, and Requests and RequestLog
// count what a client sent.
//
// The package uses only the standard library and shares no types with the
// real client: its JSON encoder is an independent check of the decoder.
package webextest
