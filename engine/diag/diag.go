// Package diag carries errors that point at a place in a source file, so
// every layer reports bad input as `file:line:col: message`.
package diag

import (
	"fmt"
	"strings"
)

// Error is a problem at a place in a file. Line and Col count from 1; zero
// means unknown.
type Error struct {
	File    string
	Line    int
	Col     int
	Msg     string
	Excerpt string // optional annotated source lines
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
		if e.Col > 0 {
			fmt.Fprintf(&b, ":%d", e.Col)
		}
	}
	b.WriteString(": ")
	b.WriteString(e.Msg)
	return b.String()
}

// Errorf builds an Error at file:line:col.
func Errorf(file string, line, col int, format string, args ...any) *Error {
	return &Error{File: file, Line: line, Col: col, Msg: fmt.Sprintf(format, args...)}
}

// List is several errors found in one pass; it is an error itself.
type List []*Error

func (l List) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Err returns l as an error, or nil when it is empty.
func (l List) Err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}

// Excerpt returns the source lines around line with a caret under col, in
// the shape goccy/go-yaml prints.
func Excerpt(src []byte, line, col int) string {
	if line <= 0 {
		return ""
	}
	lines := strings.Split(string(src), "\n")
	if line > len(lines) {
		return ""
	}
	var b strings.Builder
	start := max(1, line-2)
	for n := start; n <= line; n++ {
		marker := " "
		if n == line {
			marker = ">"
		}
		fmt.Fprintf(&b, "%s %3d | %s\n", marker, n, lines[n-1])
	}
	if col > 0 {
		fmt.Fprintf(&b, "%s^\n", strings.Repeat(" ", 8+col-1))
	}
	return b.String()
}
