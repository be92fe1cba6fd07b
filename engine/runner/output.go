package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/pmezard/go-difflib/difflib"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/engine/pyfmt"
)

// Status is a task's outcome on one host (or one loop item).
type Status string

// Statuses, named after ansible-playbook's output words.
const (
	StatusOK          Status = "ok"
	StatusChanged     Status = "changed"
	StatusSkipped     Status = "skipped"
	StatusFailed      Status = "failed"
	StatusUnreachable Status = "unreachable"
)

// HostResult is one line of task output.
type HostResult struct {
	Host     string
	Delegate string // delegate_to host, shown as [host -> delegate]
	Task     string
	Status   Status
	Item     *string // the loop item's label, when this is one item
	Result   map[string]any
	Diffs    []module.Diff
	Module   string // the module's name: debug results are trimmed as Ansible trims them
	Ignored  bool   // failed, but ignore_errors
	// LoopSummary marks the whole result of a loop that failed: the text
	// output shows only its "...ignoring", as Ansible's does.
	LoopSummary bool
	Verbose     bool // print the result dict (debug, or -v)
	ShowDiffs   bool
}

// Stats are one host's recap counters.
type Stats struct {
	OK, Changed, Unreachable, Failed, Skipped, Rescued, Ignored int
}

// Reporter receives the run's events in order. Implementations print them.
type Reporter interface {
	PlayStart(name string)
	TaskStart(name string, handler bool)
	Included(file string, hosts []string, item *string)
	Result(r *HostResult)
	Retrying(host, task string, left int)
	Warning(msg string)
	Message(msg string) // plain line, e.g. "skipping: no hosts matched"
	Recap(stats map[string]*Stats)
}

// TextReporter prints what ansible-playbook's default callback prints.
type TextReporter struct {
	W         io.Writer
	Color     bool
	Verbosity int
	mu        sync.Mutex
}

const (
	colorOK      = "\x1b[0;32m"
	colorChanged = "\x1b[0;33m"
	colorSkip    = "\x1b[0;36m"
	colorError   = "\x1b[0;31m"
	colorUnreach = "\x1b[1;31m"
	colorWarn    = "\x1b[1;35m"
	colorDiffAdd = "\x1b[0;32m"
	colorDiffDel = "\x1b[0;31m"
	colorDiffHdr = "\x1b[0;36m"
	colorReset   = "\x1b[0m"
)

func (t *TextReporter) paint(color, s string) string {
	if !t.Color || color == "" {
		return s
	}
	return color + s + colorReset
}

// banner prints "\nPLAY [x] ****" padded with stars to 80 columns.
func (t *TextReporter) banner(msg string) {
	stars := 80 - len([]rune(msg)) - 1
	if stars < 3 {
		stars = 3
	}
	fmt.Fprintf(t.W, "\n%s %s\n", msg, strings.Repeat("*", stars))
}

// PlayStart prints the PLAY banner.
func (t *TextReporter) PlayStart(name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.banner("PLAY [" + name + "]")
}

// TaskStart prints the TASK or RUNNING HANDLER banner.
func (t *TextReporter) TaskStart(name string, handler bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kind := "TASK"
	if handler {
		kind = "RUNNING HANDLER"
	}
	t.banner(kind + " [" + name + "]")
}

// Included prints "included: file for hosts", with the loop item.
func (t *TextReporter) Included(file string, hosts []string, item *string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	line := fmt.Sprintf("included: %s for %s", file, strings.Join(hosts, ", "))
	if item != nil {
		line += " => (item=" + *item + ")"
	}
	fmt.Fprintln(t.W, t.paint(colorSkip, line))
}

// Result prints one host's (or item's) outcome, diffs first.
func (t *TextReporter) Result(r *HostResult) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if r.ShowDiffs && r.Status != StatusSkipped {
		for _, d := range r.Diffs {
			if text := t.unifiedDiff(d); text != "" {
				fmt.Fprint(t.W, text)
			}
		}
	}
	host := "[" + r.Host + "]"
	if r.Delegate != "" && r.Delegate != r.Host {
		host = "[" + r.Host + " -> " + r.Delegate + "]"
	}
	item := ""
	if r.Item != nil {
		item = " => (item=" + *r.Item + ")"
	}
	switch r.Status {
	case StatusOK, StatusChanged:
		word, color := "ok", colorOK
		if r.Status == StatusChanged {
			word, color = "changed", colorChanged
		}
		line := word + ": " + host + item
		if r.Verbose || t.Verbosity > 0 {
			line += " => " + pyfmt.JSON(cleanDebug(r.Module, printable(r.Result, t.Verbosity)), 4, false)
		}
		fmt.Fprintln(t.W, t.paint(color, line))
	case StatusSkipped:
		line := "skipping: " + host
		if r.Item != nil {
			line += item + " "
		}
		if t.Verbosity > 0 {
			line += " => " + pyfmt.JSON(printable(r.Result, t.Verbosity), 4, false)
		}
		fmt.Fprintln(t.W, t.paint(colorSkip, line))
	case StatusFailed:
		if r.LoopSummary {
			if r.Ignored {
				fmt.Fprintln(t.W, t.paint(colorSkip, "...ignoring"))
			}
			return
		}
		indent := -1
		if r.Verbose {
			indent = 4 // Ansible's _ansible_verbose_always (assert)
		}
		var line string
		if r.Item != nil {
			line = "failed: " + host + " (item=" + *r.Item + ") => " + pyfmt.JSON(printable(r.Result, t.Verbosity), indent, false)
		} else {
			line = "fatal: " + host + ": FAILED! => " + pyfmt.JSON(printable(r.Result, t.Verbosity), indent, false)
		}
		fmt.Fprintln(t.W, t.paint(colorError, line))
		if r.Ignored {
			fmt.Fprintln(t.W, t.paint(colorSkip, "...ignoring"))
		}
	case StatusUnreachable:
		fmt.Fprintln(t.W, t.paint(colorUnreach, "fatal: "+host+": UNREACHABLE! => "+pyfmt.JSON(printable(r.Result, t.Verbosity), -1, false)))
	}
}

// printable drops internal keys unless -vvv asks for everything.
func printable(res map[string]any, verbosity int) map[string]any {
	if verbosity >= 3 {
		return res
	}
	out := make(map[string]any, len(res))
	for k, v := range res {
		if k == "invocation" || k == "_ansible_no_log" {
			continue
		}
		out[k] = v
	}
	return out
}

// cleanDebug keeps what Ansible's callback keeps of a debug result: msg
// alone, or the variable without the status keys.
func cleanDebug(mod string, res map[string]any) map[string]any {
	if mod != "debug" {
		return res
	}
	out := map[string]any{}
	if _, ok := res["msg"]; ok {
		for _, k := range []string{"msg", "exception", "warnings", "deprecations"} {
			if v, ok := res[k]; ok {
				out[k] = v
			}
		}
		return out
	}
	for k, v := range res {
		switch k {
		case "changed", "failed", "skipped", "invocation", "skip_reason", "item", "ansible_loop_var":
			continue
		}
		out[k] = v
	}
	return out
}

// diffLines splits text as Ansible does before diffing: Python's
// splitlines(True), with a marker on a last line that has no newline.
func diffLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if last := lines[len(lines)-1]; !strings.HasSuffix(last, "\n") {
		lines[len(lines)-1] = last + "\n\\ No newline at end of file\n"
	}
	return lines
}

func header(word, what string) string {
	if what == "" {
		return word
	}
	return word + ": " + what
}

func (t *TextReporter) unifiedDiff(d module.Diff) string {
	if d.Before == d.After {
		return ""
	}
	text, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        diffLines(d.Before),
		B:        diffLines(d.After),
		FromFile: header("before", d.BeforeHeader),
		ToFile:   header("after", d.AfterHeader),
		Context:  3,
	})
	if err != nil || text == "" {
		return ""
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	if t.Color {
		var b strings.Builder
		for _, line := range strings.SplitAfter(text, "\n") {
			switch {
			case strings.HasPrefix(line, "+++"), strings.HasPrefix(line, "---"), strings.HasPrefix(line, "@@"):
				b.WriteString(t.paint(colorDiffHdr, strings.TrimSuffix(line, "\n")) + "\n")
			case strings.HasPrefix(line, "+"):
				b.WriteString(t.paint(colorDiffAdd, strings.TrimSuffix(line, "\n")) + "\n")
			case strings.HasPrefix(line, "-"):
				b.WriteString(t.paint(colorDiffDel, strings.TrimSuffix(line, "\n")) + "\n")
			default:
				b.WriteString(line)
			}
		}
		text = b.String()
	}
	return text + "\n"
}

// Retrying prints Ansible's until/retries line.
func (t *TextReporter) Retrying(host, task string, left int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.W, t.paint(colorError, fmt.Sprintf("FAILED - RETRYING: [%s]: %s (%d retries left).", host, task, left)))
}

// Warning prints "[WARNING]: msg".
func (t *TextReporter) Warning(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.W, t.paint(colorWarn, "[WARNING]: "+msg))
}

// Message prints a plain line.
func (t *TextReporter) Message(msg string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.W, msg)
}

// Recap prints PLAY RECAP with Ansible's exact column layout.
func (t *TextReporter) Recap(stats map[string]*Stats) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.banner("PLAY RECAP")
	for _, h := range sortedHosts(stats) {
		s := stats[h]
		hostCol := fmt.Sprintf("%-26s", h)
		if t.Color {
			color := colorOK
			switch {
			case s.Failed > 0 || s.Unreachable > 0:
				color = colorError
			case s.Changed > 0:
				color = colorChanged
			}
			hostCol = color + h + colorReset + strings.Repeat(" ", max(0, 26-len(h)))
		}
		fmt.Fprintf(t.W, "%s : %s %s %s %s %s %s %s\n", hostCol,
			t.count("ok", s.OK, colorOK), t.count("changed", s.Changed, colorChanged),
			t.count("unreachable", s.Unreachable, colorUnreach), t.count("failed", s.Failed, colorError),
			t.count("skipped", s.Skipped, colorSkip), t.count("rescued", s.Rescued, colorOK),
			t.count("ignored", s.Ignored, colorWarn))
	}
	fmt.Fprintln(t.W)
}

func (t *TextReporter) count(name string, n int, color string) string {
	s := fmt.Sprintf("%s=%-4d", name, n)
	if n == 0 || !t.Color {
		return s
	}
	return t.paint(color, s)
}

func sortedHosts(stats map[string]*Stats) []string {
	hosts := make([]string, 0, len(stats))
	for h := range stats {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	return hosts
}

// JSONReporter prints one JSON object per event per line; the schema is in
// the README ("JSON events").
type JSONReporter struct {
	W  io.Writer
	mu sync.Mutex
}

func (j *JSONReporter) emit(event map[string]any) {
	j.mu.Lock()
	defer j.mu.Unlock()
	enc := json.NewEncoder(j.W)
	enc.SetEscapeHTML(false)
	enc.Encode(event)
}

// PlayStart emits {"event":"play_start","play":name}.
func (j *JSONReporter) PlayStart(name string) {
	j.emit(map[string]any{"event": "play_start", "play": name})
}

// TaskStart emits task_start or handler_start.
func (j *JSONReporter) TaskStart(name string, handler bool) {
	ev := "task_start"
	if handler {
		ev = "handler_start"
	}
	j.emit(map[string]any{"event": ev, "task": name})
}

// Included emits {"event":"included"}.
func (j *JSONReporter) Included(file string, hosts []string, item *string) {
	ev := map[string]any{"event": "included", "file": file, "hosts": hosts}
	if item != nil {
		ev["item"] = *item
	}
	j.emit(ev)
}

// Result emits {"event":"host_result"} with the status and result.
func (j *JSONReporter) Result(r *HostResult) {
	ev := map[string]any{"event": "host_result", "host": r.Host, "task": r.Task, "status": string(r.Status), "result": r.Result}
	if r.Item != nil {
		ev["item"] = *r.Item
	}
	if r.Delegate != "" {
		ev["delegate"] = r.Delegate
	}
	if r.Ignored {
		ev["ignored"] = true
	}
	if r.ShowDiffs && len(r.Diffs) > 0 {
		diffs := make([]map[string]string, len(r.Diffs))
		for i, d := range r.Diffs {
			diffs[i] = map[string]string{"before_header": d.BeforeHeader, "after_header": d.AfterHeader, "before": d.Before, "after": d.After}
		}
		ev["diff"] = diffs
	}
	j.emit(ev)
}

// Retrying emits {"event":"retrying"}.
func (j *JSONReporter) Retrying(host, task string, left int) {
	j.emit(map[string]any{"event": "retrying", "host": host, "task": task, "retries_left": left})
}

// Warning emits {"event":"warning"}.
func (j *JSONReporter) Warning(msg string) { j.emit(map[string]any{"event": "warning", "msg": msg}) }

// Message emits {"event":"message"}.
func (j *JSONReporter) Message(msg string) { j.emit(map[string]any{"event": "message", "msg": msg}) }

// Recap emits {"event":"recap","stats":{host:{ok:..}}}, always last.
func (j *JSONReporter) Recap(stats map[string]*Stats) {
	out := map[string]any{}
	for h, s := range stats {
		out[h] = map[string]int{"ok": s.OK, "changed": s.Changed, "unreachable": s.Unreachable,
			"failed": s.Failed, "skipped": s.Skipped, "rescued": s.Rescued, "ignored": s.Ignored}
	}
	j.emit(map[string]any{"event": "recap", "stats": out})
}
