package inventory

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/cutover/cutover/engine/lazyre"
	"github.com/cutover/cutover/engine/vault"

	"github.com/cutover/cutover/engine/diag"
)

// ignoredInDir is ansible-core's IGNORED regexp for entries of an inventory
// directory: hidden files, host_vars/group_vars/vars_plugins, and the
// default INVENTORY_IGNORE_EXTS, which include ".ini" (an inventory
// directory never reads *.ini files, as in Ansible).
var ignoredInDir = lazyre.New(`^\.|^host_vars$|^group_vars$|^vars_plugins$|` +
	`(?:\.pyc|\.pyo|\.swp|\.bak|~|\.rpm|\.md|\.txt|\.rst|\.orig|\.ini|\.cfg|\.retry)$`)

// yamlExtensions are Ansible's YAML_FILENAME_EXTENSIONS.
var yamlExtensions = []string{".yml", ".yaml", ".json"}

// Load reads the inventory sources in order, like repeated `-i` options:
// a file (YAML or INI), a directory (every file in it, sorted, recursively,
// skipping what Ansible skips), or a comma list such as "web1,web2," when no
// file of that name exists. It then loads group_vars/ and host_vars/ beside
// each source. A missing source is an error; parse errors come back as a
// diag.List of *diag.Error, each naming file:line:col.
func Load(sources []string) (*Inventory, error) {
	return LoadVault(sources, nil)
}

// LoadVault is Load reading through a vault opener: vault-encrypted files
// and !vault values open with its keyring, and their plaintext becomes
// secrets.
func LoadVault(sources []string, v *vault.Opener) (*Inventory, error) {
	inv := New()
	inv.vault = v
	var errs diag.List
	for _, s := range sources {
		if s == "" {
			continue
		}
		if err := inv.addSource(s, &errs); err != nil {
			return nil, err
		}
		inv.sources = append(inv.sources, s)
	}
	inv.reconcile()
	for _, s := range inv.sources {
		if isHostList(s) {
			continue
		}
		dir := s
		if fi, err := os.Stat(s); err == nil && !fi.IsDir() {
			dir = filepath.Dir(s)
		}
		vd, verrs := inv.loadVarsDir(dir)
		errs = append(errs, verrs...)
		inv.inventoryDirs = append(inv.inventoryDirs, vd)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return inv, nil
}

// AddPlaybookVarsDir loads group_vars/ and host_vars/ from dir, the folder
// of a playbook. They take precedence over the inventory's own folders, and
// a later call over an earlier one. Errors are a diag.List.
func (inv *Inventory) AddPlaybookVarsDir(dir string) error {
	vd, errs := inv.loadVarsDir(dir)
	if len(errs) > 0 {
		return errs
	}
	inv.playbookDirs = append(inv.playbookDirs, vd)
	return nil
}

func isHostList(s string) bool {
	if !strings.Contains(s, ",") {
		return false
	}
	_, err := os.Stat(s)
	return err != nil
}

func (inv *Inventory) addSource(s string, errs *diag.List) error {
	if isHostList(s) {
		for _, h := range strings.Split(s, ",") {
			h = strings.TrimSpace(h)
			if h == "" {
				continue
			}
			name, port, err := parseAddress(h, false)
			if err != nil {
				name, port = h, 0
			}
			if inv.hosts[name] == nil {
				if _, err := inv.addHost(name, "ungrouped", port, nil); err != nil {
					return err
				}
			}
		}
		return nil
	}
	fi, err := os.Stat(s)
	if err != nil {
		return fmt.Errorf("inventory source: %w", err)
	}
	if fi.IsDir() {
		return inv.addDir(s, errs)
	}
	return inv.addFile(s, errs)
}

func (inv *Inventory) addDir(dir string, errs *diag.List) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("inventory source: %w", err)
	}
	// os.ReadDir sorts by name, as Ansible's sorted(os.listdir()).
	for _, e := range entries {
		if ignoredInDir.MatchString(e.Name()) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inventory source: %w", err)
		}
		if fi.IsDir() {
			err = inv.addDir(p, errs)
		} else {
			err = inv.addFile(p, errs)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// addFile parses one inventory file. Like Ansible, a file without extension
// or with a YAML extension is tried as YAML first and, if it is not a YAML
// inventory, as INI; any other file is INI.
func (inv *Inventory) addFile(path string, errs *diag.List) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("inventory source: %w", err)
	}
	src, derr := inv.newSource(path, data)
	if derr != nil {
		*errs = append(*errs, derr)
		return nil
	}
	ext := filepath.Ext(path)
	if ext == "" || slices.Contains(yamlExtensions, ext) {
		notInventory, yerrs := inv.parseYAML(src)
		if notInventory == nil {
			*errs = append(*errs, yerrs...)
			return nil
		}
		ierrs := inv.parseINI(src)
		if len(ierrs) == 0 {
			return nil
		}
		if ext != "" || looksLikeYAML(data) {
			*errs = append(*errs, notInventory)
		} else {
			*errs = append(*errs, ierrs...)
		}
		return nil
	}
	*errs = append(*errs, inv.parseINI(src)...)
	return nil
}

// newSource describes one file to parse, decrypted first when it is a
// vault.
func (inv *Inventory) newSource(path string, data []byte) (*sourceInfo, *diag.Error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	data, secret, err := inv.vault.File(path, data)
	if err != nil {
		return nil, diag.Errorf(path, 0, 0, "%v", err)
	}
	return &sourceInfo{name: path, file: abs, dir: filepath.Dir(abs), data: data, vault: inv.vault, secret: secret}, nil
}

// looksLikeYAML guesses, for error reporting only, whether an extensionless
// file that neither parser accepted was meant as YAML.
func looksLikeYAML(data []byte) bool {
	for _, line := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(line)
		if t == "" || t[0] == '#' || t[0] == ';' {
			continue
		}
		if strings.HasPrefix(t, "---") || strings.HasPrefix(t, "- ") {
			return true
		}
		if t[0] == '[' {
			return false
		}
		return strings.HasSuffix(t, ":") || strings.Contains(t, ": ")
	}
	return false
}

// varsDir holds the group_vars/ and host_vars/ files found in one folder,
// already merged per group and host name.
type varsDir struct {
	dir    string
	groups map[string]map[string]any
	hosts  map[string]map[string]any
}

// loadVarsDir reads dir/group_vars and dir/host_vars for every known group
// and host (and the localhost names, for the implicit localhost).
func (inv *Inventory) loadVarsDir(dir string) (*varsDir, diag.List) {
	vd := &varsDir{dir: dir, groups: map[string]map[string]any{}, hosts: map[string]map[string]any{}}
	var errs diag.List
	load := func(sub string, names []string, into map[string]map[string]any) {
		base := filepath.Join(dir, sub)
		fi, err := os.Stat(base)
		if err != nil {
			return
		}
		if !fi.IsDir() {
			inv.warnf("found %s that is not a directory, skipping: %s", sub, base)
			return
		}
		for _, name := range names {
			if strings.HasPrefix(name, string(os.PathSeparator)) {
				continue
			}
			vars, ferrs := inv.loadVarsFiles(findVarsFiles(base, name))
			errs = append(errs, ferrs...)
			if vars != nil {
				into[name] = vars
			}
		}
	}
	var groupNames, hostNames []string
	for _, g := range inv.groupOrder {
		groupNames = append(groupNames, g.Name)
	}
	for _, h := range inv.hostOrder {
		hostNames = append(hostNames, h.Name)
	}
	for _, n := range localhostNames {
		if inv.hosts[n] == nil {
			hostNames = append(hostNames, n)
		}
	}
	load("group_vars", groupNames, vd.groups)
	load("host_vars", hostNames, vd.hosts)
	return vd, errs
}

// findVarsFiles follows DataLoader.find_vars_files: the first of NAME,
// NAME.yml, NAME.yaml, NAME.json that exists; a directory contributes its
// files recursively in sorted order, skipping hidden and ~ files.
func findVarsFiles(base, name string) []string {
	for _, ext := range append([]string{""}, yamlExtensions...) {
		p := filepath.Join(base, name) + ext
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() {
			return dirVarsFiles(p)
		}
		return []string{p}
	}
	return nil
}

func dirVarsFiles(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, "~") {
			continue
		}
		p := filepath.Join(dir, n)
		ext := filepath.Ext(n)
		fi, err := os.Stat(p)
		if err != nil {
			continue
		}
		if fi.IsDir() && ext == "" {
			out = append(out, dirVarsFiles(p)...)
		} else if fi.Mode().IsRegular() && (ext == "" || slices.Contains(yamlExtensions, ext)) {
			out = append(out, p)
		}
	}
	return out
}

// loadVarsFiles reads and shallowly merges vars files; nil when none
// holds anything.
func (inv *Inventory) loadVarsFiles(paths []string) (map[string]any, diag.List) {
	var out map[string]any
	var errs diag.List
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, diag.Errorf(p, 0, 0, "read vars file: %v", errors.Unwrap(err)))
			continue
		}
		src, derr := inv.newSource(p, data)
		if derr != nil {
			errs = append(errs, derr)
			continue
		}
		y, derr := parseYAMLDoc(src)
		if derr != nil {
			errs = append(errs, derr)
			continue
		}
		if y.isNull() {
			continue
		}
		if y.kind != yMap {
			errs = append(errs, src.errorf(y.line, y.col, "vars file must contain a mapping of variable names to values, got %s", pyTypeName(y.toValue())))
			continue
		}
		if out == nil {
			out = map[string]any{}
		}
		for k, v := range y.toValue().(map[string]any) {
			out[k] = v
		}
	}
	return out, errs
}
