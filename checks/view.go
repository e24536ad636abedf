package checks

// View is what a renderer sees of one request: the configuration, the
// state, whether this client may see details, and the raw query.
type View struct {
	Cfg         *Config
	State       *State
	ShowDetails bool // this client may see details (the details policy)
	Query       string
}

// Reason is what a probe may say about a failing check: our message when
// details are allowed, else a fixed placeholder.
func (v *View) reason(i int) string {
	if !v.ShowDetails {
		return "reason withheld"
	}
	if m := v.State.Checks[i].Message; m != "" && v.State.Checks[i].CheckedAt != 0 {
		return m
	}
	return "not checked yet"
}

func (v *View) up(i int) bool { return v.State.Checks[i].Status == StatusUp }

func (v *View) ready() bool {
	ok, _ := v.State.Ready(v.Cfg)
	return ok
}

func (v *View) draining() bool { return v.State.Draining || v.State.Teardown }

// hsmUp reports whether every hsm check is up, and whether there is one.
func (v *View) hsmUp() (up, any bool) {
	up = true
	for i := range v.Cfg.Checks {
		if v.Cfg.Checks[i].Kind == KindHSM {
			any = true
			up = up && v.up(i)
		}
	}
	return up, any
}
