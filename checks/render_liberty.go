package checks

// Liberty's /health (docs/dialects.md); its /info is the standard one.
var liberty = dialect{
	name: "liberty",
	endpoints: []endpoint{
		{path: "/health", label: "health", fixed: true, render: libertyHealth},
		{path: "/info", label: "info", details: true, fixed: true, render: (*Answers).info},
	},
}

var _ = declare(&liberty)

// libertyHealth is Liberty's /health: the filter answered, with the version.
func libertyHealth(a *Answers, _ *Route, _ string, _ Source) Reply {
	b := []byte(`{"status":"ok"`)
	if a.svc.Version != "" {
		b = appendField(b, false, "version", a.svc.Version)
	}
	return Reply{Status: 200, ContentType: ContentJSON, Body: append(b, '}')}
}
