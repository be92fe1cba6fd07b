package expr

import (
	"regexp"
	"testing"
	"time"
)

func TestNow(t *testing.T) {
	for _, tc := range []struct{ expr, pattern string }{
		{"now()", `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$`},
		{"now(fmt='%Y%m%d-%H%M%S')", `^\d{8}-\d{6}$`},
		{"now(true, '%s')", `^\d{10}$`},
		{"now(utc=true, fmt='%Y %j %%')", `^\d{4} \d{3} %$`},
	} {
		v, err := Eval(tc.expr, MapScope{})
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		if !regexp.MustCompile(tc.pattern).MatchString(v.(string)) {
			t.Errorf("%s = %q", tc.expr, v)
		}
	}
	got, _ := strftime(time.Date(2026, 11, 26, 9, 5, 7, 123456000, time.UTC), "%Y-%m-%d %H:%M:%S.%f %a %b")
	if got != "2026-11-26 09:05:07.123456 Thu Nov" {
		t.Errorf("strftime = %q", got)
	}
	if _, err := Eval("now(fmt='%Q')", MapScope{}); err == nil {
		t.Error("an unknown directive was accepted")
	}
}
