package collector

// Ready reports whether the tracker has rooms to serve: a listing of the
// rooms has succeeded (the last refresh listed them, or an earlier one did
// and its rooms are still held), or a restored state file was confirmed as
// the account's. It makes no API call: the readiness probe (/-/ready) asks
// it. Before the first scrape, without a state file, it is false, since the
// exporter lists the rooms only when scraped. A state discarded as another
// account's, or forgotten because the token now belongs to another account,
// makes it false again until the next listing.
func (t *Tracker) Ready() bool {
	t.mu.Lock()
	up := t.up
	t.mu.Unlock()
	return up || t.state.Owned()
}
