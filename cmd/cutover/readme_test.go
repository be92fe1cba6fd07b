package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/module"
	"github.com/cutover/cutover/modules"
)

// TestReadmeModuleTableIsCurrent fails when the README's module table no
// longer matches the module declarations (`make readme` rewrites it).
func TestReadmeModuleTableIsCurrent(t *testing.T) {
	data, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	readme := string(data)
	begin, end := "<!-- modules:begin -->\n", "<!-- modules:end -->"
	i, j := strings.Index(readme, begin), strings.Index(readme, end)
	if i < 0 || j < i {
		t.Fatal("README lacks the modules:begin/end markers")
	}
	got := readme[i+len(begin) : j]
	want := module.MarkdownTable(module.NewRegistry(modules.All()...).All())
	if got != want {
		t.Errorf("README module table is stale: run `make readme`\n--- README\n%s\n--- declarations\n%s", got, want)
	}
}

// TestCIRunsTheReadmeTestCommand keeps .ci/run and the README's test
// command in step.
func TestCIRunsTheReadmeTestCommand(t *testing.T) {
	readme, err := os.ReadFile(repoPath("README.md"))
	if err != nil {
		t.Fatal(err)
	}
	ci, err := os.ReadFile(repoPath(".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(readme), "make test") || !strings.Contains(string(ci), "make test") {
		t.Error("the README's test command is `make test` and .ci/run must call it")
	}
}
