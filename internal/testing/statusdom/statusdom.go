// Package statusdom reads the status page ({base}/status) back from HTML,
// as a person would see it: checks' renderer tests read the page the
// renderer wrote, e2e reads the DOM a real browser built from it.
package statusdom

import (
	"strings"

	"golang.org/x/net/html"
)

// Page is what the document shows.
type Page struct {
	Doctype bool   // an HTML5 doctype first
	Lang    string // of the html element
	Title   string
	Summary []string        // the summary's words
	Heads   []string        // the table's column headers
	Rows    [][]string      // each row's cells
	Scopes  map[string]int  // th elements by scope
	Tags    map[string]bool // every element name present
}

// Read parses the document.
func Read(doc string) (Page, error) {
	root, err := html.Parse(strings.NewReader(doc))
	if err != nil {
		return Page{}, err
	}
	p := Page{Scopes: map[string]int{}, Tags: map[string]bool{}}
	p.Doctype = root.FirstChild != nil && root.FirstChild.Type == html.DoctypeNode && root.FirstChild.Data == "html"
	walk(root, func(n *html.Node) {
		if n.Type != html.ElementNode {
			return
		}
		p.Tags[n.Data] = true
		switch {
		case n.Data == "html":
			p.Lang = attr(n, "lang")
		case n.Data == "title":
			p.Title = Text(n)
		case n.Data == "strong":
			p.Summary = append(p.Summary, Text(n))
		case n.Data == "th":
			p.Scopes[attr(n, "scope")]++
			if n.Parent != nil && n.Parent.Parent != nil && n.Parent.Parent.Data == "thead" {
				p.Heads = append(p.Heads, Text(n))
			}
		case n.Data == "tr" && n.Parent != nil && n.Parent.Data == "tbody":
			var cells []string
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				cells = append(cells, Text(c))
			}
			p.Rows = append(p.Rows, cells)
		}
	})
	return p, nil
}

// Text is the text a node shows, trimmed.
func Text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(x *html.Node) {
		if x.Type == html.TextNode {
			b.WriteString(x.Data)
		}
	})
	return strings.TrimSpace(b.String())
}

func walk(n *html.Node, f func(*html.Node)) {
	f(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
