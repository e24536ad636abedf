package checks

import (
	"bytes"
	"testing"
)

func TestGRPCRequestBytes(t *testing.T) {
	cases := map[string][]byte{
		"":                                     {0, 0, 0, 0, 0},
		"ledger.v1.Ledger":                     append([]byte{0, 0, 0, 0, 18, 0x0a, 16}, "ledger.v1.Ledger"...),
		string(bytes.Repeat([]byte{'s'}, 200)): append([]byte{0, 0, 0, 0, 203, 0x0a, 0xc8, 0x01}, bytes.Repeat([]byte{'s'}, 200)...),
	}
	for svc, want := range cases {
		if got := GRPCRequest(svc); !bytes.Equal(got, want) {
			t.Errorf("GRPCRequest(%.20q) = % x; want % x", svc, got, want)
		}
	}
}

func TestGRPCServingStatus(t *testing.T) {
	cases := []struct {
		name   string
		body   []byte
		status uint64
		err    bool
	}{
		{"serving", []byte{0, 0, 0, 0, 2, 0x08, 1}, grpcServing, false},
		{"not serving", []byte{0, 0, 0, 0, 2, 0x08, 2}, grpcNotServing, false},
		{"empty message is UNKNOWN", []byte{0, 0, 0, 0, 0}, grpcUnknown, false},
		{"unknown fields skipped", []byte{0, 0, 0, 0, 15, 0x12, 2, 'h', 'i', 0x19, 1, 2, 3, 4, 5, 6, 7, 8, 0x08, 1}, grpcServing, false},
		{"fixed32 skipped", []byte{0, 0, 0, 0, 7, 0x1d, 1, 2, 3, 4, 0x08, 2}, grpcNotServing, false},
		{"last value wins", []byte{0, 0, 0, 0, 4, 0x08, 2, 0x08, 1}, grpcServing, false},
		{"short prefix", []byte{0, 0, 0}, 0, true},
		{"length too long", []byte{0, 0, 0, 0, 3, 0x08, 1}, 0, true},
		{"trailing bytes", []byte{0, 0, 0, 0, 2, 0x08, 1, 0}, 0, true},
		{"compressed", []byte{1, 0, 0, 0, 2, 0x08, 1}, 0, true},
		{"truncated varint", []byte{0, 0, 0, 0, 2, 0x08, 0x80}, 0, true},
		{"bad wire type", []byte{0, 0, 0, 0, 2, 0x0b, 1}, 0, true},
		{"field zero", []byte{0, 0, 0, 0, 2, 0x00, 1}, 0, true},
		{"length past end", []byte{0, 0, 0, 0, 3, 0x12, 9, 1}, 0, true},
	}
	for _, c := range cases {
		got, err := grpcServingStatus(c.body)
		if (err != nil) != c.err || got != c.status {
			t.Errorf("%s: %d, %v; want %d, err=%v", c.name, got, err, c.status, c.err)
		}
	}
}

// FuzzGRPCFrame: no frame makes the decoder panic, and a request frame
// always decodes (a request is a valid message with only field 1 as bytes).
func FuzzGRPCFrame(f *testing.F) {
	for _, b := range [][]byte{{0, 0, 0, 0, 2, 8, 1}, {0, 0, 0, 0, 0}, {1}, GRPCRequest("svc"), {0, 0, 0, 0, 3, 0x12, 0xff, 0xff}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		grpcServingStatus(b)
		if st, err := grpcServingStatus(GRPCRequest(string(b))); err != nil || st != grpcUnknown {
			t.Fatalf("request frame for %q decodes as %d, %v", b, st, err)
		}
	})
}
