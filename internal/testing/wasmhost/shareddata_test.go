package wasmhost

import "testing"

// The store mirrors proxy-wasm-cpp-host's SharedData, step by step.
func TestSharedDataCAS(t *testing.T) {
	s := newSharedData()
	if _, _, ok := s.get("a"); ok {
		t.Fatal("absent key found")
	}
	for i, step := range []struct {
		key     string
		value   string
		cas     uint32
		want    status
		wantCAS uint32 // the key's token afterwards
	}{
		{"a", "1", 0, statusOK, 1},          // create unconditionally
		{"a", "2", 0, statusOK, 2},          // cas 0 overwrites
		{"a", "3", 1, statusCasMismatch, 2}, // stale token
		{"a", "3", 2, statusOK, 3},          // current token
		{"b", "x", 7, statusOK, 4},          // absent key: created whatever the cas
		{"a", "4", 3, statusOK, 5},          // one counter across keys
		{"b", "y", 3, statusCasMismatch, 4}, // another key's token
	} {
		if got := s.set(step.key, []byte(step.value), step.cas); got != step.want {
			t.Errorf("step %d: set(%s, cas %d) = %d; want %d", i, step.key, step.cas, got, step.want)
		}
		if _, cas, ok := s.get(step.key); !ok || cas != step.wantCAS {
			t.Errorf("step %d: %s has cas %d; want %d", i, step.key, cas, step.wantCAS)
		}
	}
	if v, _, _ := s.get("a"); string(v) != "4" {
		t.Errorf("a = %q", v)
	}

	s.cas = ^uint32(0) // the counter skips 0 on wrap
	s.set("c", nil, 0)
	s.set("c", nil, 0)
	if _, cas, _ := s.get("c"); cas != 1 {
		t.Errorf("after wrap cas %d; want 1", cas)
	}
}
