package main

import (
	"io"
	"strings"
	"testing"
)

// BenchmarkSyntaxCheckMigration parses and validates the migration's three
// playbooks in the process (bench/run.sh times it from the command line).
func BenchmarkSyntaxCheckMigration(b *testing.B) {
	args := []string{"run", "--syntax-check", repoPath("playbooks/before-downtime.yml"), repoPath("playbooks/during-downtime.yml"), repoPath("playbooks/after-downtime.yml")}
	for i := 0; i < b.N; i++ {
		if code := run(args, strings.NewReader(""), io.Discard, io.Discard); code != 0 {
			b.Fatal(code)
		}
	}
}
