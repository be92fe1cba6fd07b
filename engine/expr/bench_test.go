package expr

import (
	"sync"
	"testing"
)

// BenchmarkWhen evaluates a cached, compiled when: condition, the engine's
// hot path (once per host per task).
func BenchmarkWhen(b *testing.B) {
	p, err := Compile("result_ok is not failed and 'web' in group_names and (x | default(0)) | int > 0")
	if err != nil {
		b.Fatal(err)
	}
	s := testScope()
	b.ReportAllocs()
	for b.Loop() {
		v, err := p.Eval(s)
		if err != nil || v != true {
			b.Fatalf("Eval = %v, %v", v, err)
		}
	}
}

// BenchmarkRender renders a cached template with a lazy variable.
func BenchmarkRender(b *testing.B) {
	t, err := CompileTemplate("server {{ inventory_hostname }}:{{ item.port }} {{ lazy }}")
	if err != nil {
		b.Fatal(err)
	}
	s := testScope()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := t.Render(s); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompileCached(t *testing.T) {
	a, err := Compile("x + 41")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Compile("x + 41")
	if a != b {
		t.Error("Compile did not return the cached program")
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := Compile("x + 41 + " + string(rune('0'+i%4)))
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := p.Eval(testScope()); err != nil {
				t.Error(err)
			}
			if _, err := Render("{{ lazy2 }}", testScope()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
}
