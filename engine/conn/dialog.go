package conn

import (
	"bytes"
	"io"
	"sync"

	"github.com/cutover/cutover/engine/module"
)

// dialog carries out a module.Prompt over a command's streams: it answers
// the prompt when it appears on stderr, starts stdin when the marker
// appears on stdout, and hides both from the output. Local and SSH runs
// share it.
type dialog struct {
	p    *module.Prompt
	data []byte

	inR *io.PipeReader
	inW *io.PipeWriter

	mu       sync.Mutex
	stdout   bytes.Buffer // what the command printed after the marker
	stderr   bytes.Buffer
	pending  []byte // stdout before the marker
	errTail  []byte // stderr not yet searched for the prompt
	started  bool
	answered bool
	closed   bool
}

func newDialog(p *module.Prompt, data []byte) *dialog {
	r, w := io.Pipe()
	return &dialog{p: p, data: data, inR: r, inW: w}
}

// stdin is the command's standard input.
func (d *dialog) stdin() io.Reader { return d.inR }

type dialogOut struct{ d *dialog }
type dialogErr struct{ d *dialog }

func (d *dialog) stdoutWriter() io.Writer { return dialogOut{d} }
func (d *dialog) stderrWriter() io.Writer { return dialogErr{d} }

func (w dialogOut) Write(b []byte) (int, error) {
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return d.stdout.Write(b)
	}
	d.pending = append(d.pending, b...)
	marker := []byte(d.p.Marker + "\n")
	if i := bytes.Index(d.pending, marker); i >= 0 {
		d.started = true
		d.stdout.Write(d.pending[:i])
		d.stdout.Write(d.pending[i+len(marker):])
		d.pending = nil
		data := d.data
		go func() { // the command reads its input from here on
			d.inW.Write(data)
			d.close()
		}()
	}
	return len(b), nil
}

func (w dialogErr) Write(b []byte) (int, error) {
	d := w.d
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.started {
		return d.stderr.Write(b)
	}
	d.errTail = append(d.errTail, b...)
	prompt := []byte(d.p.Text)
	for {
		i := bytes.Index(d.errTail, prompt)
		if i < 0 {
			break
		}
		d.stderr.Write(d.errTail[:i])
		d.errTail = d.errTail[i+len(prompt):]
		if d.answered {
			// Asked again: the answer was wrong. End stdin so the
			// command fails instead of waiting.
			go d.close()
			continue
		}
		d.answered = true
		answer := d.p.Answer + "\n"
		go d.inW.Write([]byte(answer))
	}
	// Keep a tail that could be the start of a prompt split across writes.
	if keep := len(prompt) - 1; len(d.errTail) > keep {
		d.stderr.Write(d.errTail[:len(d.errTail)-keep])
		d.errTail = d.errTail[len(d.errTail)-keep:]
	}
	return len(b), nil
}

func (d *dialog) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.closed {
		d.closed = true
		d.inW.Close()
	}
}

// result returns what the command printed, less the dialog's own lines.
func (d *dialog) result() (stdout, stderr []byte) {
	d.close()
	d.mu.Lock()
	defer d.mu.Unlock()
	out := append([]byte{}, d.stdout.Bytes()...)
	if !d.started {
		out = append(out, d.pending...)
	}
	errb := append(append([]byte{}, d.stderr.Bytes()...), d.errTail...)
	return out, errb
}
