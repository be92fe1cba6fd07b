package modules

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/cutover/cutover/engine/conn"
	"github.com/cutover/cutover/engine/module"
)

// pguRole is what the server holds for a role, for comparisons.
type pguRole struct {
	Exists                   bool
	Login, CreateDB, Super   bool
	CreateRole, Inherit      bool
	Verifier                 string
	PasswordMatches          bool
	VerifierIsScram4096Iters bool
}

func pguRead(t *testing.T, c *pgx.Conn, name, password string) pguRole {
	t.Helper()
	var r pguRole
	var verifier *string
	err := c.QueryRow(context.Background(), `SELECT rolcanlogin, rolcreatedb, rolsuper, rolcreaterole, rolinherit, rolpassword
		FROM pg_authid WHERE rolname = $1`, name).Scan(&r.Login, &r.CreateDB, &r.Super, &r.CreateRole, &r.Inherit, &verifier)
	if errors.Is(err, pgx.ErrNoRows) {
		return r
	}
	if err != nil {
		t.Fatalf("read role %s: %v", name, err)
	}
	r.Exists = true
	if verifier != nil {
		r.Verifier = *verifier
	}
	r.PasswordMatches = scramVerifierMatches(r.Verifier, password)
	r.VerifierIsScram4096Iters = strings.HasPrefix(r.Verifier, "SCRAM-SHA-256$4096:")
	return r
}

// pguTestRole is a fresh role name, dropped when the test ends.
func pguTestRole(t *testing.T, admin *pgx.Conn) string {
	t.Helper()
	name := pgqUniqueName("cutover_test_role_")
	t.Cleanup(func() {
		if _, err := admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Errorf("drop role %s: %v", name, err)
		}
	})
	return name
}

// TestPgUserTimeline runs the steps in order against one role: each
// step plans (check or not), applies as the engine would, and the server
// must then hold the expected role. Passwords are checked by recomputing
// the stored SCRAM verifier: the server trusts every 127.0.0.1 login, so
// a password login would prove nothing here.
func TestPgUserTimeline(t *testing.T) {
	admin := pgqAdmin(t, "postgres")
	name := pguTestRole(t, admin)
	const password = "Pa'ss w0rd-Ω"
	secrets := []string{password}
	steps := []struct {
		name       string
		args       map[string]any
		check      bool
		wantAction module.Action
		want       pguRole // compared after the step
		password   string  // the password the stored verifier must match
		wantDiff   []string
	}{
		{name: "check mode create changes nothing", args: map[string]any{"password": password, "role_attr_flags": "CREATEDB"}, check: true,
			wantAction: module.Create, want: pguRole{}, wantDiff: []string{"createdb: true", "password: ******** (new)"}},
		{name: "create with password", args: map[string]any{"password": password, "role_attr_flags": "CREATEDB"},
			wantAction: module.Create, password: password,
			want: pguRole{Exists: true, Login: true, CreateDB: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true}},
		{name: "second run is ok", args: map[string]any{"password": password, "role_attr_flags": "CREATEDB"},
			wantAction: module.None, password: password,
			want: pguRole{Exists: true, Login: true, CreateDB: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true}},
		{name: "check mode attribute change changes nothing", args: map[string]any{"password": password, "role_attr_flags": "nocreatedb,createrole", "login": false}, check: true,
			wantAction: module.Update, password: password,
			want:     pguRole{Exists: true, Login: true, CreateDB: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true},
			wantDiff: []string{"createrole: true", "createdb: false", "login: false"}},
		{name: "attribute change", args: map[string]any{"password": password, "role_attr_flags": "nocreatedb,createrole", "login": false},
			wantAction: module.Update, password: password,
			want: pguRole{Exists: true, CreateRole: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true}},
		{name: "password change", args: map[string]any{"password": "other", "role_attr_flags": "nocreatedb,createrole", "login": false},
			wantAction: module.Update, password: "other",
			want:     pguRole{Exists: true, CreateRole: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true},
			wantDiff: []string{"password: ******** (new)"}},
		{name: "no password argument keeps the password", args: map[string]any{"role_attr_flags": "createrole", "login": false},
			wantAction: module.None, password: "other",
			want: pguRole{Exists: true, CreateRole: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true}},
		{name: "check mode absent changes nothing", args: map[string]any{"state": "absent"}, check: true,
			wantAction: module.Delete, password: "other",
			want: pguRole{Exists: true, CreateRole: true, Inherit: true, PasswordMatches: true, VerifierIsScram4096Iters: true}},
		{name: "absent", args: map[string]any{"state": "absent"}, wantAction: module.Delete, want: pguRole{}},
		{name: "absent again is ok", args: map[string]any{"state": "absent"}, wantAction: module.None, want: pguRole{}},
	}
	secrets = append(secrets, "other")
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.args["name"] = name
			ch, res := pgqRun(t, PgUser(), st.args, st.check)
			if ch.Action != st.wantAction {
				t.Fatalf("action %v (%s), want %v", ch.Action, ch.Summary, st.wantAction)
			}
			if wantChanged := st.wantAction != module.None; res == nil || res.Changed != wantChanged {
				t.Errorf("result %+v, want changed=%v", res, wantChanged)
			}
			got := pguRead(t, admin, name, st.password)
			got.Verifier = ""
			if diff := cmp.Diff(st.want, got); diff != "" {
				t.Errorf("role after the step (-want +got):\n%s", diff)
			}
			var after string
			for _, d := range ch.Diffs {
				after += d.After
			}
			for _, w := range st.wantDiff {
				if !strings.Contains(after, w) {
					t.Errorf("diff after %q does not show %q", after, w)
				}
			}
			// Neither the clear password nor the verifier is reported.
			shown := fmt.Sprintf("%+v %+v %s", res, ch.Diffs, ch.Summary)
			for _, s := range secrets {
				if strings.Contains(shown, s) {
					t.Errorf("the password %q appears in what is shown: %s", s, shown)
				}
			}
			if strings.Contains(shown, "SCRAM-SHA-256$") {
				t.Errorf("the verifier appears in what is shown: %s", shown)
			}
		})
	}
}

// TestScramVerifierMatchesServer checks the verifier computation against
// PostgreSQL's own: the server hashes a clear password (test only) and
// scramVerifierMatches must accept it, and reject another password.
func TestScramVerifierMatchesServer(t *testing.T) {
	admin := pgqAdmin(t, "postgres")
	name := pguTestRole(t, admin)
	ctx := context.Background()
	for _, password := range []string{"simple", "with 'quote' and $dollar", "x"} {
		if _, err := admin.Exec(ctx, "SET password_encryption = 'scram-sha-256'"); err != nil {
			t.Fatal(err)
		}
		if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE ROLE %s PASSWORD %s", pgx.Identifier{name}.Sanitize(), pgQuoteLiteral(password))); err != nil {
			t.Fatal(err)
		}
		r := pguRead(t, admin, name, password)
		if !r.PasswordMatches {
			t.Errorf("server verifier %q does not match %q", r.Verifier, password)
		}
		if scramVerifierMatches(r.Verifier, password+"!") {
			t.Errorf("server verifier matches a wrong password")
		}
		if _, err := admin.Exec(ctx, "DROP ROLE "+pgx.Identifier{name}.Sanitize()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestScramVerifierFormat checks the verifier's layout with a fixed salt,
// and that malformed or foreign forms never match.
func TestScramVerifierFormat(t *testing.T) {
	salt := []byte("0123456789abcdef")
	v, err := scramVerifier("pencil", salt, 4096)
	if err != nil {
		t.Fatal(err)
	}
	prefix := "SCRAM-SHA-256$4096:" + base64.StdEncoding.EncodeToString(salt) + "$"
	if !strings.HasPrefix(v, prefix) {
		t.Errorf("verifier %q, want prefix %q", v, prefix)
	}
	for _, bad := range []string{"", "md5abc", "SCRAM-SHA-256$x:y$z:w", v + "x"} {
		if scramVerifierMatches(bad, "pencil") {
			t.Errorf("%q matches", bad)
		}
	}
	if !scramVerifierMatches(v, "pencil") {
		t.Errorf("own verifier does not match")
	}
}

func TestParseRoleAttrFlags(t *testing.T) {
	cases := []struct {
		in      string
		want    map[string]bool
		wantErr string
	}{
		{in: "", want: map[string]bool{}},
		{in: "CREATEDB,NOSUPERUSER", want: map[string]bool{"CREATEDB": true, "SUPERUSER": false}},
		{in: "createrole, noinherit", want: map[string]bool{"CREATEROLE": true, "INHERIT": false}},
		{in: "LOGIN", wantErr: "login argument"},
		{in: "CREATEDB,NOCREATEDB", wantErr: "both ways"},
		{in: "SUPERDUPER", wantErr: "unknown attribute"},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := parseRoleAttrFlags(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestPgUserUnreadableAuthid runs as a CREATEROLE role that cannot read
// pg_authid: the password cannot be compared, so it is set every run and
// the summary says why.
func TestPgUserUnreadableAuthid(t *testing.T) {
	admin := pgqAdmin(t, "postgres")
	manager := pguTestRole(t, admin)
	name := pguTestRole(t, admin)
	if _, err := admin.Exec(context.Background(), "CREATE ROLE "+pgx.Identifier{manager}.Sanitize()+" LOGIN CREATEROLE"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Dropped before the manager: the manager's cleanup is registered first.
		admin.Exec(context.Background(), "DROP ROLE IF EXISTS "+pgx.Identifier{name}.Sanitize()) //nolint:errcheck
	})
	args := func() map[string]any {
		return map[string]any{"name": name, "password": "hunter2", "login_user": manager}
	}
	if ch, _ := pgqRun(t, PgUser(), args(), false); ch.Action != module.Create {
		t.Fatalf("first run: action %v, want create", ch.Action)
	}
	ch, res := pgqRun(t, PgUser(), args(), false)
	if ch.Action != module.Update || !strings.Contains(ch.Summary, "cannot be compared") {
		t.Errorf("second run: action %v (%s), want update saying the password cannot be compared", ch.Action, ch.Summary)
	}
	if !pguRead(t, admin, name, "hunter2").PasswordMatches {
		t.Errorf("stored verifier does not match the password")
	}
	if shown := fmt.Sprintf("%+v %+v", res, ch.Diffs); strings.Contains(shown, "hunter2") {
		t.Errorf("the password appears: %s", shown)
	}
}

// TestPgUserPasswordLogsInWithSCRAM proves the password for real on the
// new host's cluster, where pg_hba asks for scram-sha-256: pg_user (logged
// in as postgres with a password) creates the role, then pg_query logs in
// as the role with it, and a wrong password is refused without showing it.
func TestPgUserPasswordLogsInWithSCRAM(t *testing.T) {
	newHost := newCluster(t)
	const password = "scram-Pa'ss w0rd"
	role := pgqUniqueName("cutover_scram_")
	on := func(extra map[string]any) map[string]any {
		args := map[string]any{"login_host": "127.0.0.1", "login_port": newHost.Port, "ssl_mode": "disable"}
		for k, v := range extra {
			args[k] = v
		}
		return args
	}
	asAdmin := on(map[string]any{"name": role, "password": password, "login_password": newHost.Password})
	if ch, res := pgqRun(t, PgUser(), asAdmin, false); ch.Action != module.Create || !res.Changed {
		t.Fatalf("create: %v %+v", ch.Action, res)
	}
	if ch, _ := pgqRun(t, PgUser(), asAdmin, false); ch.Action != module.None {
		t.Errorf("second run: %v (%s), want nothing to do", ch.Action, ch.Summary)
	}
	// pglab's own test shows that the cluster's pg_hba says scram-sha-256.
	_, res := pgqRun(t, PgQuery(), on(map[string]any{"login_password": password, "query": "SELECT current_user AS who", "login_user": role}), false)
	rows, _ := res.Data["query_result"].([]any)
	if res.Failed || len(rows) != 1 {
		t.Fatalf("login as %s: %+v", role, res)
	}
	if who := rows[0].(map[string]any)["who"]; who != role {
		t.Errorf("logged in as %v", who)
	}
	c, err := pgqPlan(t, PgQuery(), on(map[string]any{"login_password": "not-" + password, "query": "SELECT 1", "login_user": role}), false)
	if err == nil {
		_, err = PgQuery().New().Apply(context.Background(), &conn.Local{Host: "localhost"}, c)
	}
	if err == nil {
		t.Fatal("a wrong password was accepted")
	}
	if !strings.Contains(err.Error(), "password authentication failed") || strings.Contains(err.Error(), password) {
		t.Errorf("wrong password error: %v", err)
	}
}
