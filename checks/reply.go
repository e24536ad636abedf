package checks

import "strings"

// Content types of the replies.
const (
	ContentJSON       = "application/json"
	ContentHealthJSON = "application/health+json"
	ContentText       = "text/plain; charset=utf-8"
	ContentPrometheus = "text/plain; version=0.0.4; charset=utf-8"
)

// AcceptsHealthJSON: an Accept header value that asks for the IETF health
// check format (media types are case-insensitive). It allocates nothing:
// readiness probes call it on every request.
func AcceptsHealthJSON(accept string) bool {
	for i := 0; i+len(ContentHealthJSON) <= len(accept); i++ {
		if strings.EqualFold(accept[i:i+len(ContentHealthJSON)], ContentHealthJSON) {
			return true
		}
	}
	return false
}

// Reply is one answer: status, content type and body. The plugin adds the
// headers every reply carries (cache-control: no-store).
type Reply struct {
	Status      int
	ContentType string
	Body        []byte
}

func jsonReply(status int, body string) Reply {
	return Reply{Status: status, ContentType: ContentJSON, Body: []byte(body)}
}

// Replies that never change.
var (
	ReplyMethodNotAllowed = jsonReply(405, `{"status":"error","error":"method not allowed"}`)
	ReplyForbidden        = jsonReply(403, `{"status":"error","error":"details are not available to this client"}`)
)

// ReplyBusy: the shared state could not be written; nothing changed.
var ReplyBusy = jsonReply(503, `{"status":"error","error":"shared state busy, nothing changed: retry"}`)

// replyNotFound answers a route that has no renderer (never expected).
var replyNotFound = jsonReply(404, `{"status":"error","error":"not found"}`)

// DrainReply answers a drain request.
func DrainReply(draining bool) Reply {
	if draining {
		return jsonReply(200, `{"draining":true}`)
	}
	return jsonReply(200, `{"draining":false}`)
}

// ExtraHeaders are headers a reply needs beyond content type and cache-control.
func (r Reply) ExtraHeaders() [][2]string {
	switch r.ContentType {
	case ContentText:
		return [][2]string{textNosniff}
	case ContentHTML:
		return [][2]string{{"content-security-policy", statusCSP}, textNosniff, {"referrer-policy", "no-referrer"}}
	}
	return nil
}

func statusCode(ok bool) int {
	if ok {
		return 200
	}
	return 503
}
