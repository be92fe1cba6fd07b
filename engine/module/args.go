package module

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// ArgError is one problem with one argument of a task.
type ArgError struct {
	Arg string // the key as written; empty for errors about the whole call
	Msg string
}

func (e *ArgError) Error() string { return e.Msg }

// Templated reports whether a value still holds a {{ }} expression, which
// can only be checked once the task runs.
func Templated(v any) bool {
	s, ok := v.(string)
	return ok && (strings.Contains(s, "{{") || strings.Contains(s, "{%"))
}

// Lookup finds the declared argument for a key or one of its aliases.
func (i *Info) Lookup(key string) *Arg {
	for n := range i.Args {
		a := &i.Args[n]
		if a.Name == key {
			return a
		}
		for _, al := range a.Aliases {
			if al == key {
				return a
			}
		}
	}
	return nil
}

// Decode checks raw arguments against the declaration and returns them
// converted, with defaults applied and aliases resolved. When loading is
// true, values that are still templated are accepted unchecked, as are
// missing required arguments that a templated argument could not supply;
// at run time (loading false) everything is checked.
func (i *Info) Decode(raw map[string]any, loading bool) (Args, []*ArgError) {
	if i.RawArgs {
		out := Args{}
		for k, v := range raw {
			out[k] = v
		}
		return out, nil
	}
	var errs []*ArgError
	out := Args{}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		a := i.Lookup(k)
		if a == nil {
			msg := fmt.Sprintf("unknown argument %q for %s", k, i.Name)
			if s := i.suggest(k); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			errs = append(errs, &ArgError{Arg: k, Msg: msg})
			continue
		}
		if _, dup := out[a.Name]; dup {
			errs = append(errs, &ArgError{Arg: k, Msg: fmt.Sprintf("argument %q given twice for %s", a.Name, i.Name)})
			continue
		}
		if loading && HasTemplate(v) {
			out[a.Name] = v
			continue
		}
		cv, err := Convert(a.Type, v)
		if err != nil {
			errs = append(errs, &ArgError{Arg: k, Msg: fmt.Sprintf("argument %q of %s: %v", k, i.Name, err)})
			continue
		}
		if len(a.Choices) > 0 && cv != nil {
			if s := fmt.Sprint(cv); !contains(a.Choices, s) {
				errs = append(errs, &ArgError{Arg: k, Msg: fmt.Sprintf("argument %q of %s must be one of %s, got %q", k, i.Name, strings.Join(a.Choices, ", "), s)})
				continue
			}
		}
		out[a.Name] = cv
	}
	for _, a := range i.Args {
		if _, ok := out[a.Name]; ok {
			continue
		}
		if a.Required {
			errs = append(errs, &ArgError{Msg: fmt.Sprintf("missing required argument %q for %s", a.Name, i.Name)})
			continue
		}
		if a.Default != nil {
			out[a.Name] = a.Default
		}
	}
	return out, errs
}

// HasTemplate reports whether a value, or any value inside it, still holds
// a {{ }} expression.
func HasTemplate(v any) bool {
	switch t := v.(type) {
	case string:
		return Templated(t)
	case []any:
		for _, e := range t {
			if HasTemplate(e) {
				return true
			}
		}
	case map[string]any:
		for _, e := range t {
			if HasTemplate(e) {
				return true
			}
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// suggest returns the declared name closest to a misspelt key, if any is close.
func (i *Info) suggest(key string) string {
	var names []string
	for _, a := range i.Args {
		names = append(names, a.Name)
		names = append(names, a.Aliases...)
	}
	return Closest(key, names)
}

// Closest returns the candidate within two edits of word, or "" when none
// is that close: the "did you mean" of every error message.
func Closest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := editDistance(word, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// Convert turns a YAML value into the declared type, as Ansible's argument
// spec does: "yes"/"true"/"1" are true, "42" is 42, "a,b" is [a b].
func Convert(t Type, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch t {
	case String, Path:
		switch x := v.(type) {
		case string:
			return x, nil
		case int, int64, uint64, float64, bool:
			return fmt.Sprint(x), nil
		}
		return nil, fmt.Errorf("want a string, got %s", TypeName(v))
	case Int:
		switch x := v.(type) {
		case int:
			return x, nil
		case int64:
			return int(x), nil
		case uint64:
			return int(x), nil
		case float64:
			if x == float64(int(x)) {
				return int(x), nil
			}
		case string:
			if n, err := strconv.Atoi(strings.TrimSpace(x)); err == nil {
				return n, nil
			}
		}
		return nil, fmt.Errorf("want an integer, got %s %v", TypeName(v), v)
	case Bool:
		if b, ok := ToBool(v); ok {
			return b, nil
		}
		return nil, fmt.Errorf("want a boolean, got %s %v", TypeName(v), v)
	case List:
		switch x := v.(type) {
		case []any:
			return x, nil
		case []string:
			out := make([]any, len(x))
			for n, s := range x {
				out[n] = s
			}
			return out, nil
		case string:
			if x == "" {
				return []any{}, nil
			}
			parts := strings.Split(x, ",")
			out := make([]any, len(parts))
			for n, p := range parts {
				out[n] = strings.TrimSpace(p)
			}
			return out, nil
		case int, int64, uint64, float64, bool:
			return []any{x}, nil
		}
		return nil, fmt.Errorf("want a list, got %s", TypeName(v))
	case Dict:
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
		return nil, fmt.Errorf("want a mapping, got %s", TypeName(v))
	case Mode:
		switch x := v.(type) {
		case string:
			if _, err := ParseMode(x, 0); err != nil {
				return nil, err
			}
			return x, nil
		case int, int64, uint64:
			// YAML 0644 without quotes is the octal number 420, as in Ansible.
			return fmt.Sprintf("0%o", x), nil
		}
		return nil, fmt.Errorf("want a file mode, got %s", TypeName(v))
	}
	return v, nil
}

// ToBool converts Ansible's boolean spellings.
func ToBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case int:
		return x != 0, x == 0 || x == 1
	case int64:
		return x != 0, x == 0 || x == 1
	case uint64:
		return x != 0, x == 0 || x == 1
	case float64:
		return x != 0, x == 0 || x == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "yes", "on", "true", "1", "y", "t":
			return true, true
		case "no", "off", "false", "0", "n", "f", "":
			return false, true
		}
	}
	return false, false
}

// TypeName names a value's type the way a playbook author thinks of it.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, uint64:
		return "integer"
	case float64:
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "mapping"
	}
	return fmt.Sprintf("%T", v)
}

// ParseMode parses an octal mode ("0644", "644", Python's "0o644") or a
// symbolic one ("u+x,g-w", "u=rw,go=r") applied to the current mode.
func ParseMode(s string, current fs.FileMode) (fs.FileMode, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, fmt.Errorf("empty file mode")
	}
	if n, err := strconv.ParseUint(strings.TrimPrefix(s, "0o"), 8, 32); err == nil {
		if n > 07777 {
			return 0, fmt.Errorf("file mode %q out of range", s)
		}
		return octalToMode(uint32(n)), nil
	}
	mode := modeToOctal(current)
	for _, clause := range strings.Split(s, ",") {
		i := strings.IndexAny(clause, "+-=")
		if i < 0 {
			return 0, fmt.Errorf("bad file mode %q", s)
		}
		who, op, perms := clause[:i], clause[i], clause[i+1:]
		if who == "" {
			who = "a"
		}
		var mask, bits uint32
		for _, w := range who {
			switch w {
			case 'u':
				mask |= 04700
			case 'g':
				mask |= 02070
			case 'o':
				mask |= 01007
			case 'a':
				mask |= 07777
			default:
				return 0, fmt.Errorf("bad file mode %q", s)
			}
		}
		for _, p := range perms {
			switch p {
			case 'r':
				bits |= 0444
			case 'w':
				bits |= 0222
			case 'x':
				bits |= 0111
			case 's':
				bits |= 06000
			case 't':
				bits |= 01000
			case 'X':
				if current.IsDir() || modeToOctal(current)&0111 != 0 {
					bits |= 0111
				}
			default:
				return 0, fmt.Errorf("bad file mode %q", s)
			}
		}
		bits &= mask
		switch op {
		case '+':
			mode |= bits
		case '-':
			mode &^= bits
		case '=':
			mode = mode&^(mask&0777|mask&07000) | bits
		}
	}
	return octalToMode(mode), nil
}

func octalToMode(n uint32) fs.FileMode {
	m := fs.FileMode(n & 0777)
	if n&04000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&02000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&01000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func modeToOctal(m fs.FileMode) uint32 {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 04000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 02000
	}
	if m&fs.ModeSticky != 0 {
		n |= 01000
	}
	return n
}

// ModeBits returns a mode's permission bits with setuid, setgid and
// sticky as the octal 04000, 02000, 01000.
func ModeBits(m fs.FileMode) uint32 { return modeToOctal(m) }

// OctalMode formats a mode as Ansible prints it: "0644", "04755".
func OctalMode(m fs.FileMode) string { return fmt.Sprintf("0%03o", modeToOctal(m)) }

// Registry finds modules by key or alias.
type Registry struct {
	byName map[string]*Info
	list   []*Info
}

// NewRegistry indexes infos by name and aliases; every module is also found
// under ansible.builtin.NAME unless that would clash.
func NewRegistry(infos ...Info) *Registry {
	r := &Registry{byName: map[string]*Info{}}
	for n := range infos {
		i := &infos[n]
		r.list = append(r.list, i)
		r.byName[i.Name] = i
		for _, a := range i.Aliases {
			r.byName[a] = i
		}
	}
	for _, i := range r.list {
		for _, prefix := range []string{"ansible.builtin.", "ansible.legacy.", "cutover."} {
			if _, taken := r.byName[prefix+i.Name]; !taken {
				r.byName[prefix+i.Name] = i
			}
		}
	}
	return r
}

// Get returns the module for a key, or nil.
func (r *Registry) Get(key string) *Info { return r.byName[key] }

// All returns the modules in declaration order.
func (r *Registry) All() []*Info { return r.list }
