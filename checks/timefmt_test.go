package checks

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestAppendUTCLikeTime(t *testing.T) {
	ms := []int64{0, -1, 1, 999, 1000, -1000, -1001, 86399999, 86400000, 951782400000, 951868800000,
		4107542400000, 253402300799999, 253402300800000, -62135596800000, -62135596800001, -62167219200001}
	r := rand.New(rand.NewPCG(7, 8))
	for range 200000 {
		ms = append(ms, r.Int64N(2e15)-1e15, r.Int64N(4e12))
	}
	for _, m := range ms {
		tm := time.UnixMilli(m).UTC()
		if got, want := formatUTC(m), tm.Format(time.RFC3339); got != want {
			t.Fatalf("formatUTC(%d) = %s, want %s", m, got, want)
		}
		if got, want := string(appendUTC([]byte("x"), m, ' ')), tm.Format("x2006-01-02 15:04:05Z"); got != want {
			t.Fatalf("appendUTC(%d, ' ') = %s, want %s", m, got, want)
		}
	}
}
