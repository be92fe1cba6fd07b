package modules

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/cutover/cutover/engine/module"
)

// Reading and writing ufw's rules files, and normalizing addresses and
// ports the way ufw does.

// parseUfwRules reads the tuples of one rules file, in order.
func parseUfwRules(text string, v6 bool) ([]ufwTuple, error) {
	var rules []ufwTuple
	for n, line := range strings.Split(text, "\n") {
		rest, ok := strings.CutPrefix(line, "### tuple ###")
		if !ok {
			continue
		}
		t := ufwTuple{V6: v6}
		if body, hexComment, found := strings.Cut(rest, " comment="); found {
			c, err := hex.DecodeString(strings.TrimSpace(hexComment))
			if err != nil {
				return nil, fmt.Errorf("line %d: bad comment %q: %w", n+1, hexComment, err)
			}
			rest, t.Comment = body, string(c)
		}
		f := strings.Fields(rest)
		switch len(f) {
		case 7:
		case 9:
			t.DApp, t.SApp = unApp(f[6]), unApp(f[7])
			f = append(f[:6], f[8])
		default:
			return nil, fmt.Errorf("line %d: malformed rule %q", n+1, strings.TrimSpace(rest))
		}
		t.Action = f[0]
		if a, ok := strings.CutPrefix(t.Action, "route:"); ok {
			t.Action, t.Forward = a, true
		}
		t.Proto, t.DPort, t.Dst, t.SPort, t.Src, t.Ifaces = f[1], f[2], f[3], f[4], f[5], f[6]
		rules = append(rules, t)
	}
	return rules, nil
}

func unApp(s string) string {
	if s == "-" {
		return ""
	}
	return strings.ReplaceAll(s, "%20", " ")
}

// ufwAddress normalizes an address as ufw does: "any" is "", a host mask
// is dropped, an IPv4 network is masked (IPv6 ones are kept as written,
// lower case). It returns the address family, 0 for any.
func ufwAddress(s string) (string, int, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "any" {
		return "", 0, nil
	}
	addrText, maskText, hasMask := strings.Cut(s, "/")
	addr, err := netip.ParseAddr(addrText)
	if err != nil || addr.Zone() != "" {
		return "", 0, fmt.Errorf("%q is not an IP address or network (ufw takes no host names)", s)
	}
	fam := 4
	if addr.Is6() && !addr.Is4In6() {
		fam = 6
	} else {
		addr = addr.Unmap()
	}
	if !hasMask {
		return addr.String(), fam, nil
	}
	bits, err := strconv.Atoi(maskText)
	if err != nil && fam == 4 {
		m, perr := netip.ParseAddr(maskText)
		if perr == nil && m.Is4() {
			bits, err = dottedMaskBits(m)
		}
	}
	if err != nil || bits < 0 || bits > addr.BitLen() {
		return "", 0, fmt.Errorf("%q: bad netmask", s)
	}
	if bits == addr.BitLen() {
		return addr.String(), fam, nil
	}
	if fam == 4 {
		return netip.PrefixFrom(addr, bits).Masked().String(), fam, nil
	}
	return fmt.Sprintf("%s/%d", addr, bits), fam, nil
}

// dottedMaskBits converts 255.255.255.0 to 24; a mask with holes is refused.
func dottedMaskBits(m netip.Addr) (int, error) {
	b := m.As4()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	bits := 0
	for v&0x80000000 != 0 {
		bits, v = bits+1, v<<1
	}
	if v != 0 {
		return 0, errors.New("netmask is not contiguous")
	}
	return bits, nil
}

// ufwPort checks a port, range or list and sorts a list as ufw does.
func ufwPort(p, proto string) (string, error) {
	p = strings.TrimSpace(p)
	if p == "" || p == "any" {
		return "any", nil
	}
	parts := strings.Split(p, ",")
	multi := len(parts) > 1
	for _, part := range parts {
		m := ufwPortPart.FindStringSubmatch(part)
		if m == nil {
			return "", fmt.Errorf("port %q: want a number, a range a:b or a comma list of those (service names are not accepted)", p)
		}
		lo, _ := strconv.Atoi(m[1])
		hi := lo
		if m[2] != "" {
			multi = true
			hi, _ = strconv.Atoi(m[2])
			if hi <= lo {
				return "", fmt.Errorf("port %q: range %s must go up", p, part)
			}
		}
		if lo < 1 || hi > 65535 {
			return "", fmt.Errorf("port %q: ports go from 1 to 65535", p)
		}
	}
	if multi && proto == "any" {
		return "", fmt.Errorf("port %q: ranges and lists need proto tcp or udp", p)
	}
	sort.SliceStable(parts, func(i, j int) bool { return humanLess(parts[i], parts[j]) })
	return strings.Join(parts, ","), nil
}

// humanLess orders as ufw's human_sort: runs of digits compare as numbers.
func humanLess(a, b string) bool {
	x, y := digitRuns.FindAllString(a, -1), digitRuns.FindAllString(b, -1)
	for i := 0; i < len(x) && i < len(y); i++ {
		if x[i] == y[i] {
			continue
		}
		nx, ex := strconv.Atoi(x[i])
		ny, ey := strconv.Atoi(y[i])
		if ex == nil && ey == nil && nx != ny {
			return nx < ny
		}
		return x[i] < y[i]
	}
	return len(x) < len(y)
}

func renderUfwRules(rules4, rules6 []ufwTuple) string {
	var b strings.Builder
	for _, r := range append(append([]ufwTuple{}, rules4...), rules6...) {
		b.WriteString(r.String() + "\n")
	}
	return b.String()
}

func readUfwRules(ctx context.Context, h module.Host, p string, v6 bool) ([]ufwTuple, error) {
	data, err := h.ReadFile(ctx, p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("ufw is not installed: %s does not exist", p)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	rules, err := parseUfwRules(string(data), v6)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	return rules, nil
}
