package state

import (
	"fmt"
	"regexp"
	"slices"
)

// Filter chooses the rooms the exporter watches. Rooms it leaves out cost no
// message calls and appear in no metric. The zero Filter keeps every room.
type Filter struct {
	Types   []string       // "group", "direct"; empty: both
	TeamIDs []string       // empty: any team, or none
	RoomIDs []string       // empty: any room
	Include *regexp.Regexp // on the title; nil: any
	Exclude *regexp.Regexp // on the title; nil: none
}

// NewFilter builds a Filter; include and exclude are RE2 expressions that
// must match the whole title, as in Prometheus' relabelling ("" for none).
func NewFilter(types, teamIDs, roomIDs []string, include, exclude string) (Filter, error) {
	f := Filter{Types: types, TeamIDs: teamIDs, RoomIDs: roomIDs}
	for _, t := range types {
		if t != "group" && t != "direct" {
			return Filter{}, fmt.Errorf("room type %q: want group or direct", t)
		}
	}
	var err error
	if f.Include, err = anchored(include); err != nil {
		return Filter{}, fmt.Errorf("room include %q: %w", include, err)
	}
	if f.Exclude, err = anchored(exclude); err != nil {
		return Filter{}, fmt.Errorf("room exclude %q: %w", exclude, err)
	}
	return f, nil
}

func anchored(expr string) (*regexp.Regexp, error) {
	if expr == "" {
		return nil, nil
	}
	return regexp.Compile("^(?:" + expr + ")$")
}

// Keep reports whether the room is watched. A room whose title is unknown
// (it never decrypted) cannot match an include expression.
func (f Filter) Keep(r Room) bool { return f.keeps(&r) }

// keeps is Keep without copying the filter and the room (a listing calls
// it for every room).
func (f *Filter) keeps(r *Room) bool {
	switch {
	case len(f.Types) > 0 && !slices.Contains(f.Types, r.Type):
		return false
	case len(f.TeamIDs) > 0 && !slices.Contains(f.TeamIDs, r.TeamID):
		return false
	case len(f.RoomIDs) > 0 && !slices.Contains(f.RoomIDs, r.ID):
		return false
	case f.Include != nil && (r.Title == "" || !f.Include.MatchString(r.Title)):
		return false
	case f.Exclude != nil && r.Title != "" && f.Exclude.MatchString(r.Title):
		return false
	}
	return true
}

// Shows reports whether a room the filters keep so far is exported:
// described is whether its title and team are known (the org scope knows
// a room from events by id and type until it is described). With
// a title or team filter set, a room whose title and team are unknown is
// not exported: the filters fail closed.
func (f Filter) Shows(described bool) bool {
	return described || (f.Include == nil && f.Exclude == nil && len(f.TeamIDs) == 0)
}
