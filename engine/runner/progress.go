package runner

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/cutover/cutover/engine/module"
)

// progressLine shows module.Progress messages on one terminal line,
// rewritten in place ("\r" and erase to the end of the line), and clears
// it before the task's result is printed. With hosts in parallel the line
// shows the latest message, prefixed by its host.
type progressLine struct {
	mu    sync.Mutex
	w     io.Writer // nil: nobody watches
	dirty bool
}

// context gives Apply a context whose progress reaches the line.
func (p *progressLine) context(ctx context.Context, host string) context.Context {
	if p == nil || p.w == nil {
		return ctx
	}
	return module.WithProgress(ctx, func(msg string) {
		p.mu.Lock()
		defer p.mu.Unlock()
		fmt.Fprintf(p.w, "\r\x1b[K%s: %s", host, msg)
		p.dirty = true
	})
}

// clear erases the line once a module is done with it.
func (p *progressLine) clear() {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dirty {
		fmt.Fprint(p.w, "\r\x1b[K")
		p.dirty = false
	}
}
