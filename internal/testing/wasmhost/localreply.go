package wasmhost

import (
	"slices"
	"strconv"
	"strings"
)

// ClientReply is what Envoy sends the client for a local reply the plugin
// sent with status, headers and body (Http::Utility's local reply): a
// non-empty body gets its content-length (replacing any the plugin set) and
// keeps the plugin's content-type (text/plain if it set none); an empty
// body loses both content-length and content-type. A HEAD request gets the
// headers computed as if the body went out, and no body.
func ClientReply(method string, headers [][2]string, body []byte) ([][2]string, []byte) {
	out := slices.DeleteFunc(clonePairs(headers), func(p [2]string) bool {
		k := strings.ToLower(p[0])
		return k == "content-length" || (len(body) == 0 && k == "content-type")
	})
	if len(body) > 0 {
		if !slices.ContainsFunc(out, func(p [2]string) bool { return strings.EqualFold(p[0], "content-type") }) {
			out = append(out, [2]string{"content-type", "text/plain"})
		}
		out = append(out, [2]string{"content-length", strconv.Itoa(len(body))})
	}
	if method == "HEAD" {
		body = nil
	}
	return out, body
}
