package webex

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"testing"
)

// BenchmarkDecodeMessagesPage decodes a page of 50 messages (a warm
// read's page) as Messages does. Run it with
//
//	go test -run '^$' -bench DecodeMessagesPage -benchmem ./webex/
func BenchmarkDecodeMessagesPage(b *testing.B) {
	var page bytes.Buffer
	page.WriteString(`{"items":[`)
	room := base64.StdEncoding.EncodeToString([]byte("ciscospark://us/ROOM/0000002a-5a5b-11ee-9c3a-000000052b0f"))
	for i := range 50 {
		if i > 0 {
			page.WriteString(",")
		}
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ciscospark://us/MESSAGE/%08x-5a5b-11ee-9c3a-%012x", i, i*7919))
		person := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "ciscospark://us/PEOPLE/%08x-5a5b-11ee-9c3a-%012x", i%7, i%7))
		fmt.Fprintf(&page, `{"id":%q,"roomId":%q,"roomType":"group","text":"message %d about the project",`+
			`"personId":%q,"personEmail":"person%d@example.com","created":"2026-11-24T11:%02d:%02d.%03dZ","isVoiceClip":false}`,
			id, room, i, person, i%7, i%60, i%59, i%1000)
	}
	page.WriteString(`]}`)
	c := &Client{}
	d := c.itemDecoder("messages")
	benchPage(b, page.Bytes(), "message", func(it *item) bool { _, ok := d.message(it); return ok })
}
