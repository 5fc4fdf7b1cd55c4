package collector

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/webex-exporter/webex_exporter/collector/state"
)

// fill sets v (a field, or a slice's element) to a value that is not its
// zero and differs from the other fields' (n counts them), one element a
// slice, every field a struct.
func fill(t *testing.T, v reflect.Value, name string, n *int) {
	t.Helper()
	*n++
	switch v.Kind() {
	case reflect.String:
		v.SetString(name)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n))
	case reflect.Uint32, reflect.Uint64:
		v.SetUint(uint64(*n))
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(t, v.Index(0), name, n)
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			v.Set(reflect.ValueOf(t0.Add(time.Duration(*n) * time.Minute)))
			return
		}
		for i := range v.NumField() {
			fill(t, v.Field(i), v.Type().Field(i).Name, n)
		}
	default:
		t.Fatalf("field %s: kind %s the test does not know", name, v.Kind())
	}
}

// TestRoomRecordRoundTrip: every field of the state's room record (and of
// its gaps) survives the state file's form and its JSON, so a field added
// to state.RoomRecord and forgotten in savedRoomOf, recordOf or the file's
// tags fails here rather than being silently dropped at a restart.
func TestRoomRecordRoundTrip(t *testing.T) {
	var r state.RoomRecord
	n := 0
	fill(t, reflect.ValueOf(&r).Elem(), "RoomRecord", &n)
	b, err := json.Marshal(savedRoomOf(r))
	if err != nil {
		t.Fatal(err)
	}
	var sr savedRoom
	if err := json.Unmarshal(b, &sr); err != nil {
		t.Fatal(err)
	}
	if got := recordOf(sr); !reflect.DeepEqual(got, r) {
		t.Errorf("a room record through the state file's form:\n got %+v\nwant %+v", got, r)
	}
}
