package inventory

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
)

var (
	patternSplitRe        = lazyre.New(`(?:[^\s:\[\]]|\[[^\]]*\])+`)
	patternWithSubscripts = lazyre.New(`^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$`)
)

// splitHostPattern splits "a:b,c" into single patterns as Ansible's
// split_host_pattern: on commas if there are any, else on colons outside
// brackets unless the whole pattern is an address (an IPv6 address, say).
func splitHostPattern(pattern string) []string {
	var parts []string
	if strings.Contains(pattern, ",") {
		parts = strings.Split(pattern, ",")
	} else if _, _, err := parseAddress(pattern, true); err == nil {
		parts = []string{pattern}
	} else {
		parts = patternSplitRe.FindAllString(pattern, -1)
	}
	out := []string{}
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Select returns the hosts matching an Ansible host pattern: all or *,
// host and group names, globs (web*), regexes (~web\d+), unions (a:b, a,b),
// intersections (a:&b), exclusions (a:!b), subscripts (web[0], web[1:3],
// web[-1]) and combinations. The order is Ansible's: each part in turn,
// a group's own hosts before its children's, duplicates dropped. A pattern
// that matches nothing yields an empty list, not an error; a localhost
// alias the inventory lacks yields the implicit localhost.
func (inv *Inventory) Select(pattern string) ([]*Host, error) {
	hosts, _, err := inv.SelectWithWarnings(pattern)
	return hosts, err
}

// SelectWithWarnings is Select plus the warnings Ansible prints, such as
// "Could not match supplied host pattern, ignoring: x".
func (inv *Inventory) SelectWithWarnings(pattern string) ([]*Host, []string, error) {
	var warnings []string
	hosts, err := inv.evaluate(splitHostPattern(pattern), &warnings)
	return hosts, warnings, err
}

// Limit keeps the hosts that also match limit (the --limit option), in the
// order of hosts. limit uses the Select language plus @FILE entries, a file
// with one pattern per line such as a .retry file. An empty limit keeps
// every host.
func (inv *Inventory) Limit(hosts []*Host, limit string) ([]*Host, error) {
	var patterns []string
	for _, p := range splitHostPattern(limit) {
		if !strings.HasPrefix(p, "@") {
			patterns = append(patterns, p)
			continue
		}
		path := p[1:]
		fi, err := os.Stat(path)
		if err != nil {
			return nil, fmt.Errorf("unable to find limit file %s", path)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("limit starting with \"@\" must be a file, not a directory: %s", path)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read limit file: %w", err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" {
				patterns = append(patterns, line)
			}
		}
	}
	if len(patterns) == 0 {
		return append([]*Host(nil), hosts...), nil
	}
	subset, err := inv.evaluate(patterns, nil)
	if err != nil {
		return nil, err
	}
	keep := map[*Host]bool{}
	for _, h := range subset {
		keep[h] = true
	}
	out := []*Host{}
	for _, h := range hosts {
		if keep[h] {
			out = append(out, h)
		}
	}
	return out, nil
}

// evaluate applies the regular parts, then the &parts, then the !parts.
func (inv *Inventory) evaluate(patterns []string, warnings *[]string) ([]*Host, error) {
	var regular, intersect, exclude []string
	for _, p := range patterns {
		switch {
		case p == "":
		case p[0] == '!':
			exclude = append(exclude, p)
		case p[0] == '&':
			intersect = append(intersect, p)
		default:
			regular = append(regular, p)
		}
	}
	if len(regular) == 0 {
		regular = []string{"all"}
	}
	var hosts []*Host
	for _, p := range append(append(regular, intersect...), exclude...) {
		if h := inv.hosts[p]; h != nil {
			hosts = append(hosts, h)
			continue
		}
		that, err := inv.matchOne(p, warnings)
		if err != nil {
			return nil, err
		}
		in := map[*Host]bool{}
		for _, h := range that {
			in[h] = true
		}
		switch p[0] {
		case '!':
			hosts = filterHosts(hosts, func(h *Host) bool { return !in[h] })
		case '&':
			hosts = filterHosts(hosts, func(h *Host) bool { return in[h] })
		default:
			hosts = append(hosts, that...)
		}
	}
	seen := map[*Host]bool{}
	return filterHosts(hosts, func(h *Host) bool {
		if seen[h] {
			return false
		}
		seen[h] = true
		return true
	}), nil
}

func filterHosts(hosts []*Host, keep func(*Host) bool) []*Host {
	out := []*Host{}
	for _, h := range hosts {
		if keep(h) {
			out = append(out, h)
		}
	}
	return out
}

// matchOne resolves one pattern (its & or ! prefix ignored) with its
// optional subscript.
func (inv *Inventory) matchOne(pattern string, warnings *[]string) ([]*Host, error) {
	expr := strings.TrimLeft(pattern[:1], "&!") + pattern[1:]
	if expr == "" {
		return nil, nil
	}
	var start, end int
	idx, hasSub, hasRange := 0, false, false
	if expr[0] != '~' {
		if m := patternWithSubscripts.FindStringSubmatch(expr); m != nil {
			expr, hasSub = m[1], true
			if m[2] != "" {
				idx, _ = strconv.Atoi(m[2])
			} else {
				hasRange = true
				start, _ = strconv.Atoi(m[3])
				end = -1
				if m[5] != "" {
					end, _ = strconv.Atoi(m[5])
				}
				if m[4] == "-" && warnings != nil {
					*warnings = append(*warnings, "Use [x:y] inclusive subscripts instead of [x-y] which has been removed")
				}
			}
		}
	}
	hosts, err := inv.enumerate(expr, warnings)
	if err != nil || !hasSub || len(hosts) == 0 {
		return hosts, err
	}
	// Ansible: "if end:" - a zero end means a single index.
	if hasRange && end != 0 {
		if end == -1 {
			end = len(hosts) - 1
		}
		if start >= len(hosts) || end < start {
			return []*Host{}, nil
		}
		return hosts[start:min(end+1, len(hosts))], nil
	}
	if hasRange {
		idx = start
	}
	if idx < 0 {
		idx += len(hosts)
	}
	if idx < 0 || idx >= len(hosts) {
		return nil, fmt.Errorf("no hosts matched the subscripted pattern '%s'", strings.TrimLeft(pattern[:1], "&!")+pattern[1:])
	}
	return []*Host{hosts[idx]}, nil
}

// enumerate matches group names, then (for globs, regexes or when no group
// matched) host names, then the implicit localhost.
func (inv *Inventory) enumerate(pattern string, warnings *[]string) ([]*Host, error) {
	re, err := compileHostPattern(pattern)
	if err != nil {
		return nil, err
	}
	var results []*Host
	matchedGroups := 0
	for _, g := range inv.groupOrder {
		if re.MatchString(g.Name) {
			matchedGroups++
			results = append(results, g.AllHosts()...)
		}
	}
	if matchedGroups == 0 || pattern[0] == '~' || strings.ContainsAny(pattern, ".?*[") {
		for _, h := range inv.hostOrder {
			if re.MatchString(h.Name) {
				results = append(results, h)
			}
		}
	}
	if len(results) == 0 && isLocalhostName(pattern) {
		results = append(results, inv.implicitLocalhost(pattern))
	}
	if len(results) == 0 && matchedGroups == 0 && pattern != "all" && warnings != nil {
		*warnings = append(*warnings, "Could not match supplied host pattern, ignoring: "+pattern)
	}
	return results, nil
}

// compileHostPattern turns "~regex" into a regexp anchored at the start
// (Python's re.match) and anything else into a shell glob.
func compileHostPattern(pattern string) (*regexp.Regexp, error) {
	var src string
	if pattern[0] == '~' {
		src = `^(?:` + pattern[1:] + `)`
	} else {
		src = globToRegexp(pattern)
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, fmt.Errorf("invalid host list pattern: %s", pattern)
	}
	return re, nil
}

// globToRegexp follows Python's fnmatch.translate: *, ?, [seq], [!seq].
func globToRegexp(glob string) string {
	pat := []rune(glob)
	var b strings.Builder
	b.WriteString(`^(?s:`)
	for i := 0; i < len(pat); {
		c := pat[i]
		i++
		switch c {
		case '*':
			for i < len(pat) && pat[i] == '*' {
				i++
			}
			b.WriteString(`.*`)
		case '?':
			b.WriteString(`.`)
		case '[':
			j := i
			if j < len(pat) && pat[j] == '!' {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			stuff := string(pat[i:j])
			i = j + 1
			switch {
			case stuff == "":
				b.WriteString(`[^\x00-\x{10FFFF}]`) // never matches
			case stuff == "!":
				b.WriteString(`.`)
			default:
				neg := stuff[0] == '!'
				if neg {
					stuff = stuff[1:]
				}
				b.WriteByte('[')
				if neg {
					b.WriteByte('^')
				}
				for _, r := range stuff {
					if r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r > 0x7f {
						b.WriteRune(r)
					} else {
						b.WriteByte('\\')
						b.WriteRune(r)
					}
				}
				b.WriteByte(']')
			}
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString(`)$`)
	return b.String()
}
