package dialectcases

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// init reads every dialect's file into Sets, Cases, DetailsDialects and
// DetailsDown.
func init() {
	dir := casesDir()
	files, err := filepath.Glob(filepath.Join(dir, "*.txt"))
	if err != nil || len(files) == 0 {
		panic(fmt.Sprintf("dialectcases: no cases in %s (%v)", dir, err))
	}
	sets := map[string][]string{}         // set -> its dialects, after standard
	paths := map[string]map[string]Want{} // set + " " + state -> its paths
	details := []string{`"standard"`}
	for _, f := range files {
		dialect := strings.TrimSuffix(filepath.Base(f), ".txt")
		set, lines, withDetails := read(f)
		sets[set] = append(sets[set], `"`+dialect+`"`)
		if withDetails {
			if set != "main" {
				panic(f + ": down+details is run in the set main only")
			}
			details = append(details, `"`+dialect+`"`)
		}
		for _, l := range lines {
			m := DetailsDown
			if l.state != Down+"+details" {
				k := set + " " + l.state
				if paths[k] == nil {
					paths[k] = map[string]Want{}
				}
				m = paths[k]
			}
			if _, dup := m[l.path]; dup {
				panic(fmt.Sprintf("%s: %s %s is in the set's cases twice", f, l.state, l.path))
			}
			m[l.path] = l.want
		}
	}
	names := make([]string, 0, len(sets))
	for n := range sets {
		if n != "main" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range append([]string{"main"}, names...) {
		set := Set{n, strings.Join(append([]string{`"standard"`}, sets[n]...), ",")}
		Sets = append(Sets, set)
		for _, st := range States {
			if p := paths[n+" "+st]; p != nil {
				Cases = append(Cases, Case{set, st, p})
			}
		}
	}
	Main = Sets[0]
	for _, s := range Sets {
		if s.Name == "privacyidea" {
			PrivacyIDEA = s
		}
	}
	DetailsDialects = strings.Join(details, ",")
}

type line struct {
	state, path string
	want        Want
}

// read reads one dialect's file: its set ("main" unless a set line names
// another), its lines, and whether any is a down+details one.
func read(file string) (set string, lines []line, withDetails bool) {
	f, err := os.Open(file)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	set = "main"
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		t := sc.Text()
		if t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if s, ok := strings.CutPrefix(t, "set "); ok {
			set = s
			continue
		}
		w := strings.SplitN(t, " ", 4)
		status, err := strconv.Atoi(w[min(2, len(w)-1)])
		if len(w) != 4 || err != nil || !validState(w[0]) {
			panic(fmt.Sprintf("%s:%d: want a state, a path, a status and a body: %q", file, n, t))
		}
		body := w[3]
		if strings.HasPrefix(body, `"`) {
			if body, err = strconv.Unquote(body); err != nil {
				panic(fmt.Sprintf("%s:%d: %v", file, n, err))
			}
		}
		lines = append(lines, line{w[0], w[1], Want{status, body}})
		withDetails = withDetails || w[0] == Down+"+details"
	}
	if err := sc.Err(); err != nil {
		panic(err)
	}
	return set, lines, withDetails
}

func validState(s string) bool {
	for _, st := range States {
		if s == st {
			return true
		}
	}
	return s == Down+"+details"
}

// casesDir is checks/testdata/cases, looked for from the test's directory
// up (a test runs in its package's directory).
func casesDir() string {
	wd, err := os.Getwd()
	if err != nil {
		panic(err)
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		d := filepath.Join(dir, "checks", "testdata", "cases")
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
		if filepath.Dir(dir) == dir {
			panic("dialectcases: no checks/testdata/cases in " + wd + " or above")
		}
	}
}
