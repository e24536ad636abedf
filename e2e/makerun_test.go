package e2e

import (
	"bufio"

	"net/http"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// `make run` end to end: the command builds, reads envoy/envoy.yaml, starts
// the demo dependencies (the HSM one over mTLS) and, once its banner says
// it listens, serves readiness within 10 s; readiness flips when the demo dependency it names is told to fail
// and back when it recovers; other paths reach the demo app; Ctrl-C stops
// it cleanly. Ports are moved to free ones so a running `make run` does
// not collide with the test.
func TestMakeRunLocalHost(t *testing.T) { testMakeRun(t, "-local") }

// The same in each tested Envoy (see runtimes: a missing one skips loudly,
// or fails under MESHPROBE_REQUIRE_ENVOY).
func TestMakeRunEnvoy(t *testing.T) {
	eachEnvoy(t, func(t *testing.T, rt runtimeCase) { testMakeRun(t, "-envoy", rt.bin) })
}

var (
	servingRE = regexp.MustCompile(`serving on (http://\S+) in`)
	failRE    = regexp.MustCompile(`curl -X POST (http://\S+)/fail/(\S+)`)
)

func testMakeRun(t *testing.T, mode ...string) {
	bin := filepath.Join(t.TempDir(), "run")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/run").CombinedOutput(); err != nil {
		t.Fatalf("building the make-run command: %v\n%s", err, out)
	}
	pluginWasm(t) // fails clearly if the plugin is not built
	cmd := exec.Command(bin, append([]string{"-free-ports"}, mode...)...)
	cmd.Dir = ".." // the repository root, as make runs it
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	started := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := false
	t.Cleanup(func() {
		if !exited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	lines := bufio.NewScanner(stdout)
	var base, control, name string
	for base == "" || control == "" {
		if !lines.Scan() {
			cmd.Wait()
			t.Fatalf("make run ended before printing its URLs:\n%s", stderr.String())
		}
		if m := servingRE.FindStringSubmatch(lines.Text()); m != nil {
			base = m[1]
		}
		if m := failRE.FindStringSubmatch(lines.Text()); m != nil {
			control, name = m[1], m[2]
		}
	}
	rest := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		rest <- b.String()
	}()

	// The banner comes once the proxy listens (Envoy has compiled the
	// plugin by then, which takes seconds on a small machine).
	listening := time.Now()
	waitStatus(t, base+"/health/probes/readiness", 200, 10*time.Second)
	t.Logf("readiness 200 %v after the banner, %v after the start", time.Since(listening).Round(time.Millisecond), time.Since(started).Round(time.Millisecond))
	post := func(url string) {
		resp, err := http.Post(url, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("POST %s: %d", url, resp.StatusCode)
		}
	}
	post(control + "/fail/" + name)
	took := waitStatus(t, base+"/health/probes/readiness", 503, 15*time.Second)
	t.Logf("readiness 503 %v after %s was told to fail", took.Round(time.Millisecond), name)
	post(control + "/recover/" + name)
	waitStatus(t, base+"/health/probes/readiness", 200, 10*time.Second)

	code, body := get(t, base+"/api/orders?id=7")
	if code != 200 || !strings.Contains(body, `"path":"/api/orders"`) {
		t.Errorf("pass-through to the demo app: %d %s", code, body)
	}

	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	exited = true
	if err != nil {
		t.Fatalf("make run did not stop cleanly on Ctrl-C: %v\n%s", err, stderr.String())
	}
	if out := <-rest; !strings.Contains(out, "stopped") {
		t.Errorf("make run printed no 'stopped' on Ctrl-C: %q", out)
	}
	if strings.Contains(stderr.String(), "host error") {
		t.Errorf("the host reported errors:\n%s", stderr.String())
	}
}
