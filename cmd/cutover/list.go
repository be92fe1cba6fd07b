package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/cutover/cutover/engine/inventory"
	"github.com/cutover/cutover/engine/playbook"
	"github.com/cutover/cutover/engine/runner"
)

// listPlaybooks prints --list-hosts, --list-tasks and --list-tags in
// ansible-playbook's layout.
func listPlaybooks(w io.Writer, inv *inventory.Inventory, books []*playbook.Playbook, f *runFlags) error {
	for _, pb := range books {
		fmt.Fprintf(w, "\nplaybook: %s\n", pb.File)
		var allTags []string
		for i, play := range pb.Plays {
			name := play.Name
			if name == "" {
				name = play.Hosts
			}
			fmt.Fprintf(w, "\n  play #%d (%s): %s\tTAGS: [%s]\n", i+1, play.Hosts, name, strings.Join(play.Tags, ","))
			if f.listHosts {
				hosts, err := inv.Select(play.Hosts)
				if err != nil {
					return &codedError{code: exitError, err: err}
				}
				if f.limit != "" {
					if hosts, err = inv.Limit(hosts, f.limit); err != nil {
						return &codedError{code: exitError, err: err}
					}
				}
				fmt.Fprintf(w, "    pattern: ['%s']\n    hosts (%d):\n", play.Hosts, len(hosts))
				for _, h := range hosts {
					fmt.Fprintf(w, "      %s\n", h.Name)
				}
			}
			var playTags []string
			if f.listTasks {
				fmt.Fprintln(w, "    tasks:")
			}
			for _, section := range [][]*playbook.Task{play.PreTasks, play.Tasks, play.PostTasks} {
				listTasks(w, section, play.Tags, f, &playTags)
			}
			if f.listTags {
				playTags = uniqueSorted(playTags)
				fmt.Fprintf(w, "      TASK TAGS: [%s]\n", strings.Join(playTags, ", "))
			}
			allTags = append(allTags, playTags...)
		}
	}
	return nil
}

func listTasks(w io.Writer, tasks []*playbook.Task, inherited []string, f *runFlags, seen *[]string) {
	for _, t := range tasks {
		tags := append(slices.Clone(inherited), t.Tags...)
		if t.IsBlock() {
			listTasks(w, t.Block, tags, f, seen)
			listTasks(w, t.Rescue, tags, f, seen)
			listTasks(w, t.Always, tags, f, seen)
			continue
		}
		if !runner.TagsSelected(tags, f.tags, f.skipTags) {
			continue
		}
		*seen = append(*seen, tags...)
		if t.Module == "meta" {
			continue
		}
		if f.listTasks {
			fmt.Fprintf(w, "      %s\tTAGS: [%s]\n", t.DisplayName(), strings.Join(uniqueSorted(tags), ", "))
		}
	}
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return slices.Compact(out)
}
