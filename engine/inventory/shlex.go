package inventory

import (
	"errors"
	"strings"
)

// shlexToken is one word of a host line and the rune offset where it starts.
type shlexToken struct {
	text string
	off  int
}

// shlexSplit splits a line like Python's shlex.split(line, comments=True) in
// POSIX mode, which Ansible uses for INI host lines: quotes are removed,
// backslash escapes outside single quotes, and '#' starts a comment even in
// the middle of a word.
func shlexSplit(line string) ([]shlexToken, error) {
	const (
		stWhite = iota
		stWord
		stQuote
		stEscape
	)
	var (
		tokens  []shlexToken
		tok     strings.Builder
		state   = stWhite
		quote   rune // the open quote in stQuote, or the quote state to return to
		escFrom = stWord
		quoted  bool
		start   = -1
	)
	emit := func() {
		if tok.Len() > 0 || quoted {
			tokens = append(tokens, shlexToken{text: tok.String(), off: start})
		}
		tok.Reset()
		quoted = false
		start = -1
	}
	runes := []rune(line)
	for i := 0; i < len(runes); i++ {
		c := runes[i]
		switch state {
		case stWhite, stWord:
			switch {
			case c == ' ' || c == '\t' || c == '\r' || c == '\n':
				if state == stWord {
					emit()
				}
				state = stWhite
			case c == '#':
				// The rest of the line is a comment.
				if state == stWord {
					emit()
				}
				return tokens, nil
			case c == '\'' || c == '"':
				if start < 0 {
					start = i
				}
				quote, state = c, stQuote
			case c == '\\':
				if start < 0 {
					start = i
				}
				escFrom, state = stWord, stEscape
			default:
				if start < 0 {
					start = i
				}
				tok.WriteRune(c)
				state = stWord
			}
		case stQuote:
			quoted = true
			switch {
			case c == quote:
				state = stWord
			case c == '\\' && quote == '"':
				escFrom, state = stQuote, stEscape
			default:
				tok.WriteRune(c)
			}
		case stEscape:
			// Inside double quotes a backslash only escapes " and \.
			if escFrom == stQuote && c != '\\' && c != quote {
				tok.WriteRune('\\')
			}
			tok.WriteRune(c)
			state = escFrom
		}
	}
	switch state {
	case stQuote:
		return nil, errors.New("no closing quotation")
	case stEscape:
		return nil, errors.New("no escaped character")
	}
	emit()
	return tokens, nil
}
