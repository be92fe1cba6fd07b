package inventory

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
)

// The address grammar of ansible.parsing.utils.addresses, minus the
// lookbehind Go's regexp lacks (checked by hand in validHostname).
const (
	numericRange      = `\[(?:[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	hexadecimalRange  = `\[(?:[0-9a-f]+:[0-9a-f]+)(?::[0-9]+)?\]`
	alphanumericRange = `\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]`
	ipv6Component     = `(?:[0-9a-f]{1,4}|` + hexadecimalRange + `)`
	ipv4Component     = `(?:[01]?[0-9]{1,2}|2[0-4][0-9]|25[0-5]|` + numericRange + `)`
	labelPattern      = `(?:[\pL\pN_]|` + alphanumericRange + `)(?:[\pL\pN_-]|` + alphanumericRange + `)*`
)

var (
	bracketedHostPortRe = lazyre.New(`^\[(.+)\]:([0-9]+)$`)
	hostPortRe          = lazyre.New(`^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$`)
	ipv4Re              = lazyre.New(`(?i)^(?:` + ipv4Component + `\.){3}` + ipv4Component + `$`)
	ipv6Re              = lazyre.New(strings.ReplaceAll(`(?i)^(?:`+strings.Join([]string{
		`(?:{0}:){7}{0}`, `(?:{0}:){1,6}:`, `(?:{0}:)(?::{0}){1,6}`, `(?:{0}:){2}(?::{0}){1,5}`,
		`(?:{0}:){3}(?::{0}){1,4}`, `(?:{0}:){4}(?::{0}){1,3}`, `(?:{0}:){5}(?::{0}){1,2}`,
		`(?:{0}:){6}(?::{0})`, `:(?::{0}){1,6}`, `{0}?::`, `(?:0:){6}(?:{0}\.){3}{0}`,
		`::(?:ffff:)?(?:{0}\.){3}{0}`, `(?:0:){5}ffff:(?:{0}\.){3}{0}`,
	}, "|")+`)$`, "{0}", ipv6Component))
	labelRe = lazyre.New(`(?i)^` + labelPattern + `$`)
)

// validHostname reports whether s is one or more dot-separated labels, each
// not ending in '_' or '-'. Labels may hold [x:y] ranges, which never
// contain dots.
func validHostname(s string) bool {
	for _, l := range splitOutsideBrackets(s, '.') {
		if !asciiLabel(l) && !labelRe.MatchString(l) || strings.HasSuffix(l, "_") || strings.HasSuffix(l, "-") {
			return false
		}
	}
	return true
}

// asciiLabel reports whether l is a label of ASCII letters, digits, '_'
// and '-' not starting with '-': labelRe matches those, and they are
// nearly every name, so the costly Unicode pattern is rarely compiled.
func asciiLabel(l string) bool {
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' && i > 0) {
			return false
		}
	}
	return l != ""
}

func splitOutsideBrackets(s string, sep byte) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case sep:
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

var errNotAddress = errors.New("not a valid network hostname")

// parseAddress splits "host:port", "[v6]:port" and plain hosts as Ansible's
// parse_address does; port is 0 when none is given.
func parseAddress(address string, allowRanges bool) (string, int, error) {
	port := 0
	for _, re := range []*lazyre.Regexp{bracketedHostPortRe, hostPortRe} {
		if !strings.Contains(address, ":") {
			break // no port, and neither pattern need compile
		}
		if m := re.FindStringSubmatch(address); m != nil {
			p, err := strconv.Atoi(m[2])
			if err != nil {
				return "", 0, errNotAddress
			}
			address, port = m[1], p
		}
	}
	// Only digits, dots, ranges and ports can make an IPv4 address, and
	// every IPv6 form holds a colon: names skip those patterns (the IPv6
	// one costs a millisecond to compile).
	ipv4 := strings.Trim(address, "0123456789.[]:") == "" && ipv4Re.MatchString(address)
	ipv6 := !ipv4 && strings.Contains(address, ":") && ipv6Re.MatchString(address)
	if !ipv4 && !ipv6 && !validHostname(address) {
		return "", 0, fmt.Errorf("%w: %s", errNotAddress, address)
	}
	if !allowRanges && strings.Contains(address, "[") {
		return "", 0, errors.New("detected range in host but was asked to ignore ranges")
	}
	return address, port, nil
}

// expandHostPattern turns an inventory host entry ("db[01:03]:2222") into
// host names and a port, as BaseInventoryPlugin._expand_hostpattern does.
func expandHostPattern(pattern string) ([]string, int, error) {
	host, port, err := parseAddress(pattern, true)
	if err != nil {
		host, port = pattern, 0
	}
	if !strings.Contains(host, "[") {
		return []string{host}, port, nil
	}
	names, err := expandHostnameRange(host, 0)
	return names, port, err
}

const asciiLetters = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

// maxRangeHosts bounds what one range line may produce, so a typo such as
// host[0:99999999] fails instead of exhausting memory.
const maxRangeHosts = 100000

// expandHostnameRange expands the first [beg:end(:step)] of line and
// recurses for the rest, keeping leading zeros (db[01:10]) and supporting
// letter ranges (web[a:c]).
func expandHostnameRange(line string, produced int) ([]string, error) {
	if !strings.Contains(line, "[") {
		return []string{line}, nil
	}
	// Python: line.replace('[', '|', 1).replace(']', '|', 1).split('|')
	parts := strings.Split(strings.Replace(strings.Replace(line, "[", "|", 1), "]", "|", 1), "|")
	if len(parts) != 3 {
		return nil, fmt.Errorf("invalid host range in %q: expected one [begin:end] expression", line)
	}
	head, nrange, tail := parts[0], parts[1], parts[2]
	bounds := strings.Split(nrange, ":")
	if len(bounds) != 2 && len(bounds) != 3 {
		return nil, fmt.Errorf("host range must be begin:end or begin:end:step, got [%s]", nrange)
	}
	beg, end, step := bounds[0], bounds[1], 1
	if len(bounds) == 3 {
		s, err := strconv.Atoi(bounds[2])
		if err != nil {
			return nil, fmt.Errorf("host range step %q is not a number", bounds[2])
		}
		step = s
	}
	if step == 0 {
		return nil, fmt.Errorf("host range step must not be zero")
	}
	if beg == "" {
		beg = "0"
	}
	if end == "" {
		return nil, fmt.Errorf("host range must specify end value")
	}
	width := 0
	if beg[0] == '0' && len(beg) > 1 {
		width = len(beg)
		if width != len(end) {
			return nil, fmt.Errorf("host range must specify equal-length begin and end formats")
		}
	}
	var seq []string
	ib, ie := strings.Index(asciiLetters, beg), strings.Index(asciiLetters, end)
	if ib >= 0 && ie >= 0 {
		if ib > ie {
			return nil, fmt.Errorf("host range must have begin <= end")
		}
		for i := ib; i <= ie && step > 0; i += step {
			seq = append(seq, asciiLetters[i:i+1])
		}
	} else {
		b, err1 := strconv.Atoi(beg)
		e, err2 := strconv.Atoi(end)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("invalid host range [%s]: bounds must be two numbers or two letters", nrange)
		}
		if step > 0 && e >= b && (e-b)/step+produced > maxRangeHosts {
			return nil, fmt.Errorf("host range [%s] expands to too many hosts", nrange)
		}
		for i := b; step > 0 && i <= e; i += step {
			n := strconv.Itoa(i)
			if width > 0 && len(n) < width {
				n = strings.Repeat("0", width-len(n)) + n
			}
			seq = append(seq, n)
		}
		for i := b; step < 0 && i > e+1; i += step {
			seq = append(seq, strconv.Itoa(i))
		}
	}
	var out []string
	for _, s := range seq {
		names, err := expandHostnameRange(head+s+tail, produced+len(out))
		if err != nil {
			return nil, err
		}
		out = append(out, names...)
		if len(out)+produced > maxRangeHosts {
			return nil, fmt.Errorf("host range in %q expands to too many hosts", line)
		}
	}
	return out, nil
}
