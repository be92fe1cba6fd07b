// Package redact keeps the run's secrets and replaces them in everything
// cutover prints or writes: a value from a vault, a module argument
// declared secret, a variable whose name says it is a password. Secrets
// are matched as text, so one is hidden wherever it ends up: in a
// message, a diff, a JSON event or an error.
package redact

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/cutover/cutover/engine/pyfmt"
)

// Mask replaces a secret.
const Mask = "********"

// MinLen is the shortest value treated as a secret: hiding every "a" or
// "no" in the output would hide the output. Shorter passwords are refused
// by any sensible policy anyway.
const MinLen = 4

// Set is a set of secrets, safe for concurrent use. The zero value is
// empty; a nil *Set redacts nothing.
type Set struct {
	mu       sync.RWMutex
	secrets  map[string]bool
	replacer *strings.Replacer // rebuilt when the set grows
}

// Add records secrets; values shorter than MinLen are ignored.
func (s *Set) Add(values ...string) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, v := range values {
		if len(v) < MinLen || s.secrets[v] {
			continue
		}
		if s.secrets == nil {
			s.secrets = map[string]bool{}
		}
		s.secrets[v] = true
		s.replacer = nil
		// As it shows inside JSON (events, results) or a Python repr
		// (Ansible's messages): quotes, backslashes and non-ASCII escaped.
		for _, form := range escapedForms(v) {
			if form != v && len(form) >= MinLen {
				s.secrets[form] = true
			}
		}
		// A multi-line secret (a key) may be printed line by line.
		for _, line := range strings.Split(v, "\n") {
			if line = strings.TrimSpace(line); len(line) >= MinLen*2 && !s.secrets[line] {
				s.secrets[line] = true
			}
		}
	}
}

func escapedForms(v string) []string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
	goJSON := strings.TrimSuffix(b.String(), "\n")
	forms := []string{goJSON, pyfmt.JSON(v, 0, true), pyfmt.JSON(v, 0, false), pyfmt.Repr(v)}
	for i, f := range forms {
		if len(f) >= 2 {
			forms[i] = f[1 : len(f)-1]
		}
	}
	return forms
}

// AddValue records every string inside v (maps, lists, nested).
func (s *Set) AddValue(v any) {
	switch x := v.(type) {
	case string:
		s.Add(x)
	case []byte:
		s.Add(string(x))
	case []any:
		for _, e := range x {
			s.AddValue(e)
		}
	case map[string]any:
		for _, e := range x {
			s.AddValue(e)
		}
	case interface{ String() string }:
		s.Add(x.String())
	}
}

// Len is the number of secrets held.
func (s *Set) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.secrets)
}

// String replaces every secret in text with Mask, longest first so a
// secret that contains another is hidden whole.
func (s *Set) String(text string) string {
	if s == nil {
		return text
	}
	s.mu.RLock()
	r := s.replacer
	empty := len(s.secrets) == 0
	s.mu.RUnlock()
	if empty {
		return text
	}
	if r == nil {
		r = s.build()
	}
	return r.Replace(text)
}

func (s *Set) build() *strings.Replacer {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replacer != nil {
		return s.replacer
	}
	keys := make([]string, 0, len(s.secrets))
	for k := range s.secrets {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, Mask)
	}
	s.replacer = strings.NewReplacer(pairs...)
	return s.replacer
}

// Value returns v with every secret inside its strings masked (a copy).
func (s *Set) Value(v any) any {
	if s.Len() == 0 {
		return v
	}
	switch x := v.(type) {
	case string:
		return s.String(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = s.Value(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[s.String(k)] = s.Value(e)
		}
		return out
	}
	return v
}

// Writer masks secrets in everything written to w. Each Write is masked
// whole, so writers above it must write a message in one call.
func (s *Set) Writer(w io.Writer) io.Writer {
	return &writer{set: s, w: w}
}

type writer struct {
	set *Set
	w   io.Writer
}

// Unwrap returns the writer underneath (to ask whether it is a terminal).
func (w *writer) Unwrap() io.Writer { return w.w }

// Underlying returns what w writes to in the end, through redacting
// writers.
func Underlying(w io.Writer) io.Writer {
	for {
		u, ok := w.(interface{ Unwrap() io.Writer })
		if !ok {
			return w
		}
		w = u.Unwrap()
	}
}

func (w *writer) Write(p []byte) (int, error) {
	if w.set.Len() == 0 {
		return w.w.Write(p)
	}
	if _, err := io.WriteString(w.w, w.set.String(string(p))); err != nil {
		return 0, err
	}
	return len(p), nil
}

// secretSuffixes are the ends of variable and argument names whose values
// are secrets, as the issue and Ansible's no_log heuristics have it.
var secretSuffixes = []string{"password", "passwd", "secret", "token", "pass"}

// IsSecretName reports whether a variable or argument name says its value
// is a secret: it ends in password, passwd, secret, token or _pass
// (ansible_password, vault_db_password, api_token, ansible_become_pass).
func IsSecretName(name string) bool {
	n := strings.ToLower(name)
	for _, suf := range secretSuffixes {
		if strings.HasSuffix(n, suf) {
			if suf == "pass" && !strings.HasSuffix(n, "_pass") {
				continue
			}
			return true
		}
	}
	return false
}
