package runner

import (
	"path"
	"slices"

	"github.com/cutover/cutover/engine/playbook"
)

// Which tasks a run selects: --tags, --skip-tags, --start-at-task.

// selected applies --tags, --skip-tags and --start-at-task.
func (pr *playRun) selected(t *playbook.Task, in *inherited) bool {
	if in.alwaysRun {
		return true
	}
	tags := append(slices.Clone(in.tags), t.Tags...)
	if !TagsSelected(tags, pr.r.Options.Tags, pr.r.Options.SkipTags) {
		return false
	}
	if !pr.r.started {
		if t.Module == "" {
			return true // descend into blocks and includes
		}
		name := t.Name
		if ok, _ := path.Match(pr.r.Options.StartAtTask, name); name == pr.r.Options.StartAtTask || ok {
			pr.r.started = true
		} else {
			return false
		}
	}
	return true
}

// TagsSelected is Ansible's evaluate_tags: a task without tags is
// "untagged"; with no --tags every task is asked for ("all") but those
// tagged never; "always" runs unless skipped by name; "tagged" means any
// tag but never.
func TagsSelected(tags, only, skip []string) bool {
	has := func(list []string, s string) bool { return slices.Contains(list, s) }
	if len(tags) == 0 {
		tags = []string{"untagged"}
	}
	untagged := len(tags) == 1 && tags[0] == "untagged"
	if len(only) == 0 {
		only = []string{"all"}
	}
	run := has(tags, "always") || has(only, "all") && !has(tags, "never") || anyShared(tags, only) ||
		has(only, "tagged") && !untagged && !has(tags, "never")
	if run && len(skip) > 0 {
		switch {
		case has(skip, "all"):
			run = has(tags, "always") && !has(skip, "always")
		case anyShared(tags, skip):
			run = false
		case has(skip, "tagged") && !untagged:
			run = false
		}
	}
	return run
}

func anyShared(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}
