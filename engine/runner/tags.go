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

// TagsSelected follows Ansible: "always" runs unless skipped, "never" only
// when asked for, "all", "tagged" and "untagged" are special.
func TagsSelected(tags, only, skip []string) bool {
	has := func(list []string, s string) bool { return slices.Contains(list, s) }
	if len(skip) > 0 {
		if has(skip, "all") || has(skip, "tagged") && len(tags) > 0 || has(skip, "untagged") && len(tags) == 0 {
			return has(tags, "always") && !has(skip, "always")
		}
		for _, s := range skip {
			if has(tags, s) {
				return false
			}
		}
	}
	if len(only) == 0 || has(only, "all") {
		return !has(tags, "never") || len(only) > 0 && anyShared(tags, only, "never")
	}
	if has(tags, "always") {
		return true
	}
	if has(only, "tagged") && len(tags) > 0 || has(only, "untagged") && len(tags) == 0 {
		return true
	}
	return anyShared(tags, only, "")
}

func anyShared(a, b []string, except string) bool {
	for _, x := range a {
		if x != except && slices.Contains(b, x) {
			return true
		}
	}
	return false
}
