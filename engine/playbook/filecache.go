package playbook

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/cutover/cutover/engine/vault"
	"github.com/cutover/cutover/engine/work"
	"github.com/cutover/cutover/engine/yamlx"
)

// fileCache keeps each file's parsed document, for every Loader that
// shares it: a file imported twice, or included in a loop, is parsed once
// while its content stays the same. A parse under way is waited for.
type fileCache struct {
	mu   sync.Mutex
	docs map[string]*cachedDoc
}

type cachedDoc struct {
	ready   chan struct{} // closed once doc is set
	doc     *yamlx.Doc    // nil when the parse failed: the Load reports why
	size    int           // of the file, for scheduling
	imports []string      // the files it plainly imports
}

// claim returns path's entry, and whether the caller created it and so
// must fill it and close ready.
func (c *fileCache) claim(path string) (*cachedDoc, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.docs[path]; ok {
		return e, false
	}
	if c.docs == nil {
		c.docs = map[string]*cachedDoc{}
	}
	e := &cachedDoc{ready: make(chan struct{})}
	c.docs[path] = e
	return e, true
}

// get returns path's document if it was parsed from exactly src, waiting
// for a parse under way.
func (c *fileCache) get(path string, src []byte) *yamlx.Doc {
	c.mu.Lock()
	e := c.docs[path]
	c.mu.Unlock()
	if e == nil {
		return nil
	}
	<-e.ready
	if e.doc == nil || !bytes.Equal(e.doc.Src, src) {
		return nil
	}
	return e.doc
}

func (c *fileCache) put(path string, doc *yamlx.Doc) {
	e := &cachedDoc{ready: make(chan struct{}), doc: doc}
	close(e.ready)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.docs == nil {
		c.docs = map[string]*cachedDoc{}
	}
	c.docs[path] = e
}

// parseJobs reads paths and the playbooks they plainly import, and claims
// each file not yet in the cache: the jobs returned parse them, each with
// the file's size as its cost. Every job must run, as Loads wait for it.
func (c *fileCache) parseJobs(paths []string, opener *vault.Opener) []work.Job {
	var jobs []work.Job
	for len(paths) > 0 {
		path := paths[0]
		paths = paths[1:]
		e, mine := c.claim(path)
		if !mine {
			continue
		}
		src, err := os.ReadFile(path)
		if err != nil {
			close(e.ready) // left for the Load to report
			continue
		}
		e.size = len(src)
		for _, target := range importTargets(src) {
			e.imports = append(e.imports, filepath.Join(filepath.Dir(path), target))
		}
		paths = append(paths, e.imports...)
		jobs = append(jobs, work.Job{Cost: len(src), Do: func() {
			defer close(e.ready)
			e.doc, _ = yamlx.ParseVault(path, src, opener)
		}})
	}
	return jobs
}

// cost is the bytes a Load of path parses: the file's and its imports'.
func (c *fileCache) cost(path string, seen map[string]bool) int {
	c.mu.Lock()
	e := c.docs[path]
	c.mu.Unlock()
	if e == nil || seen[path] {
		return 0
	}
	seen[path] = true
	n := e.size
	for _, imp := range e.imports {
		n += c.cost(imp, seen)
	}
	return n
}

// importTargets lists the files a playbook's text plainly imports
// ("- import_playbook: tests.yml"), found without parsing it: only a hint
// for prefetch, the Load reads the imports from the parsed document.
func importTargets(src []byte) []string {
	var targets []string
	for rest := src; ; {
		i := bytes.Index(rest, []byte("import_playbook:"))
		if i < 0 {
			return targets
		}
		start := bytes.LastIndexByte(rest[:i], '\n') + 1
		end := bytes.IndexByte(rest[i:], '\n')
		if end < 0 {
			end = len(rest)
		} else {
			end += i
		}
		if target := importTarget(string(rest[start:end])); target != "" {
			targets = append(targets, target)
		}
		rest = rest[end:]
	}
}

func importTarget(line string) string {
	s := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), "-"))
	s, ok := strings.CutPrefix(strings.TrimPrefix(s, "ansible.builtin."), "import_playbook:")
	if !ok {
		return ""
	}
	s = strings.Trim(strings.TrimSpace(s), `"'`)
	if s == "" || strings.ContainsAny(s, "\"'{}# \t") {
		return ""
	}
	return s
}
