package config

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"assetd/internal/asset"
)

// A pattern is "/" followed by segments separated by "/": a literal asset
// path segment, "*" (exactly one segment) or "**" (any number, zero
// included).
const (
	wildOne = "*"
	wildAny = "**"
)

// pattern is one compiled path pattern.
type pattern struct {
	raw    string
	segs   []string // lower-cased
	lits   int
	stars  int
	dstars int
	rule   PathRule
}

// node is a trie node; a pattern ends at the node its last segment leads to.
type node struct {
	lit   map[string]*node
	one   *node // "*"
	any   *node // "**"
	rules []*pattern
}

// matcher finds the patterns that match a path, ordered from the least
// specific to the most, so that merging in that order lets the most specific
// win and inherit the rest.
type matcher struct {
	root node
}

// compile builds the matcher. It does not validate: invalid patterns are
// matched as well as their segments allow, and Validate reports them.
func compile(rules map[string]PathRule) *matcher {
	m := &matcher{}
	// Sorted insertion keeps the trie, and so a Config's DeepEqual, independent
	// of map order.
	keys := make([]string, 0, len(rules))
	for k := range rules {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, raw := range keys {
		p := &pattern{raw: raw, rule: rules[raw]}
		n := &m.root
		for _, seg := range splitPath(raw) {
			p.segs = append(p.segs, seg)
			switch seg {
			case wildOne:
				p.stars++
				if n.one == nil {
					n.one = &node{}
				}
				n = n.one
			case wildAny:
				p.dstars++
				if n.any == nil {
					n.any = &node{}
				}
				n = n.any
			default:
				p.lits++
				if n.lit == nil {
					n.lit = map[string]*node{}
				}
				if n.lit[seg] == nil {
					n.lit[seg] = &node{}
				}
				n = n.lit[seg]
			}
		}
		n.rules = append(n.rules, p)
	}
	return m
}

// match returns the patterns matching segs (lower-cased), least specific
// first.
func (m *matcher) match(segs []string) []*pattern {
	type state struct {
		n *node
		i int
	}
	// "**" can reach one (node, position) along many routes; visiting each
	// once keeps matching linear in trie size × path length.
	seen := map[state]bool{}
	var found []*pattern
	var walk func(n *node, i int)
	walk = func(n *node, i int) {
		if seen[state{n, i}] {
			return
		}
		seen[state{n, i}] = true
		if n.any != nil {
			for j := i; j <= len(segs); j++ {
				walk(n.any, j)
			}
		}
		if i == len(segs) {
			found = append(found, n.rules...)
			return
		}
		if c := n.lit[segs[i]]; c != nil {
			walk(c, i+1)
		}
		if n.one != nil {
			walk(n.one, i+1)
		}
	}
	walk(&m.root, 0)
	slices.SortFunc(found, compareSpecificity)
	return found
}

// compareSpecificity orders a before b (negative) when a is less specific:
// fewer literal segments, then fewer "*", then more "**"; then, segment by
// segment from the left, the first literal over "*" over "**"; then the
// pattern text, so that the order never depends on the file's order.
func compareSpecificity(a, b *pattern) int {
	if c := a.lits - b.lits; c != 0 {
		return c
	}
	if c := a.stars - b.stars; c != 0 {
		return c
	}
	if c := b.dstars - a.dstars; c != 0 {
		return c
	}
	for i := 0; i < len(a.segs) && i < len(b.segs); i++ {
		if c := segmentRank(a.segs[i]) - segmentRank(b.segs[i]); c != 0 {
			return c
		}
	}
	return strings.Compare(strings.ToLower(a.raw), strings.ToLower(b.raw))
}

func segmentRank(seg string) int {
	switch seg {
	case wildAny:
		return 0
	case wildOne:
		return 1
	}
	return 2
}

// patternProblem says what is wrong with a pattern, or "" when it is valid.
func patternProblem(raw string) string {
	if !strings.HasPrefix(raw, "/") {
		return "must start with /"
	}
	if raw == "/" {
		return "must have at least one segment (use /** for every path)"
	}
	for _, seg := range strings.Split(raw[1:], "/") {
		switch {
		case seg == wildOne || seg == wildAny:
		case seg == "":
			return "has an empty segment (a doubled or trailing /)"
		case strings.Contains(seg, "*"):
			return fmt.Sprintf("segment %q mixes * with text; a wildcard must be a whole segment, * or **", seg)
		default:
			if err := checkLiteral(seg); err != "" {
				return fmt.Sprintf("segment %q %s", seg, err)
			}
		}
	}
	return ""
}

// checkLiteral applies the asset path segment rules to a literal pattern
// segment, since a literal that no path can contain would silently never
// match.
func checkLiteral(seg string) string {
	if _, err := asset.ParsePath(seg); err != nil {
		var e *asset.Error
		if errors.As(err, &e) {
			return "is not a valid path segment: " + e.Detail
		}
		return "is not a valid path segment"
	}
	return ""
}
