package wasmhost

import "sync"

// sharedData is the one store every VM of a Host reads and writes, as
// Envoy's proxy_{get,set}_shared_data share one map per vm_id across worker
// threads (proxy-wasm-cpp-host SharedData).
type sharedData struct {
	mu      sync.Mutex
	entries map[string]sharedEntry
	cas     uint32 // next CAS token; one counter for all keys
}

type sharedEntry struct {
	value []byte
	cas   uint32
}

func newSharedData() *sharedData {
	return &sharedData{entries: map[string]sharedEntry{}, cas: 1}
}

// get returns a copy of key's value and its CAS token; ok is false for an
// absent key (the hostcall then returns NotFound).
func (s *sharedData) get(key string) (value []byte, cas uint32, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.entries[key]
	if !ok {
		return nil, 0, false
	}
	return append([]byte(nil), e.value...), e.cas, true
}

// set mirrors SharedData::set: cas 0 writes unconditionally; a non-zero cas
// must equal the current token of an existing key, or the write fails with
// CasMismatch; an absent key is created whatever the cas.
func (s *sharedData) set(key string, value []byte, cas uint32) status {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.entries[key]; ok && cas != 0 && cas != e.cas {
		return statusCasMismatch
	}
	s.entries[key] = sharedEntry{value: append([]byte(nil), value...), cas: s.nextCAS()}
	return statusOK
}

// nextCAS mirrors SharedData::nextCas: increasing, skipping 0 on wrap.
func (s *sharedData) nextCAS() uint32 {
	c := s.cas
	s.cas++
	if s.cas == 0 {
		s.cas++
	}
	return c
}
