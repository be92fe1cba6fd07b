package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// These tests build the cutover binary and run playbooks from the repo's
// testdata/ over the local connection, in temp folders.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// cutoverBinary builds ./cmd/cutover once per test run.
func cutoverBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "cutover-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "cutover")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// repoPath returns a path relative to the repository root.
func repoPath(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "..", ".."}, parts...)...)
}

type runResult struct {
	code   int
	stdout string
	stderr string
}

func runCommand(t *testing.T, dir, name string, args ...string) runResult {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NO_COLOR=1", "ANSIBLE_NOCOLOR=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_LOCAL_TEMP="+filepath.Join(t.TempDir(), "ansible-local"), "ANSIBLE_HOME="+t.TempDir())
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return runResult{code: code, stdout: out.String(), stderr: errb.String()}
}

// treeEntry is what the differential and check-mode tests compare.
type treeEntry struct {
	Mode    string
	Content string // sha256 of a file, the target of a link, "" for a folder
}

// snapshot hashes every path under root: path, type, mode and content.
func snapshot(t *testing.T, root string) map[string]treeEntry {
	t.Helper()
	out := map[string]treeEntry{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		e := treeEntry{Mode: info.Mode().String()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Content, _ = os.Readlink(p)
			e.Content = strings.ReplaceAll(e.Content, root, "$ROOT")
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			// Paths inside files differ between the two roots.
			data = bytes.ReplaceAll(data, []byte(root), []byte("$ROOT"))
			sum := sha256.Sum256(data)
			e.Content = hex.EncodeToString(sum[:8]) + fmt.Sprintf(" %q", truncate(string(data), 60))
		}
		out[rel] = e
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func diffTrees(a, b map[string]treeEntry) []string {
	var keys []string
	seen := map[string]bool{}
	for k := range a {
		keys, seen[k] = append(keys, k), true
	}
	for k := range b {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		ea, oka := a[k]
		eb, okb := b[k]
		switch {
		case !oka:
			out = append(out, fmt.Sprintf("%s: only in second (%v)", k, eb))
		case !okb:
			out = append(out, fmt.Sprintf("%s: only in first (%v)", k, ea))
		case ea != eb:
			out = append(out, fmt.Sprintf("%s: %v != %v", k, ea, eb))
		}
	}
	return out
}

var recapLine = regexp.MustCompile(`(?m)^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)`)

// recaps returns each host's recap counters as text.
func recaps(out string) map[string]string {
	m := map[string]string{}
	for _, r := range recapLine.FindAllStringSubmatch(out, -1) {
		m[r[1]] = fmt.Sprintf("ok=%s changed=%s unreachable=%s failed=%s skipped=%s rescued=%s ignored=%s", r[2], r[3], r[4], r[5], r[6], r[7], r[8])
	}
	return m
}

// seed copies a playbook's NAME.files/ folder (if any) into root.
func seed(t *testing.T, playbook, root string) {
	t.Helper()
	src := strings.TrimSuffix(playbook, ".yml") + ".files"
	if _, err := os.Stat(src); err != nil {
		return
	}
	if out, err := exec.Command("cp", "-a", src+"/.", root).CombinedOutput(); err != nil {
		t.Fatalf("seed: %v %s", err, out)
	}
}

// playbooksIn lists the *.yml playbooks of a testdata folder.
func playbooksIn(t *testing.T, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// inCI reports whether a missing tool must fail the test rather than skip.
func inCI() bool { return os.Getenv("CI") != "" }

func readFirstLine(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return line, nil
}
