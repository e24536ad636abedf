package istio

import (
	"os"
	"slices"
	"testing"
)

// TestMain lets NewPodNet re-execute this test binary inside a pod's netns as
// istio-init: with MESHPROBE_ISTIO_IPTABLES=1 it runs istio-iptables with the
// arguments after "--" instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv(istioIptablesEnv) == "1" {
		i := slices.Index(os.Args, "--")
		if i < 0 {
			os.Stderr.WriteString(istioIptablesEnv + "=1 but no -- before the istio-iptables args\n")
			os.Exit(2)
		}
		os.Exit(runIstioIptables(os.Args[i+1:]))
	}
	os.Exit(m.Run())
}
