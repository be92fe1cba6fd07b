package redact

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/cutover/cutover/engine/pyfmt"
)

func TestSetHidesEveryForm(t *testing.T) {
	s := &Set{}
	s.Add(`pa"ss\wörd`, "abc", "s3cret-token", "s3cret-token-long")
	for _, tc := range []struct{ in, want string }{
		{`plain pa"ss\wörd here`, "plain ******** here"},
		{"json " + mustJSON(`pa"ss\wörd`), `json "********"`},
		{"ascii json " + pyfmt.JSON(`pa"ss\wörd`, 0, true), `ascii json "********"`},
		{"repr " + pyfmt.Repr(`pa"ss\wörd`), "repr '********'"},
		{"abc is too short to hide", "abc is too short to hide"},
		{"s3cret-token-long", "********"}, // the longer secret whole, not "********-long"
	} {
		if got := s.String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	var out bytes.Buffer
	w := s.Writer(&out)
	w.Write([]byte("password=s3cret-token\n"))
	if out.String() != "password=********\n" || Underlying(w) != &out {
		t.Errorf("writer wrote %q", out.String())
	}
	v := s.Value(map[string]any{"k": []any{"x s3cret-token"}, "n": 3})
	if got := v.(map[string]any)["k"].([]any)[0]; got != "x ********" {
		t.Errorf("Value: %v", v)
	}
}

func mustJSON(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestMultiLineSecretHiddenLineByLine(t *testing.T) {
	s := &Set{}
	s.Add("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END KEY-----")
	if got := s.String("line: MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"); strings.Contains(got, "MIIE") {
		t.Errorf("a line of a multi-line secret shows: %q", got)
	}
}

func TestIsSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"password": true, "db_password": true, "ansible_become_pass": true, "ansible_ssh_pass": true,
		"PGPASSWORD": true, "api_token": true, "client_secret": true, "smtp_passwd": true,
		"user": false, "passenger": false, "bypass": false, "secretary": false, "token_ttl": false,
	} {
		if IsSecretName(name) != want {
			t.Errorf("IsSecretName(%q) = %v", name, !want)
		}
	}
}
