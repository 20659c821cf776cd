package sandbox

import "sync"

// objKey names an object as seen by one client. Keying objects by client as
// well as id makes another client's id simply absent, so it answers 404.
type objKey struct{ client, id string }

// store holds one kind of object (imports or reports) for all clients. Its
// mutex also guards the mutable fields of the records it holds.
type store[R any] struct {
	mu    sync.Mutex
	byID  map[objKey]*R   // guarded by mu
	lists map[string][]*R // guarded by mu; per client, oldest first, append-only
	keys  idemKeys        // guarded by mu
}

// add stores r as client's object id. The caller holds mu.
func (st *store[R]) add(client, id string, r *R) {
	if st.byID == nil {
		st.byID = make(map[objKey]*R)
		st.lists = make(map[string][]*R)
	}
	st.byID[objKey{client, id}] = r
	st.lists[client] = append(st.lists[client], r)
}

// get returns client's object id, or nil. The caller holds mu.
func (st *store[R]) get(client, id string) *R {
	return st.byID[objKey{client, id}]
}
