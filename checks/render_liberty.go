package checks

// Liberty's /health (docs/dialects.md); its /info is the standard one.

// libertyHealthReply is Liberty's /health: the filter answered, with the version.
func libertyHealthReply(svc Service) Reply {
	b := []byte(`{"status":"ok"`)
	if svc.Version != "" {
		b = appendField(b, false, "version", svc.Version)
	}
	return Reply{Status: 200, ContentType: ContentJSON, Body: append(b, '}')}
}
