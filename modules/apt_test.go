package modules

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// The apt tests install and remove one throw-away package, built here with
// dpkg-deb, through the real apt-get and dpkg. apt sees only a local
// repository in a temp dir: APT_CONFIG points every command at its own
// sources list, lists, state (extended_states) and cache, so the machine's lists are not touched
// and no other package can be picked. The package is purged at the end.

const testPkg = "cutover-test-pkg"

type aptLab struct {
	dir  string
	debs map[string]string // version -> .deb path
	host *nsHost
}

func newAptLab(t *testing.T) *aptLab {
	t.Helper()
	needTools(t, "dpkg-deb", "apt-get", "dpkg-query", "apt-cache")
	if out, err := exec.Command("dpkg-query", "-W", testPkg).CombinedOutput(); err == nil {
		t.Fatalf("%s is installed before the test (%s): purge it first", testPkg, out)
	}
	dir := t.TempDir()
	l := &aptLab{dir: dir, debs: map[string]string{}}
	var index strings.Builder
	for _, v := range []string{"1.0", "2.0"} {
		deb := l.build(t, v)
		l.debs[v] = deb
		data, err := os.ReadFile(deb)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		fmt.Fprintf(&index, "Package: %s\nVersion: %s\nArchitecture: all\nMaintainer: cutover <test@example.org>\n"+
			"Installed-Size: 1\nFilename: ./%s\nSize: %d\nSHA256: %s\nDescription: cutover's throw-away test package\n\n",
			testPkg, v, filepath.Base(deb), len(data), hex.EncodeToString(sum[:]))
	}
	writeFile(t, filepath.Join(dir, "repo/Packages"), index.String(), 0o644)
	for _, d := range []string{"lists/partial", "cache/archives/partial", "sources.list.d", "state"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// Lists never updated look old, as on a machine set up long ago.
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(filepath.Join(dir, "lists"), old, old); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "sources.list"), "deb [trusted=yes] file:"+filepath.Join(dir, "repo")+" ./\n", 0o644)
	writeFile(t, filepath.Join(dir, "apt.conf"), fmt.Sprintf(`Dir::Etc::sourcelist "%[1]s/sources.list";
Dir::Etc::sourceparts "%[1]s/sources.list.d";
Dir::State "%[1]s/state/";
Dir::State::lists "%[1]s/lists/";
Dir::State::status "/var/lib/dpkg/status";
Dir::Cache "%[1]s/cache/";
Acquire::Languages "none";
`, dir), 0o644)
	l.host = &nsHost{env: map[string]string{"APT_CONFIG": filepath.Join(dir, "apt.conf")}}
	t.Cleanup(func() {
		if out, err := exec.Command("dpkg", "--purge", testPkg).CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge %s: %v\n%s", testPkg, err, out)
		}
	})
	return l
}

// build makes cutover-test-pkg VERSION with one file under /usr/share/doc.
func (l *aptLab) build(t *testing.T, version string) string {
	root := filepath.Join(l.dir, "build-"+version)
	writeFile(t, filepath.Join(root, "DEBIAN/control"), fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: all\n"+
		"Maintainer: cutover <test@example.org>\nDescription: cutover's throw-away test package\n", testPkg, version), 0o644)
	writeFile(t, filepath.Join(root, "usr/share/doc", testPkg, "README"), "version "+version+"\n", 0o644)
	deb := filepath.Join(l.dir, "repo", fmt.Sprintf("%s_%s_all.deb", testPkg, version))
	if err := os.MkdirAll(filepath.Dir(deb), 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", root, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb --build: %v\n%s", err, out)
	}
	return deb
}

// state is the check-mode proof: dpkg's record of the package, its file,
// and the lists apt keeps.
func (l *aptLab) state(t *testing.T) map[string]string {
	t.Helper()
	out := snapshot(t, filepath.Join(l.dir, "lists"))
	res, _ := exec.Command("dpkg-query", "-W", "-f=${Status} ${Version}", testPkg).CombinedOutput()
	out["dpkg"] = string(res)
	doc, _ := os.ReadFile(filepath.Join("/usr/share/doc", testPkg, "README"))
	out["doc"] = string(doc)
	return out
}

func (l *aptLab) installed(t *testing.T) string {
	res, err := exec.Command("dpkg-query", "-W", "-f=${Status} ${Version}", testPkg).Output()
	if err != nil {
		return ""
	}
	if s := string(res); strings.HasPrefix(s, "install ok installed ") {
		return strings.TrimPrefix(s, "install ok installed ")
	}
	return ""
}

func (l *aptLab) plan(t *testing.T, raw map[string]any) *module.Change {
	t.Helper()
	c, err := planOn(t, Apt(), l.host, raw, true)
	if err != nil {
		t.Fatalf("plan %v: %v", raw, err)
	}
	return c
}

func TestAptTimeline(t *testing.T) {
	cases := []struct {
		name      string
		updated   bool   // apt-get update before the task
		have      string // version installed first from its .deb ("" none)
		args      map[string]any
		action    module.Action
		diff      [2]string // before, after
		want      string    // installed version after ("" none)
		again     bool      // the second run changes again
		cacheWant bool      // the lists were downloaded by the task
	}{
		{name: "present installs the candidate", updated: true, args: map[string]any{"name": testPkg},
			action: module.Update, diff: [2]string{testPkg + " (not installed)\n", testPkg + " 2.0\n"}, want: "2.0"},
		{name: "present is ok with an older version", updated: true, have: "1.0", args: map[string]any{"name": []any{testPkg}},
			action: module.None, want: "1.0"},
		{name: "a pinned version", updated: true, args: map[string]any{"name": testPkg + "=1.0"},
			action: module.Update, diff: [2]string{testPkg + " (not installed)\n", testPkg + " 1.0\n"}, want: "1.0"},
		{name: "latest upgrades", updated: true, have: "1.0", args: map[string]any{"name": testPkg, "state": "latest"},
			action: module.Update, diff: [2]string{testPkg + " 1.0\n", testPkg + " 2.0\n"}, want: "2.0"},
		{name: "already installed at the latest version", updated: true, have: "2.0", args: map[string]any{"name": testPkg, "state": "latest"},
			action: module.None, want: "2.0"},
		{name: "absent removes", have: "1.0", args: map[string]any{"name": testPkg, "state": "absent"},
			action: module.Delete, diff: [2]string{testPkg + " 1.0\n", testPkg + " (not installed)\n"}},
		{name: "absent is ok when not installed", args: map[string]any{"name": testPkg, "state": "absent"}, action: module.None},
		{name: "update_cache then install", args: map[string]any{"name": testPkg, "update_cache": true, "cache_valid_time": 3600},
			action: module.Update, diff: [2]string{testPkg + " (not installed)\n", testPkg + " (after apt-get update)\n"}, want: "2.0", cacheWant: true},
		{name: "update_cache without cache_valid_time always updates", updated: true, have: "2.0", args: map[string]any{"update_cache": true},
			action: module.Update, want: "2.0", again: true, cacheWant: true},
		{name: "a fresh cache is not updated", updated: true, have: "2.0", args: map[string]any{"name": testPkg, "update_cache": true, "cache_valid_time": 3600},
			action: module.None, want: "2.0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l := newAptLab(t)
			if tc.updated {
				l.host.mustRun(t, "apt-get", "update", "-q")
			}
			if tc.have != "" {
				l.host.mustRun(t, "dpkg", "-i", l.debs[tc.have])
			}
			before := l.state(t)
			c := l.plan(t, tc.args)
			if diff := cmp.Diff(before, l.state(t)); diff != "" {
				t.Fatalf("check mode changed the machine (-before +after):\n%s", diff)
			}
			if c.Action != tc.action {
				t.Fatalf("action = %v (%s), want %v", c.Action, c.Summary, tc.action)
			}
			if c.Action != module.None {
				if tc.diff[0] != "" || tc.diff[1] != "" {
					want := []module.Diff{{BeforeHeader: "packages", AfterHeader: "packages", Before: tc.diff[0], After: tc.diff[1]}}
					if diff := cmp.Diff(want, c.Diffs); diff != "" {
						t.Errorf("diff (-want +got):\n%s", diff)
					}
				}
				res, err := Apt().New().Apply(context.Background(), l.host, c)
				if err != nil || res.Failed || !res.Changed {
					t.Fatalf("apply: %v %+v", err, res)
				}
				if got := res.Data["cache_updated"]; got != tc.cacheWant {
					t.Errorf("cache_updated = %v, want %v", got, tc.cacheWant)
				}
			}
			if got := l.installed(t); got != tc.want {
				t.Errorf("installed version = %q, want %q", got, tc.want)
			}
			if again := l.plan(t, tc.args); (again.Action != module.None) != tc.again {
				t.Errorf("second run: action %v (%s), want changed=%v", again.Action, again.Summary, tc.again)
			}
		})
	}
}

func TestAptErrors(t *testing.T) {
	l := newAptLab(t)
	l.host.mustRun(t, "apt-get", "update", "-q")
	cases := []struct {
		name string
		args map[string]any
		want string
	}{
		{"unknown package", map[string]any{"name": "cutover-no-such-pkg"}, "apt-get -s install: E: Unable to locate package cutover-no-such-pkg"},
		{"unknown package, latest", map[string]any{"name": "cutover-no-such-pkg", "state": "latest"}, `no package matching "cutover-no-such-pkg" is available`},
		{"bad name", map[string]any{"name": "Foo Bar"}, `name "Foo Bar": not a Debian package name (lower case letters, digits, + - .; optionally :arch and =version)`},
		{"nothing asked", map[string]any{}, "one of the following is required: name, update_cache"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := Apt()
			args, errs := info.Decode(tc.args, false)
			if len(errs) > 0 {
				t.Fatal(errs[0])
			}
			_, err := info.New().Plan(context.Background(), &module.Env{Host: conn.ReadOnly(l.host, info.Probes), Check: true}, args)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %v, want %s", err, tc.want)
			}
		})
	}
}
