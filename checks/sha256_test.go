package checks

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

func TestSHA256(t *testing.T) {
	// FIPS 180-4 example: "abc".
	if got := sha256sum([]byte("abc")); hexEncode(got[:]) != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf(`sha256sum("abc") = %x`, got)
	}
	// Every length across the one- and two-block padding boundaries, and a
	// few long inputs, against the standard library.
	r := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 300; n++ {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		if got, want := sha256sum(b), sha256.Sum256(b); got != want {
			t.Fatalf("length %d: got %x, want %x", n, got, want)
		}
	}
	big := make([]byte, 1<<20+17)
	if got, want := sha256sum(big), sha256.Sum256(big); got != want {
		t.Fatalf("1 MiB: got %x, want %x", got, want)
	}
}
