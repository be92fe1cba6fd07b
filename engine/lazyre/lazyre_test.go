package lazyre

import "testing"

func TestCompiledOnceOnFirstUse(t *testing.T) {
	r := New(`^(\w+)=(\d+)$`)
	if r.rx != nil {
		t.Fatal("compiled before its first use")
	}
	if !r.MatchString("port=5432") || r.MatchString("port=x") {
		t.Error("matches differ from the pattern's")
	}
	first := r.Re()
	if r.Re() != first {
		t.Error("compiled twice")
	}
	if got := r.FindStringSubmatch("port=5432"); len(got) != 3 || got[2] != "5432" {
		t.Errorf("submatch %q", got)
	}
	if r.String() != first.String() {
		t.Errorf("String() %q, want %q", r.String(), first.String())
	}
}

func TestInvalidPatternPanicsOnFirstUse(t *testing.T) {
	r := New(`(`)
	defer func() {
		if recover() == nil {
			t.Error("no panic for an invalid pattern")
		}
	}()
	r.MatchString("x")
}
